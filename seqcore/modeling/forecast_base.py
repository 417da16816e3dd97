"""What the forecasting network starts from (``DataSpec.base``): the tools of the M4 winner (ES-RNN), with the
network still an LSTM/GRU.

- ``none``: the network alone (scaled series in, scaled future out).
- ``deseason``: the season is taken out before the network and put back after it. Seasonal indices come from
  a classical decomposition of the training part (centred moving average; the mean gap to it per position in
  the season), additive in the scaled space, which is the log space when the log transform is on (so a
  seasonal swing that grows with the level is handled as a multiplicative season). The network sees and
  predicts the deseasonalised series.
- ``auto_ets`` / ``auto_arima`` / ``auto_theta``: the network learns the *remaining error* of that statistical
  forecast (:mod:`seqcore.modeling.statmodels`, fitted on the training part only and applied from every
  origin): target = actual - statistical forecast (scaled), output = statistical forecast + network output.
  The network's last layer starts near zero, so an untrained network gives the statistical forecast.
- ``auto``: picked per dataset by validation, see :mod:`seqcore.modeling.base_select`.

Every mode is a per-window *offset* in the scaled space: the network's target is ``scaled future - offset``
(:class:`OffsetWindowSource`) and its output goes back as ``output + offset``. The state saved with a model
holds only JSON: the base's name, the season and the seasonal indices.
"""

from __future__ import annotations

import numpy as np

from seqcore.config import BASES  # noqa: F401 - the choices, kept with DataSpec
from seqcore.data.windows import WindowSource
STAT_BASES = ("auto_ets", "auto_arima", "auto_theta")
LABELS = {"none": "the network alone", "deseason": "the network on the deseasonalised series",
          "auto_ets": "AutoETS", "auto_arima": "AutoARIMA", "auto_theta": "AutoTheta", "auto": "automatic"}
BASE_HELP = ("What the network starts from. 'auto' (recommended) tries the options below on the validation "
             "part and keeps the best. 'none': the network alone. 'deseason': the repeating seasonal pattern is "
             "taken out before the network and put back after it. 'auto_ets' / 'auto_arima' / 'auto_theta': a "
             "classic statistical forecast is made first and the network learns only what it gets wrong.")
#: The Model page's words for each choice of ``DataSpec.base``.
BASE_TEXT = {"auto": "Automatic: the best on validation (recommended)", "none": "The network alone",
             "deseason": "The network on the deseasonalised series", "auto_ets": "AutoETS, corrected by the network",
             "auto_arima": "AutoARIMA, corrected by the network", "auto_theta": "AutoTheta, corrected by the network"}
#: Series longer than this are not searched (each candidate is a full training run): "auto" keeps the network
#: alone there, with a note.
MAX_SELECT_ROWS = 3_000


def active(state: dict) -> bool:
    """Whether a forecast state has a base other than the network alone (outputs then need their offset)."""
    b = state.get("base")
    return isinstance(b, dict) and b.get("name", "none") != "none"


class OffsetWindowSource(WindowSource):
    """Forecast windows whose target is the scaled future minus a per-window offset (n, H, T).

    ``relative`` makes the inputs relative to the last input value (as :class:`WindowSource`);
    ``relative_target`` also subtracts that value from the target (deseasonalised changes).
    :meth:`last_values` returns what must be added back to the network's output: offset (+ last value).
    """

    def __init__(self, inputs, targets, starts, window, horizon, offsets, relative=False, relative_target=False):
        super().__init__(inputs, targets, starts, window, horizon, relative=relative)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.float32).reshape(len(self.starts), self.horizon,
                                                                                 self.n_targets)
        self.relative_target = bool(relative_target)

    def _ref(self, idx):
        return self.inputs_arr[self.starts[idx] - 1, : self.n_targets][:, None, :]

    def last_values(self, idx) -> np.ndarray:
        idx = np.asarray(idx)
        out = self.offsets[idx].copy()
        if self.relative_target:
            out += self._ref(idx)
        return out

    def gather(self, idx):
        idx = np.asarray(idx)
        s = self.starts[idx]
        x = np.array(self._xv[s - self.window].transpose(0, 2, 1))
        y = np.array(self._yv[s].transpose(0, 2, 1)) - self.offsets[idx]
        if self.relative or self.relative_target:
            ref = self._ref(idx)
            if self.relative:
                x[:, :, : self.n_targets] -= ref
            if self.relative_target:
                y -= ref
        return x, y

    def inputs(self, idx):
        return self.gather(idx)[0]


# --------------------------------------------------------------------------- seasonal indices


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """Additive seasonal indices (m, T) of ``x`` (N, T) by classical decomposition: the gap between the series
    and its centred moving average (2 x m when m is even), averaged per position ``row % m``, centred on 0."""
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    n = len(x)
    if m % 2:
        w = np.ones(m) / m
    else:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    half = len(w) // 2
    out = np.zeros((m, x.shape[1]))
    phase = np.arange(n) % m
    for j in range(x.shape[1]):
        trend = np.full(n, np.nan)
        trend[half:n - half] = np.convolve(x[:, j], w, mode="valid")
        gap = x[:, j] - trend
        for p in range(m):
            g = gap[(phase == p) & np.isfinite(gap)]
            out[p, j] = g.mean() if len(g) else 0.0
        out[:, j] -= out[:, j].mean()
    return out


def can_deseason(season, train_rows: int) -> bool:
    return bool(season) and int(season) >= 2 and train_rows >= 2 * int(season) + 2


# --------------------------------------------------------------------------- prepare (training data)


def _to_scaled(state: dict, y: np.ndarray) -> np.ndarray:
    """Original-unit target values (..., T) -> the scaled space (log transform, then standardisation)."""
    t = len(state["targets"])
    y = np.asarray(y, dtype=np.float64)
    if state["log_transform"]:
        y = np.log1p(np.maximum(y, 0.0))
    return (y - np.asarray(state["mean"][:t])) / np.asarray(state["std"][:t])


def resolve_default(spec, n: int, train_rows: int, season) -> str:
    """What ``base="auto"`` means before (or without) a selection: the network alone. The choice among all
    candidates is made by validation when the run trains (:func:`seqcore.modeling.base_select.choose`)."""
    return "none"


def build_sources(state: dict, spec, scaled: np.ndarray, series: np.ndarray, starts: dict, split, season,
                  notes: list[str]):
    """The train/val/test sources for ``spec.base`` (resolved), the future origin's input and offset, and the
    base's JSON state (``state["base"]``, set here). Returns (sources or None for the plain network,
    future (x, last) or None)."""
    name = spec.base if spec.base != "auto" else resolve_default(spec, len(scaled), split.train_end, season)
    t, L, H, n = len(state["targets"]), spec.window, spec.horizon, len(scaled)
    if name == "deseason" and not can_deseason(season, split.train_end):
        notes.append(f"The season could not be taken out ({_season_why(season, split.train_end)}); the network "
                     "works on the series as it is.")
        name = "none"
    offsets_all = None
    if name in STAT_BASES:
        found = _stat_offsets(series, starts, n, H, split.train_end, season, name, notes)
        if found is None:
            name = "none"
        else:
            offsets_all = _to_scaled(state, found).astype(np.float32)
    state["base"] = {"name": name, "season": int(season) if season else None}
    if name == "none":
        return None, None
    k = np.cumsum([0, len(starts["train"]), len(starts["val"]), len(starts["test"])])
    if name == "deseason":
        m = int(season)
        idx = seasonal_indices(scaled[: split.train_end, :t], m)
        state["base"].update(indices=idx.tolist(), rows=int(n))
        inputs = scaled.copy()
        inputs[:, :t] -= idx[np.arange(n) % m].astype(np.float32)

        def off(s):
            return idx[(np.asarray(s)[:, None] + np.arange(H)[None, :]) % m].astype(np.float32)

        sources = {key: OffsetWindowSource(inputs, scaled[:, :t], s, L, H, off(s), relative=spec.relative,
                                           relative_target=spec.relative) for key, s in starts.items()}
        return sources, future_pass(state, series, scaled[:, t:]) or _future(inputs, off([n]), t, L, spec.relative)
    parts = dict(zip(("train", "val", "test"), (offsets_all[k[0]:k[1]], offsets_all[k[1]:k[2]],
                                                 offsets_all[k[2]:k[3]])))
    sources = {key: OffsetWindowSource(scaled, scaled[:, :t], s, L, H, parts[key], relative=spec.relative)
               for key, s in starts.items()}
    return sources, future_pass(state, series, scaled[:, t:]) or _future(scaled, offsets_all[-1:], t, L, spec.relative,
                                                                      relative_target=False)


def _future(inputs, offset, t: int, L: int, relative: bool, relative_target: bool | None = None):
    """Fallback future input and offset from the training run's own base (when it cannot be refitted)."""
    x = inputs[-L:][None].astype(np.float32).copy()
    last = offset + (x[:, -1:, :t] if (relative if relative_target is None else relative_target) else 0.0)
    if relative:
        x[:, :, :t] -= x[:, -1:, :t].copy()
    return x, np.asarray(last, dtype=np.float64)


#: Seconds the statistical forecasts from every origin may take before the base falls back to the network alone.
STAT_BUDGET_S = 60.0


def _stat_offsets(series, starts: dict, n: int, H: int, fit_end: int, season, name: str, notes: list[str]):
    """The statistical model's forecasts (original units) from every train, val, test origin and the end
    ``n``, in that order; the model fitted on the training part only. Training origins with too little
    history for the model are dropped from ``starts["train"]`` (in place). None (with a note) when the model
    cannot be fitted, cannot forecast from a validation/test origin or runs past :data:`STAT_BUDGET_S`."""
    import time

    from seqcore.modeling.statmodels import fit_models, forward

    t0 = time.perf_counter()
    fitted, fit_notes = fit_models(series[:fit_end], season, (name,), budget_s=STAT_BUDGET_S)
    if name not in fitted:
        notes.append(f"{' '.join(fit_notes)} The network works on its own instead.")
        return None
    models, out, keep = fitted[name], [], []
    try:
        for i, s in enumerate(starts["train"]):
            try:
                out.append(forward(models, series, [s], H)[0])
                keep.append(i)
            except Exception:  # noqa: BLE001 - too little history before this origin: the window is left out
                pass
            if time.perf_counter() - t0 > STAT_BUDGET_S:
                raise TimeoutError
        if len(keep) < 2:
            raise ValueError("too little history before the training windows")
        rest = np.concatenate([starts["val"], starts["test"], [n]]).astype(np.int64)
        out.extend(forward(models, series, rest, H, deadline=t0 + STAT_BUDGET_S))
    except TimeoutError:
        notes.append(f"{LABELS[name]} took longer than {STAT_BUDGET_S:.0f} s to forecast from every window, so "
                     "the network works on its own instead.")
        return None
    except Exception as err:  # noqa: BLE001 - a statistical forecast that fails only costs this base
        notes.append(f"{LABELS[name]} could not forecast this data ({str(err)[:100]}), so the network works on "
                     "its own instead.")
        return None
    dropped = len(starts["train"]) - len(keep)
    if dropped:
        notes.append(f"{dropped} of the earliest training windows were left out: {LABELS[name]} needs more history "
                     "before them to forecast.")
        starts["train"] = starts["train"][np.asarray(keep, dtype=np.int64)]
    out = np.asarray(out, dtype=np.float64)
    if not np.isfinite(out).all():
        notes.append(f"{LABELS[name]}'s forecasts were not all finite numbers, so the network works on its own "
                     "instead.")
        return None
    return out


def _season_why(season, rows: int) -> str:
    if not season or int(season) < 2:
        return "the data shows no season"
    return f"the training part has {rows} rows, fewer than two whole seasons of {int(season)}"


def small_head(state: dict) -> bool:
    """Whether the network's last layer should start near zero (residual of a statistical forecast)."""
    return (state.get("base") or {}).get("name") in STAT_BASES


# --------------------------------------------------------------------------- forecasting past the data (Predict)


def roll_forward(state: dict, values: np.ndarray, steps: int, predict_fn, future_features, feats) -> np.ndarray:
    """Forecast ``steps`` values after the history ``values`` ((N, >= T) original units, targets first) with a
    model trained on a base. Returns (steps, T) in original units. ``feats`` (N, F - T): the network's other
    inputs, already scaled (input columns, then the led known-future and calendar columns);
    ``future_features``: the scaled rows a roll past H feeds back, in the same column order.

    A statistical base is fitted again on the whole uploaded history (as the training run fitted it on its
    training part) and forecasts H steps from each pass's origin; the seasonal indices are estimated again
    from the history when it holds two whole seasons (else the training run's, counted back from its end).
    Beyond H the H forecasts join the history (in original units) and the next pass starts from there.
    The run's own forecast past the data (forecast.csv) is the first pass of this on the whole series."""
    t, H = len(state["targets"]), int(state["horizon"])
    hist = np.asarray(values[:, :t], dtype=np.float64).copy()
    feats = np.asarray(feats, dtype=np.float64)
    setup = _setup(state, hist)
    chunks, done = [], 0
    while done < steps:
        x, offset = _pass(state, hist, feats, setup)
        out = np.asarray(predict_fn(x), dtype=np.float64).reshape(H, t)
        if state["base"].get("correction") is False:   # the statistical forecast alone (see base_select)
            out = np.zeros_like(out)
        y = _unscale(state, out + offset)
        chunks.append(y)
        done += H
        if done >= steps:
            break
        hist = np.concatenate([hist, y])
        if feats.shape[1]:
            feats = np.concatenate([feats, np.asarray(future_features, dtype=np.float64)[done - H:done]])
    return np.concatenate(chunks)[:steps]


def _setup(state: dict, hist: np.ndarray, budget_s: float = float("inf")):
    """(fitted statistical models or None, seasonal indices or None, phase shift) for forecasting after
    ``hist`` ((N, T) original units). DataError when the statistical model cannot be fitted to it (within
    ``budget_s`` seconds: Predict waits as long as the fit takes; the training run's own forecast past the
    data does not, see :func:`future_pass`)."""
    from seqcore.errors import DataError

    b = state["base"]
    name, n0 = b["name"], len(hist)
    models, idx, shift = None, None, 0
    if name in STAT_BASES:
        from seqcore.modeling.statmodels import LABELS as STAT_LABELS, fit_models

        fitted, notes = fit_models(hist, b.get("season"), (name,), budget_s=budget_s)
        if name not in fitted:
            raise DataError(f"{STAT_LABELS[name]}, which this model builds on, could not be fitted to the uploaded "
                            f"history. {' '.join(notes)}",
                            hint="Upload a longer history without gaps.")
        models = fitted[name]
    if name == "deseason":
        m = int(b["season"])
        if can_deseason(m, n0):
            idx = seasonal_indices(_to_scaled(state, hist), m)
        else:   # the training run's indices, assuming the upload ends where the training data ended
            idx = np.asarray(b["indices"], dtype=np.float64)
            shift = int(b.get("rows", n0)) - n0
    return models, idx, shift


def _pass(state: dict, hist: np.ndarray, feats: np.ndarray, setup):
    """One pass after ``hist``: the network's input (1, L, F) and the offset (H, T, scaled) its output adds to."""
    models, idx, shift = setup
    t, L, H = len(state["targets"]), int(state["window"]), int(state["horizon"])
    sc = _to_scaled(state, hist)
    if idx is not None:
        sc = sc - idx[(np.arange(len(hist)) + shift) % len(idx)]
    x = (np.concatenate([sc, feats[: len(sc)]], axis=1) if feats.shape[1] else sc)[-L:][None].astype(np.float32)
    ref = x[:, -1:, :t].copy()
    if state.get("relative"):
        x[:, :, :t] -= ref
    if models is not None:
        from seqcore.modeling.statmodels import forward

        offset = _to_scaled(state, forward(models, hist, [len(hist)], H)[0])
    else:
        offset = idx[(len(hist) + shift + np.arange(H)) % len(idx)]
        if state.get("relative"):
            offset = offset + ref[0].astype(np.float64)
    return x, offset


def future_pass(state: dict, series: np.ndarray, feats_scaled: np.ndarray):
    """The run's forecast past the end of the data, done as Predict does it on the same file (so the saved model
    predicts the same future): (x (1, L, F), offset (1, H, T)); None when the base cannot be refitted within
    :data:`STAT_BUDGET_S` (the forecast then starts from the training run's own base)."""
    from seqcore.errors import DataError

    try:
        x, offset = _pass(state, series, np.asarray(feats_scaled, dtype=np.float64),
                          _setup(state, series, budget_s=STAT_BUDGET_S))
    except (DataError, ValueError, TimeoutError):
        return None
    return x, offset[None].astype(np.float64)


def _unscale(state: dict, y: np.ndarray) -> np.ndarray:
    from seqcore.modeling.tasks.forecast import _unscale as unscale

    return unscale(state, y)
