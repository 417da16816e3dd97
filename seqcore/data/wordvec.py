"""Pretrained word vectors shipped with Sequence Studio (no downloads at run time).

``glove-50``: the 100,000 most frequent lowercase words of Stanford's GloVe 6B release, 50 numbers a
word (seqcore/assets/glove_6b_50d, PDDL 1.0; tools/make_word_vectors.py says how it was built). A text
model's embedding starts from them and is fine-tuned with the rest of the network: on a few thousand
sentences, vectors learned from scratch know only the words seen in training, and only from those
sentences; pretrained ones carry what the words mean from billions of words of English.

Loaded with ``np.load(allow_pickle=False)`` and a plain word list; nothing is unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from seqcore.config import WORD_VECTORS
from seqcore.errors import SpecError

ASSETS = Path(__file__).resolve().parents[1] / "assets"

#: name -> (folder, what the app shows)
TABLES = {
    "glove-50": ("glove_6b_50d", "GloVe (English, 100,000 words, 50 numbers a word)"),
}
CHOICES = WORD_VECTORS  # "auto", "none", then the table names above
#: "auto" uses AUTO_TABLE when at least AUTO_MIN_COVERAGE of the training tokens are in it (English
#: text); otherwise the vectors are learned from scratch (other languages, codes, ids).
AUTO_TABLE = "glove-50"
AUTO_MIN_COVERAGE = 0.6


@dataclass(frozen=True)
class Table:
    name: str
    words: tuple[str, ...]
    vectors: np.ndarray            # (n_words, dim) float16
    index: dict

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@lru_cache(maxsize=2)
def load(name: str) -> Table:
    """The shipped table ``name`` (cached per process)."""
    if name not in TABLES:
        raise SpecError(f"Unknown word vectors '{name}'. Choose one of: {', '.join(CHOICES)}.")
    folder = ASSETS / TABLES[name][0]
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    words = tuple((folder / "words.txt").read_text(encoding="utf-8").split("\n")[: vectors.shape[0]])
    if len(words) != vectors.shape[0]:
        raise SpecError(f"The word-vector table '{name}' is damaged ({len(words)} words, {vectors.shape[0]} vectors).",
                        hint="Reinstall Sequence Studio, or choose 'learn from scratch'.")
    return Table(name=name, words=words, vectors=vectors, index={w: i for i, w in enumerate(words)})


def dim(name: str) -> int:
    """Numbers a word in table ``name`` (without loading the words)."""
    if name not in TABLES:
        raise SpecError(f"Unknown word vectors '{name}'. Choose one of: {', '.join(CHOICES)}.")
    return int(np.load(ASSETS / TABLES[name][0] / "vectors.npy", mmap_mode="r", allow_pickle=False).shape[1])


def coverage(name: str, token_counts: dict[str, int]) -> float:
    """Share of the tokens (counted with repeats) that table ``name`` knows, 0..1."""
    table = load(name)
    total = sum(token_counts.values())
    return sum(n for w, n in token_counts.items() if w in table.index) / total if total else 0.0


def choose(choice: str, auto_coverage: float | None) -> str:
    """``choice`` ("auto" | "none" | a table name) -> the table a model starts from, or "none".
    ``auto_coverage``: the share of the training tokens that AUTO_TABLE knows (None: not measured)."""
    if choice not in CHOICES:
        raise SpecError(f"Unknown word vectors '{choice}'. Choose one of: {', '.join(CHOICES)}.")
    if choice == "auto":
        return AUTO_TABLE if auto_coverage is not None and auto_coverage >= AUTO_MIN_COVERAGE else "none"
    return choice


def resolve(choice: str, token_counts: dict[str, int]) -> tuple[str, float | None]:
    """``choice`` ("auto" | "none" | a table name) -> (table name or "none", coverage of the training tokens
    by the table looked at; None for "none")."""
    if choice not in CHOICES:
        raise SpecError(f"Unknown word vectors '{choice}'. Choose one of: {', '.join(CHOICES)}.")
    if choice == "none":
        return "none", None
    cov = coverage(AUTO_TABLE if choice == "auto" else choice, token_counts)
    return choose(choice, cov), cov


def init_matrix(name: str, words, seed: int = 0) -> tuple[np.ndarray, int]:
    """Starting embedding for a vocabulary: row 0 (padding) zeros, row 1 (unknown word) and words the table
    lacks drawn at the table's own scale, the rest copied from the table.

    ``words``: the vocabulary's words (word i has id i + 2). Returns ((len(words) + 2, dim) float32, found)."""
    table = load(name)
    rng = np.random.default_rng(seed)
    scale = float(np.std(table.vectors[:5000].astype(np.float32)))
    out = rng.normal(0.0, scale, size=(len(words) + 2, table.dim)).astype(np.float32)
    out[0] = 0.0
    found = 0
    for i, w in enumerate(words):
        j = table.index.get(w)
        if j is not None:
            out[i + 2] = table.vectors[j]
            found += 1
    return out, found
