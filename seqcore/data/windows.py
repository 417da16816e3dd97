"""Training examples as index gathers: windows over a series, or rows of an array.

No window is materialised until a batch asks for it: a batch of forecast windows
is one fancy-index gather from a strided view of the series
(``numpy.lib.stride_tricks.sliding_window_view``), so memory stays at the size of
the series whatever the number of windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass
class Split:
    """Row ranges of a chronological split of ``n`` rows: train [0, a), val [a, b), test [b, n)."""

    n: int
    train_end: int
    val_end: int


def chronological_split(n: int, val_fraction: float, test_fraction: float, *, test_rows: int | None = None) -> Split:
    """``test_rows`` (when given) is the test part's exact size instead of ``test_fraction`` of ``n``
    (a backtest fold tests on one block); the validation part stays ``val_fraction`` of ``n``."""
    n_test = int(round(n * test_fraction)) if test_rows is None else int(test_rows)
    n_val = int(round(n * val_fraction))
    return Split(n=n, train_end=n - n_test - n_val, val_end=n - n_test)


def window_starts(lo: int, hi: int, window: int, horizon: int) -> np.ndarray:
    """Forecast origins ``t`` whose targets ``[t, t + horizon)`` lie in rows ``[lo, hi)``
    and whose inputs ``[t - window, t)`` exist (they may reach back before ``lo``)."""
    first = max(lo, window)
    last = hi - horizon  # inclusive
    if last < first:
        return np.zeros(0, dtype=np.int64)
    return np.arange(first, last + 1, dtype=np.int64)


class Source:
    """Anything that can hand out batches by index: ``len(src)`` and ``src.gather(idx) -> (X, y)``."""

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def gather(self, idx: np.ndarray):  # pragma: no cover - interface
        raise NotImplementedError

    def inputs(self, idx: np.ndarray) -> np.ndarray:
        return self.gather(idx)[0]


class WindowSource(Source):
    """Forecast windows over one scaled series.

    inputs:  (N, F) float32, every input channel per time step (targets first, then features)
    targets: (N, T) float32, the scaled target columns
    starts:  (n,) forecast origins; example i has X = inputs[s-L:s] (L, F) and y = targets[s:s+H] (H, T)
    relative: when True the first T input channels and the targets are expressed relative to the last
              observed target value of the window (inputs[s-1, :T]): the model learns changes, which
              extrapolates trends that leave the training range. Undo with ``+ last_values(idx)``.
    """

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, starts: np.ndarray, window: int, horizon: int,
                 relative: bool = False):
        self.inputs_arr = np.ascontiguousarray(inputs, dtype=np.float32)
        self.targets_arr = np.ascontiguousarray(targets, dtype=np.float32)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.window = int(window)
        self.horizon = int(horizon)
        self.relative = bool(relative)
        self.n_targets = self.targets_arr.shape[1]
        # (N - L + 1, F, L) strided views: no copy
        self._xv = sliding_window_view(self.inputs_arr, self.window, axis=0)
        self._yv = sliding_window_view(self.targets_arr, self.horizon, axis=0)

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def last_values(self, idx) -> np.ndarray:
        """(b, 1, T) last observed target values before each origin (the reference of relative mode)."""
        return self.targets_arr[self.starts[idx] - 1][:, None, :]

    def gather(self, idx):
        s = self.starts[idx]
        x = np.array(self._xv[s - self.window].transpose(0, 2, 1))  # (b, L, F) copy
        y = np.array(self._yv[s].transpose(0, 2, 1))  # (b, H, T) copy
        if self.relative:
            ref = self.targets_arr[s - 1][:, None, :]
            x[:, :, : self.n_targets] -= ref
            y -= ref
        return x, y

    def inputs(self, idx):
        return self.gather(idx)[0]


class ArraySource(Source):
    """Examples that are rows of arrays: X (n, ...) and y (n, ...)."""

    def __init__(self, x: np.ndarray, y: np.ndarray | None):
        self.x = x
        self.y = y

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def gather(self, idx):
        return self.x[idx], (None if self.y is None else self.y[idx])

    def inputs(self, idx):
        return self.x[idx]


class ConcatSource(Source):
    """Two sources as one: examples ``0 .. len(a) - 1`` are ``a``'s, the rest ``b``'s (the final fit trains
    on the training and validation parts together this way, without copying windows)."""

    def __init__(self, a: Source, b: Source):
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a) + len(self.b)

    def _parts(self, idx):
        idx = np.asarray(idx)
        in_a = idx < len(self.a)
        order = np.concatenate([np.flatnonzero(in_a), np.flatnonzero(~in_a)])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))          # rows of the joined parts back in the order asked
        return idx[in_a], idx[~in_a] - len(self.a), back

    def gather(self, idx):
        ia, ib, back = self._parts(idx)
        (xa, ya), (xb, yb) = self.a.gather(ia), self.b.gather(ib)
        y = None if ya is None or yb is None else np.concatenate([ya, yb])[back]
        return np.concatenate([xa, xb])[back], y

    def inputs(self, idx):
        ia, ib, back = self._parts(idx)
        return np.concatenate([self.a.inputs(ia), self.b.inputs(ib)])[back]


def iterate_inputs(src: Source, batch_size: int):
    """Yield input batches of ``src`` in order (for prediction)."""
    n = len(src)
    for lo in range(0, n, batch_size):
        yield src.inputs(np.arange(lo, min(n, lo + batch_size)))


def pad_sequences(seqs: list[np.ndarray], max_steps: int, value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad a list of (len_i, F) arrays to (n, max_len, F); sequences longer than ``max_steps``
    keep their last ``max_steps`` steps. Returns (padded float32, lengths int64)."""
    if not seqs:
        return np.zeros((0, 1, 1), np.float32), np.zeros(0, np.int64)
    f = seqs[0].shape[1]
    lengths = np.array([min(len(s), max_steps) for s in seqs], dtype=np.int64)
    out = np.full((len(seqs), int(lengths.max()), f), value, dtype=np.float32)
    for i, s in enumerate(seqs):
        k = lengths[i]
        out[i, :k] = s[len(s) - k:]
    return out, lengths
