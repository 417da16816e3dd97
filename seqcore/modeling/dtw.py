"""Dynamic time warping (DTW) and the 1-nearest-neighbour DTW baseline for sequence classification.

DTW lines two sequences up by stretching and squeezing time before comparing them, so a pattern that
comes a little earlier or later in one of them still matches. The cost of a pair is the smallest sum,
over a warping path, of the squared Euclidean distance between the steps it pairs (over all channels
at once: "dependent" multivariate DTW); the distance is its square root. A Sakoe-Chiba band keeps the
path within ``window`` steps of the diagonal.

Two engines compute it (the same numbers, see ``tests/test_dtw.py``):

* ``dtaidistance`` (pinned in requirements.txt): a C core with lower-bound pruning, the default when it
  is installed; its ``window`` counts the diagonal itself, so a band of ``r`` steps is ``window=r + 1``;
* :func:`dtw_pairs` with numpy, vectorised over many pairs at once (one numpy operation per cell of the
  band, on all the pairs), used when dtaidistance is missing and as a cross-check.

:func:`nearest_neighbour_dtw` is the classic "DTW_R" protocol of the UCR archive: every sequence resampled
to one length (as the Euclidean baseline does), the band picked by leave-one-out 1-NN accuracy on the
training sequences over :data:`WINDOW_GRID` (ties go to the narrower band), then 1-NN on the test part. It
stops at a time budget and says so (:class:`DtwResult.note`), as the statistical forecasting baselines do.

Only numpy at import; dtaidistance is imported when it is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Band widths tried, as a share of the sequence length (the UCR archive's DTW_R grid).
WINDOW_GRID: tuple[float, ...] = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.20)
#: Default seconds the whole baseline (window choice + test) may take before it is skipped.
DEFAULT_BUDGET_S = 10.0
LABEL = "1-nearest-neighbour (DTW)"


class BudgetExceeded(Exception):
    """The DTW baseline ran past its time budget."""


def band_steps(fraction: float, length: int) -> int:
    """The band half-width in steps for ``fraction`` of ``length`` (rounded up, as the UCR archive does)."""
    return int(np.ceil(round(float(fraction) * int(length), 9)))


def dtw_reference(a: Any, b: Any, band: int | None = None) -> float:
    """Plain O(n*m) DTW of one pair, for tests: ``a`` (n, F) or (n,), ``b`` (m, F) or (m,); ``band``: the
    Sakoe-Chiba half-width in steps (None: no band; it is widened to ``|n - m|`` so a path exists)."""
    x = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    y = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    n, m = len(x), len(y)
    w = max(n, m) if band is None else max(int(band), abs(n - m))
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(max(1, i - w), min(m, i + w) + 1):
            d = float(np.sum((x[i - 1] - y[j - 1]) ** 2))
            cost[i, j] = d + min(cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1])
    return float(np.sqrt(cost[n, m]))


def dtw_pairs(A: np.ndarray, B: np.ndarray, band: int, *, deadline: float | None = None) -> np.ndarray:
    """DTW distance of each pair ``(A[p], B[p])``: ``A``, ``B`` are ``(P, L, F)`` of one length ``L``;
    ``band``: half-width in steps. Returns ``(P,)``. One numpy step per cell of the band, each over all P
    pairs (rows of the cost matrix are kept two at a time). Raises :class:`BudgetExceeded` past ``deadline``
    (a ``time.perf_counter()`` value)."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    P, L = A.shape[0], A.shape[1]
    if P == 0:
        return np.zeros(0)
    w = min(max(int(band), 0), L - 1)
    if w == 0:
        return np.sqrt(np.sum((A - B) ** 2, axis=(1, 2)))
    inf = np.inf
    prev = np.full((P, L), inf)
    for i in range(L):
        if deadline is not None and i % 16 == 0 and time.perf_counter() > deadline:
            raise BudgetExceeded
        lo, hi = max(0, i - w), min(L - 1, i + w)
        # squared distances of step i of A to steps lo..hi of B, for every pair: (P, hi-lo+1)
        d = np.sum((A[:, i, None, :] - B[:, lo:hi + 1, :]) ** 2, axis=2)
        cur = np.full((P, L), inf)
        if i == 0:
            cur[:, 0] = d[:, 0]
            for j in range(1, hi + 1):
                cur[:, j] = d[:, j] + cur[:, j - 1]
        else:
            # vertical and diagonal moves come from the previous row: vectorised over the band
            up = prev[:, lo:hi + 1]
            diag = np.concatenate([prev[:, lo - 1:lo] if lo > 0 else np.full((P, 1), inf), prev[:, lo:hi]], axis=1)
            best = np.minimum(up, diag) + d
            # horizontal moves chain along the row
            cur[:, lo] = best[:, 0]
            for k in range(1, hi - lo + 1):
                j = lo + k
                cur[:, j] = np.minimum(best[:, k], d[:, k] + cur[:, j - 1])
        prev = cur
    return np.sqrt(prev[:, L - 1])


def _dtaidistance():
    """The dtaidistance modules with their C core, or None (not installed, or built without C)."""
    try:
        from dtaidistance import dtw, dtw_ndim
    except ImportError:
        return None
    if getattr(dtw, "dtw_cc", None) is None:   # installed without its compiled core: numpy is as fast
        return None
    return dtw, dtw_ndim


def engine_available(engine: str) -> bool:
    return engine == "numpy" or (engine == "dtaidistance" and _dtaidistance() is not None)


def default_engine() -> str:
    return "dtaidistance" if _dtaidistance() is not None else "numpy"


def distance_matrix(A: np.ndarray, B: np.ndarray | None, band: int, *, engine: str | None = None,
                    deadline: float | None = None) -> np.ndarray:
    """DTW distances between every row of ``A`` ``(n_a, L, F)`` and every row of ``B`` ``(n_b, L, F)``
    (``B`` None: ``A`` against itself, the diagonal set to +inf for leave-one-out). Returns ``(n_a, n_b)``."""
    engine = engine or default_engine()
    A = np.ascontiguousarray(A, dtype=np.float64)
    same = B is None
    Bm = A if same else np.ascontiguousarray(B, dtype=np.float64)
    n_a, n_b, L = A.shape[0], Bm.shape[0], A.shape[1]
    w = min(max(int(band), 0), L - 1)
    if n_a == 0 or n_b == 0:
        return np.zeros((n_a, n_b))
    if engine == "dtaidistance" and w > 0:
        if deadline is not None and time.perf_counter() > deadline:
            raise BudgetExceeded
        dtw, dtw_ndim = _dtaidistance()
        multi = A.shape[2] > 1
        series = A if same else np.concatenate([A, Bm], axis=0)
        series = series if multi else series[:, :, 0]
        block = None if same else ((0, n_a), (n_a, n_a + n_b))
        parallel = getattr(dtw, "dtw_cc_omp", None) is not None
        if multi:
            full = dtw_ndim.distance_matrix_fast(series, window=w + 1, block=block, compact=not same,
                                                 parallel=parallel)
        else:   # pruned by each pair's Euclidean distance, an upper bound of its DTW: the result is exact
            full = dtw.distance_matrix_fast(series, window=w + 1, block=block, compact=not same,
                                            parallel=parallel, use_pruning=True)
        full = np.asarray(full, dtype=np.float64)
        if same:
            out = np.minimum(full, full.T)   # dtaidistance fills the upper triangle
            np.fill_diagonal(out, np.inf)
            return out
        return full.reshape(n_a, n_b)   # compact: the block's values row by row
    if w == 0:   # no warping: squared Euclidean in one matrix product
        fa, fb = A.reshape(n_a, L * A.shape[2]), Bm.reshape(n_b, L * A.shape[2])
        d2 = np.einsum("ij,ij->i", fa, fa)[:, None] + np.einsum("ij,ij->i", fb, fb)[None, :] - 2.0 * fa @ fb.T
        out = np.sqrt(np.maximum(d2, 0.0))
        if same:
            np.fill_diagonal(out, np.inf)
        return out
    if same:
        ia, ib = np.triu_indices(n_a, k=1)
    else:
        ia, ib = (g.reshape(-1) for g in np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij"))
    out = np.full((n_a, n_b), np.inf)
    chunk = max(1, (1 << 23) // max(1, L * A.shape[2]))   # about 64 MB per operand
    for s in range(0, ia.size, chunk):
        a, b = ia[s:s + chunk], ib[s:s + chunk]
        out[a, b] = dtw_pairs(A[a], Bm[b], w, deadline=deadline)
    if same:
        out = np.minimum(out, out.T)
    return out


#: Cells of the cost matrices per second, a cautious guess before the first call has been timed.
_FIRST_RATE = {"dtaidistance": 1.0e8, "numpy": 2.0e7}


class _Clock:
    """Keeps the baseline within its budget: before each distance matrix, its time is estimated from the
    cells it fills and the rate measured so far, and :class:`BudgetExceeded` is raised when it would end
    past the deadline (a C call cannot be stopped half-way)."""

    def __init__(self, engine: str, budget_s: float):
        self.engine, self.deadline = engine, time.perf_counter() + float(budget_s)
        self.rate = _FIRST_RATE.get(engine, 2.0e7)
        self.measured = False

    @staticmethod
    def cells(A: np.ndarray, B: np.ndarray | None, band: int) -> float:
        n_a, L = A.shape[0], A.shape[1]
        pairs = n_a * (n_a - 1) / 2 if B is None else n_a * B.shape[0]
        return max(1.0, pairs * L * (2 * min(band, L) + 1) * max(1, A.shape[2]) ** 0.5)

    def fits(self, cells: float) -> bool:
        """Whether ``cells`` more cells would end before the deadline at the rate measured so far."""
        return time.perf_counter() + cells / self.rate <= self.deadline

    def calibrate(self, A: np.ndarray, band: int) -> None:
        """Measure the rate on a few pairs of ``A`` at ``band`` (once, before the first large warping pass:
        the first guess is cautious and would give up on long sequences that fit)."""
        if self.measured or band <= 0 or A.shape[0] < 2:
            return
        k = max(1, min(A.shape[0] // 2, 6))
        t0 = time.perf_counter()
        distance_matrix(A[:k], A[k:2 * k], band, engine=self.engine)
        spent = time.perf_counter() - t0
        cells = self.cells(A[:k], A[k:2 * k], band)
        if spent > 0:
            self.rate = max(self.rate, cells / spent)   # small calls carry overheads: never below the guess
        self.measured = True

    def run(self, A: np.ndarray, B: np.ndarray | None, band: int) -> np.ndarray:
        """:func:`nearest` indices, or :class:`BudgetExceeded` when it would not end before the deadline."""
        cells = self.cells(A, B, band)
        t0 = time.perf_counter()
        if not self.fits(cells):
            raise BudgetExceeded
        out = nearest(A, B, band, engine=self.engine, deadline=self.deadline)
        spent = time.perf_counter() - t0
        if spent > 0.05:   # long enough to time
            self.rate, self.measured = cells / spent, True
        return out


#: At most this many distances are held at once by :func:`nearest` (64 MB of float64).
MAX_ENTRIES = 1 << 23


def nearest(A: np.ndarray, B: np.ndarray | None, band: int, *, engine: str | None = None,
            deadline: float | None = None, max_entries: int = MAX_ENTRIES) -> np.ndarray:
    """Index of the nearest row of ``B`` for each row of ``A`` (``B`` None: of ``A`` itself, each row left
    out: leave-one-out); ties go to the first. Rows of ``A`` are taken in chunks so that no more than
    ``max_entries`` distances are held at once."""
    n_a = A.shape[0]
    n_b = n_a if B is None else B.shape[0]
    if n_a * n_b <= max_entries:
        return np.argmin(distance_matrix(A, B, band, engine=engine, deadline=deadline), axis=1)
    ref = A if B is None else B
    step = max(1, max_entries // max(n_b, 1))
    out = np.empty(n_a, dtype=np.int64)
    for lo in range(0, n_a, step):
        d = distance_matrix(A[lo:lo + step], ref, band, engine=engine, deadline=deadline)
        if B is None:
            rows = np.arange(d.shape[0])
            d[rows, lo + rows] = np.inf
        out[lo:lo + step] = np.argmin(d, axis=1)
    return out


@dataclass
class DtwResult:
    """What :func:`nearest_neighbour_dtw` found: ``proba`` one-hot ``(n_test, C)`` or None when skipped;
    ``window`` the band picked (share of the length) and ``band`` in steps; ``loo_accuracy`` per window
    tried; ``note`` a plain sentence for the run's notes (the window, or why it was skipped)."""

    proba: np.ndarray | None
    window: float | None = None
    band: int | None = None
    length: int = 0
    loo_accuracy: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    engine: str = ""
    note: str = ""
    truncated: bool = False   # the wider windows of the grid were not tried, to stay within the budget

    def info(self) -> dict:
        return {"window": self.window, "band_steps": self.band, "length": self.length, "engine": self.engine,
                "seconds": round(self.seconds, 2), "loo_accuracy": dict(self.loo_accuracy),
                "skipped": self.proba is None, "grid_truncated": self.truncated}


def nearest_neighbour_dtw(x_train: np.ndarray, y_train: Any, x_test: np.ndarray, n_classes: int, *,
                          grid: tuple[float, ...] = WINDOW_GRID, budget_s: float = DEFAULT_BUDGET_S,
                          engine: str | None = None) -> DtwResult:
    """1-NN DTW with the band picked by leave-one-out accuracy on the training part.

    Args:
        x_train, x_test: ``(n, L, F)`` float, already of one length ``L`` (see
            :func:`seqcore.modeling.baselines.nearest_neighbour_dtw_baseline` for padded input).
        y_train: ``(n_train,)`` class indices.
        grid: band widths as shares of ``L``; ties in leave-one-out accuracy go to the narrower one.
        budget_s: seconds for the whole baseline; past it the result has ``proba`` None and a note.
        engine: "dtaidistance" or "numpy" (default: dtaidistance when installed).

    With a single training sequence there is nothing to leave out: the narrowest band is used.
    """
    start = time.perf_counter()
    engine = engine or default_engine()
    clock = _Clock(engine, budget_s)
    ytr = np.asarray(y_train, dtype=np.int64).reshape(-1)
    xtr = np.nan_to_num(np.asarray(x_train, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    xte = np.nan_to_num(np.asarray(x_test, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    L = int(xtr.shape[1])
    res = DtwResult(proba=None, length=L, engine=engine)
    bands: dict[int, float] = {}
    for frac in sorted(grid):   # windows giving the same band in steps are one candidate (the narrowest share)
        bands.setdefault(min(band_steps(frac, L), max(L - 1, 0)), float(frac))
    try:
        if xtr.shape[0] > 1 and len(bands) > 1:
            best_band, best_acc = None, -1.0
            for band, frac in sorted(bands.items()):
                # this window's leave-one-out pass and, should it win, the test pass must both fit
                clock.calibrate(xtr, band)
                more = clock.cells(xtr, None, band) + clock.cells(xte, xtr, band)
                if best_band is not None and not clock.fits(more):
                    res.truncated = True
                    break
                acc = float(np.mean(ytr[clock.run(xtr, None, band)] == ytr))
                res.loo_accuracy[f"{frac:g}"] = round(acc, 4)
                if acc > best_acc:   # strictly better: ties keep the narrower band
                    best_band, best_acc = band, acc
        else:
            best_band = min(bands)
        res.band, res.window = best_band, bands[best_band]
        idx = clock.run(xte, xtr, best_band)
    except BudgetExceeded:
        res.seconds = time.perf_counter() - start
        res.proba, res.band, res.window = None, None, None
        res.note = (f"The {LABEL} baseline was skipped: choosing its warping window and comparing every test "
                    f"sequence with every training sequence took longer than its {budget_s:g} s budget "
                    f"({xtr.shape[0]} training and {xte.shape[0]} test sequences of {L} steps).")
        return res
    pred = ytr[idx]
    proba = np.zeros((xte.shape[0], n_classes))
    proba[np.arange(xte.shape[0]), pred] = 1.0
    res.proba = proba
    res.seconds = time.perf_counter() - start
    if not res.loo_accuracy:
        picked = "the narrowest, with too few training sequences to compare windows"
    elif not res.truncated:
        picked = "picked by leave-one-out accuracy on the training sequences"
    elif len(res.loo_accuracy) > 1:
        widest = max(float(k) for k in res.loo_accuracy)
        picked = (f"picked by leave-one-out accuracy on the training sequences among the windows up to "
                  f"{widest * 100:g}%: the wider ones would have taken longer than its {budget_s:g} s budget")
    else:
        picked = f"the only one tried: wider windows would have taken longer than its {budget_s:g} s budget"
    if res.band:
        res.note = (f"The {LABEL} baseline let time stretch by up to {res.band} step(s) ({res.window * 100:g}% "
                    f"of the {L} steps; {picked}).")
    else:
        res.note = (f"The {LABEL} baseline compared the sequences step by step without stretching time (a "
                    f"warping window of 0%, {picked}), the same as the Euclidean one.")
    return res
