"""Augmentation of sequence-classification training batches (``TrainSpec.augment``), for small training sets.

Each training batch is perturbed afresh, the way Um et al. (2017) and Le Guennec et al. (2016) do for time
series; prediction always sees the sequences as they are:

- jitter: small Gaussian noise on every value (:data:`JITTER_SD` of the scaled values' spread);
- scaling: every sequence multiplied by its own random factor around 1 (:data:`SCALE_SD`);
- window slicing: with probability :data:`SLICE_P`, a random crop of :data:`SLICE_SHARE` of the sequence's real
  length, stretched back (linear interpolation) to its full length.

Padding (``PAD_VALUE``, varying lengths) is left as it is, so every sequence keeps its length. The random
numbers come from the run's seed, the epoch and the batch (:func:`batch_rng`): a rerun sees the same batches.
NumPy only (no Keras import).
"""

from __future__ import annotations

import numpy as np

JITTER_SD = 0.03
SCALE_SD = 0.1
SLICE_SHARE = 0.9
SLICE_P = 0.5


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The random numbers of one training batch: the same for the same (seed, epoch, batch)."""
    return np.random.default_rng([int(seed) & 0x7FFFFFFF, 0xA06, int(epoch), int(batch)])


def augment_batch(x: np.ndarray, rng: np.random.Generator, pad_value: float | None = None) -> np.ndarray:
    """A perturbed copy of ``x`` (batch, steps, features) float; steps equal to ``pad_value`` in every feature
    are padding and stay so. Other shapes and integer inputs (text) come back unchanged."""
    x = np.asarray(x)
    if x.ndim != 3 or not np.issubdtype(x.dtype, np.floating) or x.shape[0] == 0:
        return x
    b, steps, _ = x.shape
    real = np.ones((b, steps), bool) if pad_value is None else ~np.all(x == pad_value, axis=-1)
    lengths = real.sum(axis=1)
    out = np.array(x, dtype=np.float32, copy=True)
    do_slice = rng.random(b) < SLICE_P
    for i in range(b):
        n = int(lengths[i])
        if n >= 4 and do_slice[i]:
            out[i, :n] = _slice_stretch(out[i, :n], rng)
    factors = rng.normal(1.0, SCALE_SD, size=(b, 1, 1)).astype(np.float32)
    noise = rng.normal(0.0, JITTER_SD, size=out.shape).astype(np.float32)
    out = out * factors + noise
    if not real.all():
        out[~real] = pad_value
    return out


def _slice_stretch(seq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, F) -> (n, F): a random crop of SLICE_SHARE of the n steps, linearly stretched back to n."""
    n = len(seq)
    width = max(2, int(round(SLICE_SHARE * n)))
    start = int(rng.integers(0, n - width + 1))
    pos = np.linspace(start, start + width - 1, n)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo)[:, None].astype(np.float32)
    return seq[lo] * (1.0 - frac) + seq[hi] * frac
