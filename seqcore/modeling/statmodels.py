"""Statistical forecasters (statsforecast): AutoETS, AutoARIMA and AutoTheta on the same split and horizon as
the network, the bar a forecaster judges against.

Each model is fitted once per target on ``series[:fit_end]`` (at most :data:`MAX_FIT_ROWS` of its last rows;
the forecast evaluation passes the end of the validation part, :func:`all_test_baselines`), then applied with
its fitted parameters, not re-estimated, from every forecast origin: ``model.forward(series[:s], h)`` knows
only the values before ``s``. A model is skipped, with a plain note saying why, when the fitting part is too
short for it, has missing values, or when it ran past its time budget.

The budget is enforced inside statsforecast: a few of its module functions that a fit calls many times (each
likelihood evaluation, each candidate model) are wrapped once per process to check a per-thread deadline, so
a slow fit (a seasonal AutoARIMA of a long weekly series can take minutes) stops at its budget. Without a
deadline the wrappers only pass the call on.

statsforecast is imported inside the functions (importing :mod:`seqcore` stays light).
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

#: Baseline names in ``metrics.json`` (``baselines.<name>``) and their plain labels.
STAT_MODELS = ("auto_ets", "auto_arima", "auto_theta")
LABELS = {"auto_ets": "AutoETS", "auto_arima": "AutoARIMA", "auto_theta": "AutoTheta"}
#: One plain sentence on what the statistical baselines are (Results page and report).
STAT_BASELINES_TEXT = ("AutoETS, AutoARIMA and AutoTheta are statistical forecasters (from statsforecast), the bar "
                       "forecasters judge against: each is fitted on the data before the test part and forecasts "
                       "from the same points, over the same horizon, as the model.")
#: A statistical fit uses at most this many of the training part's last rows (ARIMA's cost grows with length).
MAX_FIT_ROWS = 2_000
#: Default seconds each model may take over all its targets and origins before it is skipped.
DEFAULT_BUDGET_S = 20.0


@dataclass
class StatForecasts:
    """Forecasts in original units, ``{name: (n_origins, H, T)}``, and notes on the models skipped."""

    forecasts: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def min_fit_rows(name: str, season: int | None) -> int:
    """The fewest training rows a model is fitted on. A seasonal model with fewer than two whole seasons is
    fitted without the season (see :func:`_season_for`), so the season does not raise this."""
    return {"auto_ets": 10, "auto_arima": 12, "auto_theta": 10}[name]


def _model(name: str, season: int):
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "auto_arima":
        return AutoARIMA(season_length=season)
    if name == "auto_theta":
        return AutoTheta(season_length=season)
    raise ValueError(f"unknown statistical model {name!r}")


class _OverBudget(BaseException):
    """Raised from inside a statsforecast fit past its deadline. A BaseException: statsforecast catches
    ``Exception`` around some candidate fits and would carry on searching."""


_deadline = threading.local()
#: statsforecast functions called many times during one fit (each likelihood evaluation, each candidate
#: model): wrapped so that a fit stops at its deadline instead of running on (a seasonal AutoARIMA of a
#: long weekly series can take minutes).
_GUARDED = {"statsforecast.arima": ("arima_like", "arima_css", "make_arima", "myarima"),
            "statsforecast.ets": ("etsmodel", "pegelsresid_C"),
            "statsforecast.theta": ("optimize_theta_target_fn",)}
_guard_lock = threading.Lock()


def _check_deadline() -> None:
    end = getattr(_deadline, "end", None)
    if end is not None and time.perf_counter() > end:
        raise _OverBudget


def _guarded(func):
    def call(*args, **kwargs):
        _check_deadline()
        return func(*args, **kwargs)

    call.__wrapped__ = func
    call._seqstudio_guard = True
    return call


def _install_guards() -> None:
    """Wrap the functions of :data:`_GUARDED` (module globals, looked up at call time) once per process. Without
    a deadline set (:func:`_fit_one`) the wrappers only pass the call on."""
    import importlib

    with _guard_lock:
        for mod_name, names in _GUARDED.items():
            try:
                mod = importlib.import_module(mod_name)
            except ImportError:
                continue
            for name in names:
                func = getattr(mod, name, None)
                if callable(func) and not getattr(func, "_seqstudio_guard", False):
                    setattr(mod, name, _guarded(func))


def _fit_one(name: str, season: int, y: np.ndarray, deadline: float):
    """One model fitted on ``y``; raises :class:`_OverBudget` when the fit passes ``deadline``."""
    _install_guards()
    _deadline.end = deadline
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _model(name, season).fit(y)
    finally:
        _deadline.end = None


def fit_models(y_train: np.ndarray, season: int | None, names=STAT_MODELS, *, budget_s: float = DEFAULT_BUDGET_S):
    """Fit each model on ``y_train`` ((N,) or (N, T), original units). Returns ({name: [fitted per target]},
    notes). A model that fails, is too short for, or runs past ``budget_s`` is left out with a note."""
    y = np.asarray(y_train, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    m = int(season) if season and int(season) >= 2 else 1
    fitted, notes = {}, []
    for name in names:
        need = min_fit_rows(name, m)
        if len(y) < need:
            notes.append(f"{LABELS[name]} was skipped: the training part has {len(y)} rows and it needs at least "
                         f"{need}.")
            continue
        if not np.isfinite(y[-MAX_FIT_ROWS:]).all():
            notes.append(f"{LABELS[name]} was skipped: the training part has missing or infinite values, and it "
                         "needs a number in every row.")
            continue
        if _season_for(m, min(len(y), MAX_FIT_ROWS)) != m:
            notes.append(f"{LABELS[name]} was fitted without a season: the training part has {len(y)} rows, fewer "
                         f"than two whole seasons of {m}.")
        start = time.perf_counter()
        try:
            models = []
            for j in range(y.shape[1]):
                col = y[-MAX_FIT_ROWS:, j]
                models.append(_fit_one(name, _season_for(m, len(col)), col, start + budget_s))
            fitted[name] = models
        except _OverBudget:
            notes.append(f"{LABELS[name]} was skipped: fitting it took longer than its {budget_s:g} s budget.")
        except Exception as err:  # noqa: BLE001 - a statistical fit that fails only costs that baseline
            notes.append(f"{LABELS[name]} was skipped: it could not be fitted to this data ({_short(err)}).")
    return fitted, notes


def _season_for(m: int, n: int) -> int:
    """The season a model is given: ``m`` when two whole seasons fit in ``n`` rows, else 1 (no season)."""
    return m if m > 1 and n >= 2 * m + 2 else 1


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:120]


def forward(models: list, series: np.ndarray, starts, horizon: int, *, deadline: float | None = None) -> np.ndarray:
    """Forecasts ``(n_origins, H, T)`` of fitted ``models`` (one per target) from each origin ``s``: the model's
    parameters applied to ``series[:s]`` (at most :data:`MAX_FIT_ROWS` rows before it). Raises
    :class:`TimeoutError` past ``deadline`` (a ``time.perf_counter()`` value)."""
    y = np.asarray(series, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    s = np.asarray(starts, dtype=np.int64).reshape(-1)
    out = np.empty((len(s), int(horizon), y.shape[1]), dtype=np.float64)
    _install_guards()
    _deadline.end = deadline
    try:
        for i, origin in enumerate(s):
            for j, model in enumerate(models):
                hist = y[max(0, int(origin) - MAX_FIT_ROWS):int(origin), j]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[i, :, j] = np.asarray(model.forward(y=hist, h=int(horizon))["mean"], dtype=np.float64)
            _check_deadline()
    except _OverBudget:
        raise TimeoutError from None
    finally:
        _deadline.end = None
    return out


def stat_forecasts(series, starts, horizon: int, fit_end: int, season: int | None, names=STAT_MODELS, *,
                   budget_s: float = DEFAULT_BUDGET_S) -> StatForecasts:
    """Every statistical model's forecasts from each origin in ``starts`` (see the module docstring).

    series: (N,) or (N, T) original units, the whole cleaned target series; fit_end: end of the training part.
    Each model gets ``budget_s`` seconds for its fit and all its origins together."""
    y = np.asarray(series, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    result = StatForecasts()
    s = np.asarray(starts, dtype=np.int64).reshape(-1)
    if not len(s):
        return result
    for name in names:
        start = time.perf_counter()
        fitted, notes = fit_models(y[:fit_end], season, (name,), budget_s=budget_s)
        result.notes.extend(notes)
        if name not in fitted:
            continue
        try:
            pred = forward(fitted[name], y, s, horizon, deadline=start + budget_s)
        except TimeoutError:
            result.notes.append(f"{LABELS[name]} was skipped: forecasting from all {len(s):,} test origins took "
                                f"longer than its {budget_s:g} s budget.")
            continue
        except Exception as err:  # noqa: BLE001
            result.notes.append(f"{LABELS[name]} was skipped: it failed to forecast ({_short(err)}).")
            continue
        if not np.isfinite(pred).all():
            result.notes.append(f"{LABELS[name]} was skipped: its forecasts were not finite numbers.")
            continue
        result.forecasts[name] = pred
        result.seconds[name] = round(time.perf_counter() - start, 3)
    return result


def forecast_ahead(name: str, history, horizon: int, season: int | None) -> np.ndarray:
    """Fit ``name`` on all of ``history`` ((N,) or (N, T)) and forecast the next ``horizon`` steps: (H, T)."""
    y = np.asarray(history, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    fitted, notes = fit_models(y, season, (name,), budget_s=math.inf)
    if name not in fitted:
        raise ValueError(notes[0] if notes else f"{LABELS.get(name, name)} could not be fitted")
    return forward(fitted[name], y, [len(y)], horizon)[0]


def all_test_baselines(extra: dict, series, starts, horizon: int, train_end: int, fit_end: int,
                        season: int | None) -> dict[str, np.ndarray]:
    """Every forecast baseline on the test origins ``starts``: the simple ones
    (:func:`seqcore.modeling.baselines.forecast_baselines`) and the statistical models, fitted on
    ``series[:fit_end]`` (the data before the test part: training and validation parts, all the network has
    seen, its final fit included). The skip notes go to ``extra["baseline_notes"]``. The time budget per model
    is ``SEQSTUDIO_STAT_BUDGET`` (seconds; 0 turns the statistical models off)."""
    from seqcore import settings
    from seqcore.modeling.baselines import forecast_baselines

    out = forecast_baselines(series, starts, horizon, train_end, season)
    budget = settings.stat_budget()
    if budget <= 0:
        extra["baseline_notes"] = [f"The statistical baselines ({', '.join(LABELS.values())}) are off "
                                   f"({settings.STAT_BUDGET}=0)."]
        return out
    stat = stat_forecasts(series, starts, horizon, fit_end, season, budget_s=budget)
    extra["baseline_notes"] = list(stat.notes)
    extra["baseline_seconds"] = dict(stat.seconds)
    return {**out, **stat.forecasts}
