"""Defaults fitted to the data: the one place the Data page, ``python -m seqcore train`` and sweeps get their
starting :class:`~seqcore.config.DataSpec` from, with each data-fitted choice said in plain words.

:func:`default_data_spec` takes the suggested task and column roles (:func:`seqcore.data.schema.suggest_roles`)
and fits the rest to the data:

forecast  season from the dates (12 for months, 4 for quarters, 7 for days, a day of hourly or half-hourly
          steps...) or, without calendar dates, from the autocorrelation's repeating peaks (sunspots: about
          11 years); validation / test shares from the length (a short series cannot spare 15% + 15%);
          horizon one season when the test part holds it and the training part still has enough windows,
          else one step; look-back window at least two seasons and 24 steps, shortened while the training
          part would keep fewer than :data:`MIN_TRAIN_WINDOWS` windows (never below one season while that
          leaves :data:`FLOOR_WINDOWS`); log scale when a positive series grows and its seasonal swing grows
          with its level (Airline), not otherwise.
classify  validation share 0 when it would hold fewer examples than can choose an epoch; per-sequence
          normalisation when the sequences sit at different levels or scales that do not tell the classes
          apart; sequences longer than the usual limit kept whole when memory allows.
text      words per text: the 99th percentile of the texts' token counts (bounded), so 99 texts in 100 are
          kept whole; validation share as for sequences.

Everything is a pure function of the data and the choices given; :func:`explain_defaults` returns the
reasons, one sentence per field. The facts about windows (:mod:`seqcore.data.room`) are re-exported here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from seqcore.config import DataSpec
from seqcore.data.room import (FLOOR_WINDOWS, MAX_AUTO_WINDOW, MIN_TRAIN_WINDOWS, Room, few_windows_warning,  # noqa: F401
                               forecast_advice, forecast_room, longest_horizon, longest_window, rows_from_sizes,
                               split_rows, train_windows)
from seqcore.errors import UserError

BASE_WINDOW = 24            # the look-back window when the data allows it and shows no season
SMALL_SERIES = 100          # series shorter than this keep 10% for validation and 10% for the test
SHARE, SMALL_SHARE = 0.15, 0.10
MIN_VALIDATION = 20         # = seqcore.modeling.tasks.common.MIN_VALIDATION (checked by a test)
TEXT_QUANTILE = 99          # percent of texts kept whole by the automatic max_len
MIN_LEN, MAX_LEN = 8, 256
DEFAULT_MAX_STEPS = DataSpec().max_steps
MAX_SEQUENCE_VALUES = 20_000_000  # sequences x steps x features kept in memory when sequences are kept whole

_ROLE_KEYS = ("time", "targets", "features", "label", "id", "order", "text", "layout")
_SPEC_FIELDS = {f.name for f in fields(DataSpec)}


@dataclass(frozen=True)
class Defaults:
    """A fitted spec and why: ``reasons`` maps a DataSpec field to one plain sentence."""

    spec: DataSpec
    reasons: dict[str, str] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)   # numbers behind the reasons (rows, windows, season, ...)


# ----------------------------------------------------------------------------- public


def default_data_spec(df_or_table, task: str | None = None, **given) -> DataSpec:
    """The DataSpec for this data: suggested task and roles, options fitted to the data. ``given``: any DataSpec
    field set by the user (a role or an option); it is kept, and the rest is fitted around it."""
    return fit_defaults(df_or_table, task, **given).spec


def explain_defaults(df_or_table, task: str | None = None, **given) -> dict[str, str]:
    """Each data-fitted choice in plain words, by DataSpec field, e.g. ``{"window": "Look-back window 12: one
    season of 12 months, leaving 16 training windows."}``. Fields in ``given`` are not explained."""
    return dict(fit_defaults(df_or_table, task, **given).reasons)


def fit_defaults(df_or_table, task: str | None = None, **given) -> Defaults:
    """:func:`default_data_spec` and :func:`explain_defaults` in one pass."""
    from seqcore.data import schema

    df = getattr(df_or_table, "df", df_or_table)
    unknown = sorted(set(given) - _SPEC_FIELDS)
    if unknown:
        raise TypeError(f"not DataSpec fields: {', '.join(unknown)}")
    infos = schema.infer_columns(df)
    task = given.pop("task", None) or task or schema.suggest_task(df, infos)
    roles = schema.suggest_roles(df, task, infos)
    layout = roles.get("layout") or "auto"
    kw: dict = {"task": task, "time": roles.get("time"), "targets": tuple(roles.get("targets") or ()),
                "features": tuple(roles.get("features") or ()), "label": roles.get("label"), "id": roles.get("id"),
                "order": roles.get("order"), "text": roles.get("text"),
                "layout": layout if task == "classify" else "auto"}
    if task == "classify" and layout == "wide":
        kw["features"] = ()      # "every numeric column except the label" (kept as the data changes)
    for k, v in roles.items():   # extra suggestions that are spec fields (time_format, time_part, ...)
        if k not in _ROLE_KEYS and k in _SPEC_FIELDS:
            kw[k] = v
    if given.get("time") is not None and given["time"] != roles.get("time"):
        kw.pop("time_part", None), kw.pop("time_format", None)   # they belong to the suggested time column
    for k, v in given.items():
        kw[k] = tuple(v) if isinstance(v, list) else v
    if "id" in given and given["id"] and "layout" not in given:
        kw["layout"] = "long"
    if task == "forecast" and (given.get("id") or "id" not in given):
        _suggest_panel(df, infos, kw, given)
    base = DataSpec(**kw)
    try:
        if task == "forecast":
            return _forecast(df, base, given)
        if task == "classify":
            return _classify(df, base, given)
        return _text(df, base, given)
    except (UserError, ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        return Defaults(base)     # roles that do not fit the data yet: the page's checks say why


# ----------------------------------------------------------------------------- forecast: fitting


_UNIT = {"M": ("months", "a year", 12), "Q": ("quarters", "a year", 4), "W": ("weeks", "a year", 52),
         "D": ("days", "a week", 7), "B": ("business days", "a week", 5), "SM": ("half-months", "a year", 24)}
_TICK = {"H": 3600, "T": 60, "MIN": 60, "S": 1}


def calendar_season(frequency, n: int) -> tuple[int | None, str, str]:
    """(season, unit words, period words) from a pandas frequency alias: months -> (12, "months", "a year"),
    hours -> (24, "hours", "a day"), half-hours -> (48, ...). Season None when the calendar gives none
    (years, plain numbers) or the series holds fewer than two of them."""
    if not isinstance(frequency, str):
        return None, "steps", ""
    m = re.fullmatch(r"\s*(\d*)\s*([A-Za-z]+)(?:-[A-Za-z]+)?\s*", frequency)
    if m is None:
        return None, "steps", ""
    mult = int(m.group(1) or 1)
    if m.group(2) in ("ms", "us", "ns", "L", "U", "N") or mult < 1:   # sub-second ("ms" is not "MS", month start)
        return None, "steps", ""
    base = m.group(2).upper()
    base = {"MS": "M", "ME": "M", "BM": "M", "BMS": "M", "BME": "M", "CBM": "M", "CBMS": "M", "CBME": "M",
            "QS": "Q", "QE": "Q", "BQ": "Q", "BQS": "Q",
            "BQE": "Q", "SMS": "SM", "SME": "SM", "C": "B", "MIN": "T"}.get(base, base)
    season: int | None = None
    unit, period = "steps", ""
    if base in _UNIT:
        unit, period, per = _UNIT[base]
        season = per // mult if per % mult == 0 else None
    elif base in _TICK:
        step = _TICK[base] * mult
        unit = {3600: "hours", 1800: "half-hours", 900: "quarter-hours", 60: "minutes", 1: "seconds"}.get(step, "steps")
        for span, words in ((86_400, "a day"), (3_600, "an hour"), (60, "a minute")):
            if span % step == 0 and 2 <= span // step <= 288:
                season, period = span // step, words
                break
    if season is not None and (season < 2 or n < 2 * season):
        season = None
    return season, unit, period


def _acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of ``y`` after removing a straight-line trend, lags 0..max_lag (FFT)."""
    t = np.arange(len(y), dtype=np.float64)
    resid = y - np.polyval(np.polyfit(t, y, 1), t)
    resid = resid - resid.mean()
    denom = float(resid @ resid)
    if denom <= 1e-12:
        return np.zeros(max_lag + 1)
    size = 1 << int(math.ceil(math.log2(2 * len(y))))
    f = np.fft.rfft(resid, size)
    ac = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1]
    return ac / denom


def detect_cycle(y: np.ndarray, min_repeats: int = 3, min_peak: float = 0.3) -> tuple[int | None, list[int]]:
    """A repeating cycle in ``y`` from its autocorrelation: (period rounded, the peak lags it rests on), or
    (None, []). The first clear peak (autocorrelation >= ``min_peak``, above noise) and its multiples give the
    period by least squares (sunspots: peaks at 10, 21, 32, 42 -> about 10.6 -> 11)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    max_lag = min(n // min_repeats, 2 * MAX_AUTO_WINDOW)
    if max_lag < 4:
        return None, []
    a = _acf(y, max_lag + 1)
    noise = 2.0 / math.sqrt(n)
    peaks = [k for k in range(2, max_lag + 1) if a[k] > a[k - 1] and a[k] >= a[k + 1]]
    # a cycle shows as a trough and then a clear peak: a slowly fading autocorrelation (trends, random walks,
    # short memory) has small bumps on the way down, which are not peaks of a cycle
    first = next((k for k in peaks if a[k] >= max(min_peak, 2 * noise) and a[k] - a[1:k].min() >= min_peak), None)
    if first is None:
        return None, []
    used = [first]
    for j in range(2, max_lag // first + 1):
        near = [k for k in peaks if abs(k - j * first) <= max(1, round(0.2 * first)) and a[k] > noise]
        if not near:
            break
        used.append(max(near, key=lambda k: a[k]))
    return max(2, int(round(_period(used)))), used


def _period(peaks: list[int]) -> float:
    """The period that the peak lags (one per multiple 1, 2, 3...) fit best (least squares through 0)."""
    mult = np.arange(1, len(peaks) + 1, dtype=np.float64)
    return float(np.dot(peaks, mult) / np.dot(mult, mult))


def grows_multiplicatively(y: np.ndarray, season: int | None) -> tuple[bool, str]:
    """Whether a log scale fits ``y``: positive, its level rises or falls steadily (by 1.5x or more) and the
    swing inside each season grows with the level. Returns (yes, the reason in words)."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0 or not np.isfinite(y).all() or y.min() <= 0:
        return False, "the values are not all above zero"
    m = season if season and season >= 2 else 0
    if not m:
        return False, "there is no season to compare the swing of"
    if len(y) // m < 4:
        return False, "fewer than 4 seasons are too few to tell whether the swing grows with the level"
    nb = len(y) // m
    blocks = y[len(y) - nb * m:].reshape(nb, m)
    t = np.arange(m, dtype=np.float64)
    level = blocks.mean(axis=1)
    coef = np.polyfit(t, blocks.T, 1)                    # (2, nb) a line through each season
    swing = (blocks - (np.outer(coef[0], t) + coef[1][:, None])).std(axis=1)
    ratio = float(level.max() / level.min())
    order = pd.Series(level).rank().to_numpy()
    trend = float(np.corrcoef(order, np.arange(nb))[0, 1])
    if abs(trend) < 0.8 or ratio < 1.5:
        return False, "the level does not grow or shrink steadily"
    if swing.min() <= 0:
        return False, "the seasonal swing is flat"
    together = float(np.corrcoef(pd.Series(level).rank(), pd.Series(swing).rank())[0, 1])
    slope = float(np.polyfit(np.log(level), np.log(swing), 1)[0])
    if together >= 0.8 and slope >= 0.5:
        return True, (f"the level changed {ratio:.1f}-fold and the seasonal swing grew with it, so changes are "
                      "in proportion to the level")
    return False, "the seasonal swing does not grow with the level"


def _series(df: pd.DataFrame, spec: DataSpec):
    """(target values in time order (n, T) with gaps filled, frequency or None, rows)."""
    from seqcore.data import schema

    cols = [schema.numeric_column(df, c) for c in spec.targets]
    values = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    freq = None
    if spec.time:
        try:
            idx = schema.parse_time(df, spec.time, spec.time_format, spec.time_part)
            order = np.argsort(np.asarray(idx), kind="stable")
            values = values[order]
            freq = schema.infer_frequency(idx)
        except (UserError, TypeError, ValueError):
            freq = None
    if values.size and np.isnan(values).all():
        return values[:0], freq
    if values.size:   # gaps count as rows: interpolate / forward-fill keep them (as the dry run will count)
        values = pd.DataFrame(values).interpolate(limit_direction="both").to_numpy()
    return values, freq


def _suggest_panel(df: pd.DataFrame, infos, kw: dict, given: dict) -> None:
    """Several series stacked in one file (understand()'s reading): the id column becomes the series id, and its
    time column the time (unless the user picked roles)."""
    from seqcore.data.understand import _panel

    found = _panel(df, {c.name: c for c in infos}, kw.get("time"))
    if found is None or found[0] in (kw.get("targets") or ()) or found[0] in (kw.get("features") or ()) \
            or given.get("id") not in (None, found[0]):
        return
    kw["id"] = found[0]
    if kw.get("time") is None and "time" not in given:
        kw["time"] = found[1]
        kw["targets"] = tuple(c for c in kw["targets"] if c != found[1])
        kw["features"] = tuple(c for c in kw["features"] if c != found[1])


def _forecast(df: pd.DataFrame, base: DataSpec, given: dict) -> Defaults:
    lengths = None
    if base.id:   # a panel: the options fit one typical series; windows count over every series
        from seqcore.data.panel import first_series, series_lengths

        lengths = np.unique(series_lengths(df, base.id), return_counts=True)
        values, freq = _series(first_series(df, base.id), base)
        n = int(np.median(series_lengths(df, base.id))) if values.size else 0
    else:
        values, freq = _series(df, base)
        n = int(values.shape[0])
    if n == 0 or not base.targets:
        return Defaults(base)
    y = values[:, 0]
    reasons: dict[str, str] = {}
    facts: dict = {"rows": n, "frequency": freq}
    if lengths is not None:
        k = int(lengths[1].sum())
        facts["series"] = k
        reasons["id"] = (f"Series id '{base.id}': {k:,} series (typically {n:,} rows each) stacked in one file; "
                         "one model learns from all of them and forecasts each.")

    # season
    cal, unit, period = calendar_season(freq, n)
    if "season" in given:
        season = given["season"]
    elif cal:
        season = cal
        reasons["season"] = f"Season {cal}: the rows are {unit}, so {period} is {cal} steps."
    else:
        season, peaks = detect_cycle(y)
        if season and n >= 2 * season:
            shown = ", ".join(map(str, peaks))
            reasons["season"] = (f"Season {season}: the values repeat about every {_period(peaks):.1f} steps "
                                 f"(the autocorrelation peaks at lags {shown}).")
        else:
            season = None
            where = ("there are no dates" if not base.time else
                     f"the time steps ({freq or 'irregular'}) give no calendar season")
            reasons["season"] = f"No season: {where}, and the values show no repeating cycle."
    m = int(season) if season else 0
    facts["season"] = season

    # validation / test shares
    share = SMALL_SHARE if n < SMALL_SERIES else SHARE
    v = given.get("val_fraction", share)
    t = given.get("test_fraction", share)
    train, val, test = split_rows(n, v, t)
    if "val_fraction" not in given or "test_fraction" not in given:
        if share == SMALL_SHARE:
            reasons["val_fraction"] = (f"Validation and test {share:.0%} each ({val} and {test} rows): a short "
                                       f"series of {n} rows cannot spare more and still train.")
        else:
            reasons["val_fraction"] = f"Validation and test {share:.0%} each ({val:,} and {test:,} rows of {n:,})."

    def windows(L: int, H: int) -> int:
        if lengths is not None:   # pooled over the series
            return int(sum(int(c) * train_windows(int(m), L, H, v, t) for m, c in zip(*lengths)))
        return train_windows(n, L, H, v, t)

    # horizon: one season when the test (and validation) part holds it and training keeps enough windows
    if "horizon" in given:
        H = int(given["horizon"])
    else:
        fits = m and test >= m and (v == 0 or val >= m) and windows(m, m) >= MIN_TRAIN_WINDOWS and m <= 1000
        H = m if fits else 1
        if fits:
            reasons["horizon"] = (f"Horizon {m}: one season ({period or f'{m} steps'}) ahead; the test part "
                                  f"({test:,} rows) holds it.")
        elif m:
            why = (f"the test part ({test} rows) is shorter than a season" if test < m or (v and val < m)
                   else "a whole season ahead would leave too few training windows")
            reasons["horizon"] = f"Horizon 1: one step ahead; {why} ({m} steps)."
        else:
            reasons["horizon"] = "Horizon 1: one step ahead (there is no season to forecast a whole cycle of)."

    # look-back window
    if "window" in given:
        L = int(given["window"])
    else:
        L, why = _pick_window(m, H, windows, train, unit, longest_window(n, H, v, t))
        reasons["window"] = f"Look-back window {L}: {why}"
    facts.update(window=L, horizon=H, train_windows=windows(L, H), train_rows=train)

    # log scale
    if "log_transform" in given:
        log = bool(given["log_transform"])
    else:
        ok = [grows_multiplicatively(values[:, j], m) for j in range(values.shape[1])]
        log = all(o for o, _ in ok)
        why = ok[0][1] if log else next(w for o, w in ok if not o)
        reasons["log_transform"] = f"Log scale {'on' if log else 'off'}: {why}."
    spec = base.replace(season=season, val_fraction=v, test_fraction=t, horizon=H, window=L, log_transform=log)
    return Defaults(spec, _order(reasons), facts)


def _pick_window(m: int, H: int, windows, train: int, unit: str, longest: int) -> tuple[int, str]:
    """The look-back window and the reason: at least two seasons and BASE_WINDOW steps while that leaves
    MIN_TRAIN_WINDOWS training windows; fewer seasons, then one season (while it leaves FLOOR_WINDOWS), then
    the longest window leaving MIN_TRAIN_WINDOWS (``longest``, from room.longest_window; or half the training
    part)."""
    def left(L: int) -> str:
        w = windows(L, H)
        tail = f" (fewer than the {MIN_TRAIN_WINDOWS} a model needs to learn well: more data would help)" \
            if w < MIN_TRAIN_WINDOWS else ""
        return f"leaving {w:,} training windows{tail}."

    if m:
        k_pref = max(2, math.ceil(BASE_WINDOW / m))
        for k in range(k_pref, 0, -1):
            L = k * m
            if L <= MAX_AUTO_WINDOW and windows(L, H) >= MIN_TRAIN_WINDOWS:
                what = "one season" if k == 1 else f"{k} seasons"
                return L, f"{what} of {m} {unit}, {left(L)}"
        if m <= MAX_AUTO_WINDOW and windows(m, H) >= FLOOR_WINDOWS:
            longer = f"; {2 * m} would leave {windows(2 * m, H)}" if windows(2 * m, H) < windows(m, H) else ""
            return m, f"one season of {m} {unit}, {left(m)[:-1]}{longer}."
    if not m and longest >= BASE_WINDOW:
        return BASE_WINDOW, f"{BASE_WINDOW} {unit}, {left(BASE_WINDOW)}"
    if longest >= 2:
        L = min(longest, MAX_AUTO_WINDOW, BASE_WINDOW if not m else MAX_AUTO_WINDOW)
        return L, f"the longest window that leaves {MIN_TRAIN_WINDOWS} training windows in {train} training rows."
    L = max(1, (train - H + 1) // 2)
    return L, f"half of the {train} training rows, {left(L)}"


def _order(reasons: dict[str, str]) -> dict[str, str]:
    first = ("season", "window", "horizon", "val_fraction", "log_transform")
    return {k: reasons[k] for k in first if k in reasons} | {k: v for k, v in reasons.items() if k not in first}


# ----------------------------------------------------------------------------- classification


def _val_share(n: int, given: dict, what: str) -> tuple[float, str | None]:
    if "val_fraction" in given:
        return given["val_fraction"], None
    if round(n * SHARE) >= MIN_VALIDATION:
        return SHARE, f"Validation share {SHARE:.0%}: {round(n * SHARE)} of the {n} {what} watch for overfitting."
    return 0.0, (f"No validation part: {SHARE:.0%} of {n} {what} would be fewer than {MIN_VALIDATION}, too few to "
                 f"choose the best epoch, so all train and the epoch with the lowest training loss is kept.")


def _eta2(values: np.ndarray, labels: np.ndarray) -> float:
    """Share of the spread of ``values`` explained by the classes, corrected for chance (adjusted eta^2)."""
    n = len(values)
    classes = np.unique(labels)
    k = len(classes)
    total = float(((values - values.mean()) ** 2).sum())
    if total <= 1e-12 or n <= k:
        return 0.0
    within = sum(float(((values[labels == c] - values[labels == c].mean()) ** 2).sum()) for c in classes)
    return 1.0 - (within / (n - k)) / (total / (n - 1))


def _znorm_choice(seqs: list[np.ndarray], labels) -> tuple[bool, str]:
    means = np.array([s.mean(axis=0) for s in seqs])          # (n, F)
    stds = np.array([s.std(axis=0) for s in seqs])
    if np.allclose(means, 0.0, atol=0.05) and np.allclose(stds, 1.0, atol=0.05):
        return False, "every sequence already has mean 0 and spread 1."
    within = np.maximum(stds.mean(axis=0), 1e-12)
    level = means.std(axis=0) / within                       # level offsets against the wiggle inside a sequence
    scale = stds.std(axis=0) / within
    if max(level.max(), scale.max()) < 0.5:
        return False, "the sequences sit at similar levels and scales."
    y = np.asarray(pd.Series(labels).astype(str))
    # only the differences that are large count: a scale that barely varies says nothing either way
    told = max([_eta2(means[:, j], y) for j in range(means.shape[1]) if level[j] >= 0.5]
               + [_eta2(stds[:, j], y) for j in range(stds.shape[1]) if scale[j] >= 0.5])
    if told >= 0.3:
        return False, (f"the sequences' levels and scales differ, but with the class ({told:.0%} of those "
                       "differences follow the class), so they are kept.")
    return True, ("the sequences sit at different levels or scales that do not follow the class, so each is "
                  "rescaled and only its shape counts.")


def _classify(df: pd.DataFrame, base: DataSpec, given: dict) -> Defaults:
    from seqcore.modeling.tasks.classify import RNN_STEPS, extract_sequences, group_size, resolve_layout, \
        value_columns

    reasons: dict[str, str] = {}
    spec = base
    plot = base.replace(missing="interpolate" if base.missing == "error" else base.missing)
    seqs, labels, _, _ = extract_sequences(df, plot, value_columns(df, plot, resolve_layout(plot)))
    n = len(seqs)
    v, why = _val_share(n, given, "sequences")
    spec = spec.replace(val_fraction=v)
    if why:
        reasons["val_fraction"] = why
    if "znorm" not in given:
        z, why = _znorm_choice(seqs, labels)
        spec = spec.replace(znorm=z)
        reasons["znorm"] = f"Normalise each sequence: {'yes' if z else 'no'}; {why}"
    longest = max(len(s) for s in seqs)
    if "max_steps" not in given and longest > DEFAULT_MAX_STEPS:
        room = MAX_SEQUENCE_VALUES // max(1, n * seqs[0].shape[1])
        steps = int(min(longest, 100_000, max(DEFAULT_MAX_STEPS, room)))
        spec = spec.replace(max_steps=steps)
        reasons["max_steps"] = (f"Longest sequence {steps:,} steps: " + ("every sequence is kept whole." if
                                steps >= longest else f"sequences up to {longest:,} steps are cut to their last "
                                f"{steps:,} to fit in memory."))
    if "group_steps" not in given:
        steps = min(spec.max_steps, longest)
        k = group_size(0, steps)
        reasons["group_steps"] = (f"Steps read at once: automatic ({k}): the network loops over "
                                  f"{math.ceil(steps / k)} steps of {k} instead of {steps} (at most {RNN_STEPS})."
                                  if k > 1 else f"Steps read at once: automatic (1): sequences of {steps} steps "
                                  "are short enough to read one step at a time.")
    return Defaults(spec, reasons, {"sequences": n, "longest": longest})


def text_lengths(texts: pd.Series, lowercase: bool = True, limit: int = 20_000) -> np.ndarray:
    """Token counts of the first ``limit`` texts, as the model's tokenizer splits them."""
    from seqcore.data.text import tokenize

    s = texts.iloc[:limit].astype("string").fillna("")
    return np.array([len(tokenize(str(t), lowercase)) for t in s], dtype=np.int64)


def _text(df: pd.DataFrame, base: DataSpec, given: dict) -> Defaults:
    reasons: dict[str, str] = {}
    if not base.text or base.text not in df.columns:
        return Defaults(base)
    texts = df[base.text]
    n = int(texts.notna().sum())
    spec = base
    v, why = _val_share(n, given, "texts")
    spec = spec.replace(val_fraction=v)
    if why:
        reasons["val_fraction"] = why
    if "max_len" not in given:
        lengths = text_lengths(texts, base.lowercase)
        if lengths.size:
            q = int(np.percentile(lengths, TEXT_QUANTILE, method="inverted_cdf"))  # the shortest fitting 99%
            max_len = int(min(MAX_LEN, max(MIN_LEN, q)))
            spec = spec.replace(max_len=max_len)
            whole = float((lengths <= max_len).mean())
            reasons["max_len"] = (f"Words per text {max_len}: {whole:.0%} of the texts fit whole (half have "
                                  f"{int(np.median(lengths))} words or fewer, the longest {int(lengths.max())}).")
    return Defaults(spec, reasons, {"texts": n})


__all__ = ["MIN_TRAIN_WINDOWS", "Defaults", "Room", "calendar_season", "default_data_spec", "detect_cycle",
           "explain_defaults", "few_windows_warning", "fit_defaults", "forecast_advice", "forecast_room", "rows_from_sizes",
           "grows_multiplicatively", "longest_horizon", "longest_window", "split_rows", "train_windows"]
