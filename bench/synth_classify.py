"""Generated sequence-classification sets for the classification suite of ``bench/accuracy.py``.

Each set is deterministic from its seed and written as two wide CSV files (``label`` first, then ``v0``,
``v1``, ... one column per step; ``BasicMotions``-style long files for several channels), the layout the
app reads from the shared UCR sets. What each one stresses:

* ``synth_long``: 1,000 steps per sequence, the class shown only by a short burst (about 6% of the
  sequence) at a random place: stresses **length** (a recurrent layer must carry it over many steps).
* ``synth_classes``: 20 classes of 12 training sequences each, 150 steps, classes that differ by the
  shape and order of two motifs with random timing: stresses **class count** with few examples per class.
* ``synth_large``: 2,000 sequences (1,600 to train, 400 to test) of 80 steps and 3 channels, four classes
  told apart by how the channels move together: stresses **size** (training time per epoch).

Usage::

    python bench/synth_classify.py OUT_DIR          # writes every set's *_TRAIN.csv / *_TEST.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: name -> (what it stresses, one line)
STRESSES = {
    "synth_long": "length: 1,000 steps, the class shown only by a short burst at a random place",
    "synth_classes": "class count: 20 classes, 12 training sequences each, 150 steps",
    "synth_large": "size: 2,000 sequences (1,600 train / 400 test) of 80 steps and 3 channels",
}


def _bump(t: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def synth_long(rng: np.random.Generator, n_train: int = 60, n_test: int = 120, length: int = 1000):
    """Three classes: a burst of a sine (class 0), a square wave (class 1) or a rising ramp (class 2), 60
    steps long, somewhere in 1,000 steps of a slow random walk plus noise."""
    t = np.arange(length)

    def one(c: int) -> np.ndarray:
        walk = np.cumsum(rng.normal(0, 0.03, length))
        x = walk - walk.mean() + rng.normal(0, 0.25, length)
        start = int(rng.integers(50, length - 110))
        s = np.arange(60)
        burst = (np.sin(2 * np.pi * s / 15), np.sign(np.sin(2 * np.pi * s / 15)), s / 30.0 - 1.0)[c]
        x[start:start + 60] += 1.5 * burst
        return x

    return _make(rng, 3, n_train, n_test, one)


def synth_classes(rng: np.random.Generator, per_class: int = 12, per_class_test: int = 12, length: int = 150):
    """20 classes: an ordered pair of two of five motifs (bump, dip, sine burst, step up, spike pair), with
    random timing and amplitude, in noise."""
    t = np.arange(length, dtype=float)
    motifs = [
        lambda c: _bump(t, c, 5.0),
        lambda c: -_bump(t, c, 5.0),
        lambda c: np.sin(2 * np.pi * (t - c) / 8.0) * _bump(t, c, 8.0),
        lambda c: 1.0 / (1.0 + np.exp(-(t - c) / 2.0)) - 1.0 / (1.0 + np.exp(-(t - c - 20) / 2.0)),
        lambda c: _bump(t, c - 4, 1.5) + _bump(t, c + 4, 1.5),
    ]
    pairs = [(a, b) for a in range(5) for b in range(5) if a != b][:20]

    def one(c: int) -> np.ndarray:
        a, b = pairs[c]
        first = rng.uniform(25, 60)
        second = first + rng.uniform(40, 70)
        x = rng.uniform(0.8, 1.2) * motifs[a](first) + rng.uniform(0.8, 1.2) * motifs[b](second)
        return x + rng.normal(0, 0.15, length)

    return _make(rng, 20, 20 * per_class, 20 * per_class_test, one, balanced=True)


def synth_large(rng: np.random.Generator, n_train: int = 1600, n_test: int = 400, length: int = 80):
    """Four classes of three channels: a shared oscillation that the channels follow in phase, in reverse,
    with a lag, or not at all (independent noise of the same size)."""
    t = np.arange(length, dtype=float)

    def one(c: int) -> np.ndarray:
        freq = rng.uniform(1 / 20, 1 / 10)
        phase = rng.uniform(0, 2 * np.pi)
        base = np.sin(2 * np.pi * freq * t + phase)
        lag = np.sin(2 * np.pi * freq * (t - 4) + phase)
        chans = {0: (base, base, base), 1: (base, -base, base), 2: (base, lag, np.roll(lag, 4)),
                 3: (base, np.sin(2 * np.pi * rng.uniform(1 / 20, 1 / 10) * t + rng.uniform(0, 6.3)),
                     np.sin(2 * np.pi * rng.uniform(1 / 20, 1 / 10) * t + rng.uniform(0, 6.3)))}[c]
        return np.stack(chans, axis=1) + rng.normal(0, 0.3, (length, 3))

    return _make(rng, 4, n_train, n_test, one, balanced=True)


def _make(rng, n_classes: int, n_train: int, n_test: int, one, balanced: bool = True):
    def part(n: int):
        labels = np.arange(n) % n_classes if balanced else rng.integers(0, n_classes, n)
        labels = rng.permutation(labels)
        return [one(int(c)) for c in labels], labels

    return part(n_train), part(n_test)


GENERATORS = {"synth_long": synth_long, "synth_classes": synth_classes, "synth_large": synth_large}


def _frame(seqs: list[np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    names = [f"c{int(c)}" for c in labels]
    if seqs[0].ndim == 1:   # wide: one row per sequence
        df = pd.DataFrame(np.round(np.stack(seqs), 5), columns=[f"v{i}" for i in range(len(seqs[0]))])
        df.insert(0, "label", names)
        return df
    rows = []   # long: one row per step, like BasicMotions
    for i, (s, name) in enumerate(zip(seqs, names)):
        block = pd.DataFrame(np.round(s, 5), columns=[f"dim_{j}" for j in range(s.shape[1])])
        block.insert(0, "t", np.arange(len(s)))
        block.insert(0, "case_id", i)
        block["label"] = name
        rows.append(block)
    return pd.concat(rows, ignore_index=True)


def write(name: str, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``name``'s training and test files into ``folder``; returns their paths."""
    rng = np.random.default_rng([seed, sorted(GENERATORS).index(name)])
    (tr, ytr), (te, yte) = GENERATORS[name](rng)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"{name}_TRAIN.csv", folder / f"{name}_TEST.csv"
    _frame(tr, ytr).to_csv(paths[0], index=False)
    _frame(te, yte).to_csv(paths[1], index=False)
    return paths


def write_all(folder: Path, seed: int = 0) -> dict[str, tuple[Path, Path]]:
    return {name: write(name, folder, seed) for name in GENERATORS}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out/synth")
    for name, (a, b) in write_all(out).items():
        print(f"{name}: {a} {b}  ({STRESSES[name]})")
