"""Simple baselines that are always reported beside the model (numpy / sklearn only).

forecast : naive (last known value), seasonal naive, training mean
classify : majority class, 1-nearest-neighbour (Euclidean), 1-nearest-neighbour (DTW, in
           :mod:`seqcore.modeling.dtw`)
text     : majority class, bag-of-words (TF-IDF + logistic regression)

Forecast baselines return values in ORIGINAL units with shape
``(n_windows, horizon, n_targets)``; classification baselines return class
probabilities ``(n_test, n_classes)`` aligned with classes ``0..C-1``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

# --------------------------------------------------------------------------- forecast


def forecast_baselines(
    series: Any,
    starts: Any,
    horizon: int,
    train_end: int,
    season: int | None,
) -> dict[str, np.ndarray]:
    """Naive, seasonal-naive and mean forecasts for each window.

    Args:
        series: ``(N, n_targets)`` (or ``(N,)``) float, original units, the whole
            cleaned target series in time order.
        starts: ``(n_windows,)`` int. Window ``i`` forecasts
            ``series[starts[i] : starts[i] + horizon]`` knowing only
            ``series[:starts[i]]``. Needs ``1 <= starts[i] <= N``.
        horizon: number of steps ahead ``H >= 1``.
        train_end: end of the training part (the mean uses ``series[:train_end]``).
        season: season length ``m`` (e.g. 12 for monthly data) or None.

    Returns ``{"naive", "seasonal_naive", "mean"}``, each ``(n_windows, H, n_targets)``:

    * naive: ``series[s - 1]`` repeated over the horizon;
    * seasonal_naive: for step ``h`` (1-based) the value one season before,
      moved back whole seasons until it is known: ``series[s + h - 1 - m*ceil(h/m)]``.
      The key is absent when ``season`` is None or < 2, or when some window has
      fewer than ``m`` known values (``min(starts) < m``);
    * mean: mean of ``series[:train_end]`` per target.
    """
    y = np.asarray(series, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"series must be (N,) or (N, n_targets); got shape {y.shape}")
    n_rows, n_targets = y.shape
    s = np.asarray(starts).reshape(-1)
    if s.size and not np.issubdtype(s.dtype, np.integer):
        if not np.all(np.equal(np.mod(s, 1), 0)):
            raise ValueError("starts must be whole numbers")
    s = s.astype(np.int64)
    horizon = int(horizon)
    train_end = int(train_end)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1; got {horizon}")
    if s.size and (s.min() < 1 or s.max() > n_rows):
        raise ValueError(f"every window start must be between 1 and {n_rows} (at least one known value)")
    if not 1 <= train_end <= n_rows:
        raise ValueError(f"train_end must be between 1 and {n_rows}; got {train_end}")

    n_win = s.size
    out: dict[str, np.ndarray] = {}

    last = y[s - 1] if n_win else np.empty((0, n_targets))  # (n, T)
    out["naive"] = np.repeat(last[:, None, :], horizon, axis=1)

    if season is not None and int(season) >= 2 and n_win and int(s.min()) >= int(season):
        m = int(season)
        h = np.arange(1, horizon + 1)  # (H,)
        back = m * np.ceil(h / m).astype(np.int64)  # (H,) whole seasons back, >= h
        idx = s[:, None] + h[None, :] - 1 - back[None, :]  # (n, H), always < s
        out["seasonal_naive"] = y[idx]  # (n, H, T)

    mean = np.mean(y[:train_end], axis=0)  # (T,)
    out["mean"] = np.broadcast_to(mean, (n_win, horizon, n_targets)).copy()
    return out


_SEASON_BY_WORD: dict[str, int | None] = {
    "yearly": None,
    "annual": None,
    "quarterly": 4,
    "monthly": 12,
    "weekly": 52,
    "daily": 7,
    "business day": 5,
    "business daily": 5,
    "hourly": 24,
    "minutely": 60,
    "minute": 60,
}


def guess_season(frequency: Any, n: int) -> int | None:
    """A season length from a pandas frequency, or None.

    Args:
        frequency: a pandas offset alias (``"MS"``, ``"D"``, ``"W-SUN"``,
            ``"QS-OCT"``, ``"h"``, ``"15min"``...), a pandas offset object, a
            plain word (``"monthly"``), or None / a number (numeric index: no season).
        n: number of rows available.

    Monthly 12, quarterly 4, daily 7, business day 5, hourly 24, weekly 52,
    minutes 60 (seconds 60), semi-monthly 24, yearly None. A multiple such as
    ``"2h"`` divides the season (12) when it divides evenly, else None.
    Returns None when ``n < 2 * season`` or the season would be < 2.
    """
    if frequency is None or isinstance(frequency, (bool, int, float, np.number)):
        return None
    freq = getattr(frequency, "freqstr", frequency)
    if not isinstance(freq, str):
        return None
    text = freq.strip()
    if not text:
        return None

    lowered = text.lower()
    if lowered in _SEASON_BY_WORD:
        season = _SEASON_BY_WORD[lowered]
    else:   # one reading of aliases for the whole app: the one the data-fitted defaults use
        from seqcore.data.defaults import calendar_season

        season = calendar_season(text, n)[0]
    if season is None or season < 2 or n < 2 * season:
        return None
    return int(season)


# --------------------------------------------------------------------------- classification


def _one_hot(idx: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((idx.size, n_classes), dtype=np.float64)
    out[np.arange(idx.size), idx] = 1.0
    return out


def majority_baseline(y_train: Any, n_test: int, n_classes: int) -> np.ndarray:
    """``(n_test, n_classes)`` one-hot of the most frequent training class (ties: lowest index)."""
    yt = np.asarray(y_train, dtype=np.int64).reshape(-1)
    if yt.size == 0:
        raise ValueError("majority_baseline needs at least one training label")
    counts = np.bincount(yt, minlength=n_classes)
    return _one_hot(np.full(int(n_test), int(np.argmax(counts)), dtype=np.int64), n_classes)


def _as_3d_seq(X: Any) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"sequences must be (n, steps, features); got shape {arr.shape}")
    return arr


def _lengths(X: np.ndarray, lengths: Any) -> np.ndarray:
    if lengths is None:
        return np.full(X.shape[0], X.shape[1], dtype=np.int64)
    lens = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if lens.size != X.shape[0] or (lens.size and (lens.min() < 1 or lens.max() > X.shape[1])):
        raise ValueError(f"lengths must give 1..{X.shape[1]} for each of the {X.shape[0]} sequences")
    return lens


def _resample(X: np.ndarray, lens: np.ndarray, target: int) -> np.ndarray:
    """Linear-interpolate each sequence's first ``lens[i]`` steps onto ``target`` steps.

    X: (n, steps, F) -> (n, target, F). Sequences of the same length share one
    vectorised interpolation.
    """
    n, _, n_feat = X.shape
    out = np.empty((n, target, n_feat), dtype=np.float64)
    for length in np.unique(lens):
        rows = np.nonzero(lens == length)[0]
        block = X[rows, :length, :]  # (r, length, F)
        if length == target:
            out[rows] = block
            continue
        if length == 1:
            out[rows] = np.repeat(block, target, axis=1)
            continue
        pos = np.linspace(0.0, length - 1.0, target)  # (target,)
        lo = np.minimum(np.floor(pos).astype(np.int64), length - 2)
        frac = (pos - lo)[None, :, None]
        out[rows] = block[:, lo, :] * (1.0 - frac) + block[:, lo + 1, :] * frac
    return out


def _aligned(X_train: Any, y_train: Any, X_test: Any, lengths_train: Any, lengths_test: Any,
             who: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train (n, L, F), test (m, L, F), labels): the sequences the 1-NN baselines compare, all of one length.

    When all sequences have the same length they are kept as they are; otherwise every sequence is
    resampled (linear interpolation) to the longest length seen. Non-finite values become 0."""
    xtr = _as_3d_seq(X_train)
    xte = _as_3d_seq(X_test)
    ytr = np.asarray(y_train, dtype=np.int64).reshape(-1)
    if xtr.shape[0] == 0:
        raise ValueError(f"{who} needs at least one training sequence")
    if ytr.size != xtr.shape[0]:
        raise ValueError(f"{xtr.shape[0]} training sequences but {ytr.size} labels")
    if xtr.shape[2] != xte.shape[2]:
        raise ValueError(f"train has {xtr.shape[2]} features per step but test has {xte.shape[2]}")
    ltr = _lengths(xtr, lengths_train)
    lte = _lengths(xte, lengths_test)
    all_lens = np.concatenate([ltr, lte])
    target = int(all_lens.max())
    if np.all(all_lens == target):
        atr, ate = xtr[:, :target, :], xte[:, :target, :]
    else:
        atr, ate = _resample(xtr, ltr, target), _resample(xte, lte, target)
    clean = lambda a: np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)  # noqa: E731
    return clean(atr), clean(ate), ytr


def nearest_neighbour_baseline(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    n_classes: int,
    lengths_train: Any = None,
    lengths_test: Any = None,
) -> np.ndarray:
    """1-nearest-neighbour with Euclidean distance; returns one-hot ``(n_test, n_classes)``.

    Args:
        X_train: ``(n_train, steps, features)`` (or ``(n_train, steps)``), padded
            when lengths differ. X_test likewise (its ``steps`` may differ).
        y_train: ``(n_train,)`` int class indices.
        lengths_train, lengths_test: true lengths ``(n,)``; None means "all steps".

    When all sequences have the same length they are compared as they are.
    Otherwise every sequence is first resampled (linear interpolation) to the
    longest length seen. Distances use ``|a|^2 + |b|^2 - 2 a.b`` in float64,
    computed in chunks of test rows to bound memory. Ties go to the first
    training sequence. Non-finite values are treated as 0.
    """
    atr, ate, ytr = _aligned(X_train, y_train, X_test, lengths_train, lengths_test, "nearest_neighbour_baseline")
    n_test = ate.shape[0]
    if n_test == 0:
        return np.zeros((0, n_classes), dtype=np.float64)
    atr = atr.reshape(atr.shape[0], -1)
    ate = ate.reshape(n_test, -1)

    sq_tr = np.einsum("ij,ij->i", atr, atr)  # (n_train,)
    chunk = max(1, (1 << 22) // atr.shape[0])  # ~32 MB of float64 distances per chunk
    nearest = np.empty(n_test, dtype=np.int64)
    for lo in range(0, n_test, chunk):
        block = ate[lo : lo + chunk]
        d2 = sq_tr[None, :] - 2.0 * (block @ atr.T)  # |b|^2 is constant per row: argmin unaffected
        nearest[lo : lo + chunk] = np.argmin(d2, axis=1)
    return _one_hot(ytr[nearest], n_classes)


def nearest_neighbour_dtw_baseline(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    n_classes: int,
    lengths_train: Any = None,
    lengths_test: Any = None,
    budget_s: float | None = None,
):
    """1-nearest-neighbour with dynamic time warping, its warping window picked on the training part.

    The same inputs as :func:`nearest_neighbour_baseline`, and the same handling of unequal lengths
    (resampled to the longest). Returns a :class:`seqcore.modeling.dtw.DtwResult`: ``proba`` one-hot
    ``(n_test, n_classes)``, or None with a plain ``note`` when it ran past ``budget_s`` seconds (default
    :data:`seqcore.modeling.dtw.DEFAULT_BUDGET_S`)."""
    from seqcore.modeling import dtw

    atr, ate, ytr = _aligned(X_train, y_train, X_test, lengths_train, lengths_test, "nearest_neighbour_dtw_baseline")
    return dtw.nearest_neighbour_dtw(atr, ytr, ate, n_classes,
                                     budget_s=dtw.DEFAULT_BUDGET_S if budget_s is None else budget_s)


def bag_of_words_baseline(
    texts_train: Sequence[Any],
    y_train: Any,
    texts_test: Sequence[Any],
    n_classes: int,
    seed: int = 0,
) -> np.ndarray:
    """TF-IDF word 1-2 grams + logistic regression; returns ``(n_test, n_classes)`` probabilities.

    ``TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)`` and
    ``LogisticRegression(max_iter=1000, C=4.0)``. Columns are aligned to classes
    ``0..C-1``; classes absent from training get probability 0. With a single
    training class, or no usable words at all, it predicts the training class
    frequencies.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def clean(texts: Sequence[Any]) -> list[str]:
        return [
            "" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t)
            for t in list(texts)
        ]

    tr, te = clean(texts_train), clean(texts_test)
    ytr = np.asarray(y_train, dtype=np.int64).reshape(-1)
    if ytr.size != len(tr):
        raise ValueError(f"{len(tr)} training texts but {ytr.size} labels")
    if ytr.size == 0:
        raise ValueError("bag_of_words_baseline needs at least one training text")
    prior = np.bincount(ytr, minlength=n_classes).astype(np.float64) / ytr.size
    fallback = np.tile(prior, (len(te), 1))
    if np.unique(ytr).size < 2:
        return fallback

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    try:
        x_train = vec.fit_transform(tr)
    except ValueError:  # empty vocabulary: no usable words at all
        return fallback
    clf = LogisticRegression(max_iter=1000, C=4.0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x_train, ytr)
    out = np.zeros((len(te), n_classes), dtype=np.float64)
    if te:
        out[:, clf.classes_.astype(np.int64)] = clf.predict_proba(vec.transform(te))
    return out
