"""``DataSpec.base = "auto"``: pick what the forecasting network starts from by validation.

Each candidate (:mod:`seqcore.modeling.forecast_base`: the network alone, on the deseasonalised series, on the
residual of AutoETS / AutoARIMA / AutoTheta) is trained with the run's own settings and scored by its MASE on
the validation part, in original units; the lowest wins. Only the training and validation parts are read: the
test part plays no part in the choice. Without a validation part the candidates are scored on a holdout cut
from the end of the training part (same horizon); when even that has no room, the network on the
deseasonalised series is kept for a seasonal series, the network alone otherwise (:data:`DEFAULT_NO_VALIDATION`).
With fewer than :data:`MIN_CHECK_WINDOWS` validation windows (one 36-month forecast of a 144-month series) a
network's score is too thin to trust: the statistical forecasts alone are compared there, and the best one is
used with the network switched off (``model_choice.correction = false``), which the note says plainly. A
statistical base whose own forecast scores better on validation than with the network's correction is used
the same way.

When ``calendar="auto"`` gave the picked network calendar features (on a quick linear check, see
:mod:`seqcore.data.covariates`), that network is trained once more without them, and the calendar features are
kept only if they lower its own validation score (``model_choice.calendar`` "on" / "off").

The search costs one training per candidate, so it runs only for series of at most
:data:`~seqcore.modeling.forecast_base.MAX_SELECT_ROWS` rows; longer series keep the network alone, with a note,
as does every series when ``SEQSTUDIO_BASE_SEARCH=0`` (:func:`seqcore.settings.base_search`).
"""

from __future__ import annotations

import time

import numpy as np

from seqcore.modeling.forecast_base import LABELS, MAX_SELECT_ROWS, STAT_BASES, can_deseason

#: What "auto" keeps when nothing can be validated: "deseason" for a seasonal series, else "none".
DEFAULT_NO_VALIDATION = "deseason"
#: A holdout (no validation part) is this share of the training part, at least one horizon.
HOLDOUT_SHARE = 0.15
#: With fewer validation (or holdout) forecast windows than this, a network's score says too little: only the
#: statistical forecasts (no training, so no over-fitting to judge) are compared and the network is switched off.
MIN_CHECK_WINDOWS = 3


def candidates(n: int, train_rows: int, season) -> list[str]:
    """The bases tried for a series of ``n`` rows with ``train_rows`` training rows and ``season``."""
    out = ["none"]
    if can_deseason(season, train_rows):
        out.append("deseason")
    if train_rows >= 12:
        out.extend(STAT_BASES)
    return out


def _fallback(season, train_rows: int) -> str:
    return DEFAULT_NO_VALIDATION if can_deseason(season, train_rows) else "none"


def selection_spec(data, n: int):
    """The DataSpec the candidates are scored under: the run's own when it has a validation part; else the same
    test part with a holdout cut from the end of the training part as the validation part (None: no room)."""
    if data.val_fraction > 0:
        return data
    n_test = int(round(n * data.test_fraction))
    train_rows = n - n_test
    hold = max(int(data.horizon), int(round(HOLDOUT_SHARE * train_rows)))
    vf = hold / n
    if vf > 0.5 or vf + data.test_fraction > 0.8:
        return None
    return data.replace(val_fraction=vf)


def val_mase(task, prep, model) -> float | None:
    """MASE of ``model`` on ``prep``'s validation windows, original units, scaled by the training part
    (``model`` None: the base's forecast alone)."""
    from seqcore.modeling.metrics import forecast_metrics
    from seqcore.modeling.training import predict

    st, split = prep.state, prep.extra["split"]
    idx = np.arange(len(prep.val))
    out = np.zeros((len(idx), st["horizon"], len(st["targets"]))) if model is None else \
        predict(model, prep.val, batch_size=256)   # None: the base alone (the network adds nothing)
    pred = task.to_original(st, out, prep.val.last_values(idx))
    steps = prep.extra["starts"]["val"][:, None] + np.arange(st["horizon"])[None, :]
    actual = prep.extra["series"][steps]
    return forecast_metrics(actual, pred, y_train=prep.extra["series"][: split.train_end],
                            target_names=st["targets"])["mase"]


def choose(df, spec, prep, *, should_stop=None, checkpoint_dir=None, resume: bool = False, on_progress=None):
    """The run's Prepared data with the base picked by validation (``spec.data.base == "auto"``).

    ``df``: the raw table; ``prep``: what :func:`~seqcore.modeling.tasks.forecast.prepare` gave for ``spec``.
    Sets ``prep.extra["model_choice"]`` and adds a plain note. ``should_stop()`` is checked before each
    candidate (a stop request ends the search; the run then stops as usual). With ``checkpoint_dir`` the choice
    is kept there (:data:`CHOICE_FILE`) and a resumed run (``resume``) takes it back instead of searching again,
    so it goes on with the same base. ``on_progress`` gets kind "choose" points (the candidate, its epochs)."""
    kept = load_kept_choice(checkpoint_dir, CHOICE_FILE, resume)
    if kept is not None:
        return _finish(df, spec, prep, kept[0]["picked"], kept[0], kept[1], time.perf_counter())
    prep = _search(df, spec, prep, should_stop, on_progress)
    save_choice(checkpoint_dir, CHOICE_FILE, prep.extra["model_choice"], next((n for n in reversed(prep.notes)), ""))
    return prep


def load_kept_choice(checkpoint_dir, file: str, resume: bool) -> tuple[dict, str] | None:
    """(choice, note) an interrupted run kept in ``checkpoint_dir / file`` (:func:`save_choice`), the note saying
    it was kept, when ``resume`` and it is there; else None. Shared with :mod:`seqcore.modeling.arch_select`."""
    import json
    from pathlib import Path

    if not (resume and checkpoint_dir) or not (Path(checkpoint_dir) / file).exists():
        return None
    kept = json.loads((Path(checkpoint_dir) / file).read_text())
    note = kept.pop("note", "") + " (The choice was kept from the interrupted run.)"
    return kept, note.strip()


def save_choice(checkpoint_dir, file: str, choice: dict, note: str) -> None:
    """Keep ``choice`` and its ``note`` in ``checkpoint_dir / file`` (nothing without a checkpoint folder), so a
    resumed run goes on with the same choice (:func:`load_kept_choice`)."""
    import json
    from pathlib import Path

    from seqcore.fsutil import atomic_write_text

    if not checkpoint_dir:
        return
    Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(checkpoint_dir) / file, json.dumps(dict(choice, note=note)))


#: The file in a run's checkpoint folder that keeps the base picked by :func:`choose`.
CHOICE_FILE = "model_choice.json"


def _search(df, spec, prep, should_stop, on_progress=None):
    from seqcore.errors import UserError
    from seqcore.modeling.tasks import forecast

    t0 = time.perf_counter()
    split, season = prep.extra["split"], prep.state.get("season")
    n, train_rows = split.n, split.train_end
    choice = {"picked": None, "validation": {}, "seconds": 0.0, "how": "validation"}
    from seqcore import settings

    if not settings.base_search():
        choice["how"] = "off"
        note = ("The network works on its own: the automatic choice of what it starts from is switched off on "
                "this installation (SEQSTUDIO_BASE_SEARCH=0).")
        return _finish(df, spec, prep, "none", choice, note, t0)
    if n > MAX_SELECT_ROWS:
        picked = "none"
        choice["how"] = "long series"
        note = (f"The network works on its own: with {n:,} rows the series is long enough for it, and trying "
                f"every option (one training each) would cost too long (the search runs up to "
                f"{MAX_SELECT_ROWS:,} rows).")
        return _finish(df, spec, prep, picked, choice, note, t0)
    sel = selection_spec(spec.data, n)
    scores: dict[str, float | None] = {}
    uncorrected: dict[str, tuple] = {}   # statistical bases whose forecast scored better without the network
    few = 0                              # validation windows, when too few to check a network on
    with_calendar: dict[str, bool] = {}  # candidates whose network was given calendar features (calendar "auto")
    if sel is not None:
        from seqcore.data.windows import chronological_split

        sel_train = chronological_split(n, sel.val_fraction, sel.test_fraction).train_end
        cands = candidates(n, sel_train, season)
        for i, cand in enumerate(cands, 1):
            if should_stop is not None and should_stop():
                break
            point = _pointer(on_progress, i, len(cands), cand, spec.train.epochs, t0)
            point(0, None)
            try:
                p = forecast.prepare(df, sel.replace(base=cand), seed=spec.train.seed)
            except UserError:
                sel = None if not scores else sel
                break
            if p.state["base"]["name"] != cand or p.val is None or not len(p.val):
                continue   # the candidate fell back (a note says why at the real run): nothing new to score
            if len(p.val) < MIN_CHECK_WINDOWS:   # too few windows to judge a network: the statistical forecasts
                few = len(p.val)
                if cand in STAT_BASES:
                    scores[cand] = _finite(val_mase(forecast, p, None))
                    uncorrected[cand] = (None, scores[cand])
                continue
            with_calendar[cand] = bool(((p.state.get("calendar") or {}).get("parts")))
            scores[cand] = _train_score(spec, p, should_stop, point, on_progress)
            if cand in STAT_BASES:   # the statistical forecast without the network's correction
                alone = _finite(val_mase(forecast, p, None))
                if alone is not None and (scores[cand] is None or alone < scores[cand]):
                    uncorrected[cand] = (scores[cand], alone)
                    scores[cand] = alone
    choice["validation"] = {k: (None if v is None else round(v, 4)) for k, v in scores.items()}
    usable = {k: v for k, v in scores.items() if v is not None}
    if usable:
        picked = min(usable, key=usable.get)
        if spec.data.val_fraction <= 0:
            choice["how"] = "holdout"
        note = _note(picked, usable, holdout=spec.data.val_fraction <= 0)
        if few:
            choice["correction"] = False
            part = "holdout at the end of the training part" if spec.data.val_fraction <= 0 else "validation part"
            note = (f"The {part} holds only {few} forecast window{'s' if few != 1 else ''}, too few to check "
                    f"that a network helps, so the network is switched off: the forecast is {LABELS[picked]}'s, "
                    f"the statistical model that scored best there (MASE {usable[picked]:.3g}).")
        elif picked in uncorrected:
            with_net, alone = uncorrected[picked]
            choice["correction"] = False
            choice["with_network"] = None if with_net is None else round(with_net, 4)
            note += (f" The network's correction made it worse there (MASE {with_net:.3g} with it, {alone:.3g} "
                     f"without), so it is switched off: the forecast is {LABELS[picked]}'s own; the network did "
                     "not earn its place on this data." if with_net is not None else "")
        elif spec.data.calendar == "auto" and with_calendar.get(picked) and not (should_stop and should_stop()):
            note += _calendar_check(df, spec, sel, picked, usable[picked], choice, should_stop, on_progress,
                                    len(cands), t0)
    else:
        picked = _fallback(season, train_rows)
        choice["how"] = "default"
        note = (f"There is no room for a validation check, so the forecaster is {LABELS[picked]} "
                "(the default for a series without validation data).")
    return _finish(df, spec, prep, picked, choice, note, t0)


#: The progress name of the last check of :func:`choose`: the picked option again, without calendar features.
NO_CALENDAR = "no_calendar"


def candidate_text(cand) -> str:
    """Plain words for a candidate named in a kind "choose" progress point ("" when unknown)."""
    from seqcore.modeling.arch_select import candidate_text as design_text
    from seqcore.modeling.forecast_base import BASE_TEXT

    if design_text(cand):   # a sequence classifier's design (seqcore.modeling.arch_select)
        return design_text(cand).capitalize()
    return "The best option again, without calendar features" if cand == NO_CALENDAR else BASE_TEXT.get(cand, "")


def _train_score(spec, p, should_stop, point, on_progress) -> float | None:
    """Train the run's network on Prepared ``p`` (one candidate) and return its validation MASE (None: it
    diverged; it is then not picked and the run reports its own failure)."""
    from seqcore.errors import TrainingFailed
    from seqcore.modeling.models import build_model
    from seqcore.modeling.tasks import forecast
    from seqcore.modeling.training import fit, set_seed

    set_seed(spec.train.seed, strict=not spec.train.jit_compile)
    model = build_model(spec.model, spec.train, p.shape)
    try:
        fit(model, p.train, p.val, spec.train, should_stop=should_stop,
            on_progress=(lambda q: q.kind == "epoch" and point(q.epoch, q.loss)) if on_progress is not None else None)
        return _finite(val_mase(forecast, p, model))
    except TrainingFailed:
        return None
    finally:
        _clear()


def _calendar_check(df, spec, sel, picked: str, score: float, choice: dict, should_stop, on_progress, k: int,
                    t0: float) -> str:
    """``calendar="auto"`` added calendar features on a quick linear check; the network itself may do better
    without them. Train the picked option once more without them and keep whichever scores lower on validation.
    Sets ``choice["calendar"]`` ("on" / "off") and returns a sentence for the note."""
    from seqcore.errors import UserError
    from seqcore.modeling.tasks import forecast

    point = _pointer(on_progress, k + 1, k + 1, NO_CALENDAR, spec.train.epochs, t0)
    point(0, None)
    try:
        p = forecast.prepare(df, sel.replace(base=picked, calendar="off"), seed=spec.train.seed)
    except UserError:
        return ""
    if p.state["base"]["name"] != picked or p.val is None or not len(p.val):
        return ""
    without = _train_score(spec, p, should_stop, point, on_progress)
    choice["calendar_check"] = {"with": round(score, 4), "without": None if without is None else round(without, 4)}
    if without is not None and without < score:
        choice["calendar"] = "off"
        return (f" The calendar features were then left out: the network scored better on validation without "
                f"them (MASE {without:.3g} vs {score:.3g} with them).")
    choice["calendar"] = "on"
    return (f" It keeps the calendar features: they helped the network on validation too (MASE {score:.3g} with "
            f"them, {without:.3g} without)." if without is not None else "")


def _pointer(on_progress, i: int, k: int, cand: str, epochs: int, t0: float):
    """A function (epoch, loss) that reports candidate ``i`` of ``k`` as a kind "choose" point (no-op without
    ``on_progress``)."""
    from seqcore.modeling.progress import Progress

    def point(epoch: int, loss) -> None:
        if on_progress is not None:
            on_progress(Progress(kind="choose", epoch=i, epochs=k, batch=int(epoch), batches=int(epochs),
                                 elapsed=round(time.perf_counter() - t0, 4), loss=loss,
                                 metrics={"candidate": cand}))
    return point


def _finite(v):
    return float(v) if v is not None and np.isfinite(v) else None


def _clear() -> None:
    import keras

    keras.backend.clear_session(free_memory=False)


def _note(picked: str, scores: dict, holdout: bool) -> str:
    part = "a holdout at the end of the training part" if holdout else "validation"
    alone = scores.get("none")
    if picked == "none":
        others = {k: v for k, v in scores.items() if k != "none"}
        if not others:
            return f"The network works on its own (MASE {alone:.3g} on {part})."
        best = min(others, key=others.get)
        return (f"The network works on its own: it scored best on {part} (MASE {alone:.3g} vs {others[best]:.3g} "
                f"for {_what(best)}).")
    vs = f" vs {alone:.3g} for the network alone" if alone is not None else ""
    lead = ("The network works on the deseasonalised series (the season is put back after it)" if picked == "deseason"
            else f"The network learns the remaining error of {LABELS[picked]}'s forecast")
    return f"{lead}: it scored best on {part} (MASE {scores[picked]:.3g}{vs})."


def _what(name: str) -> str:
    return {"deseason": "the deseasonalised series"}.get(name, f"{LABELS.get(name, name)}'s residual")


def _finish(df, spec, prep, picked: str, choice: dict, note: str, t0: float):
    from seqcore.modeling.tasks import forecast

    drop_calendar = choice.get("calendar") == "off" and bool((prep.state.get("calendar") or {}).get("parts"))
    if prep.state["base"]["name"] != picked or drop_calendar:
        data = spec.data.replace(base=picked, calendar="off") if drop_calendar else spec.data.replace(base=picked)
        prep = forecast.prepare(df, data, seed=spec.train.seed)
    choice.pop("note", None)
    if choice.get("correction") is False and prep.state["base"]["name"] == picked:
        prep.state["base"]["correction"] = False
    choice.update(picked=prep.state["base"]["name"], seconds=round(time.perf_counter() - t0, 3))
    prep.extra["model_choice"] = choice
    prep.notes.append(note)
    return prep


def model_choice(prep) -> dict:
    """``metrics["model_choice"]``: the base used, the validation score of each candidate tried, the seconds
    the choice took and how it was made ("validation", "holdout", "default", "long series", "off" or
    "chosen")."""
    found = prep.extra.get("model_choice")
    if found is not None:
        return dict(found)
    return {"picked": prep.state["base"]["name"], "validation": {}, "seconds": 0.0, "how": "chosen"}
