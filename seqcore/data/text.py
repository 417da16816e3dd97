"""A small, JSON-serialisable word tokeniser and vocabulary (built on the training split only)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

PAD, OOV = 0, 1
# Version 1 (bundles made before pretrained word vectors): a word keeps its apostrophes ("doesn't").
# Version 2 splits English clitics the way GloVe's tokenizer did ("doesn't" -> "does" "n't", "it's" ->
# "it" "'s"), so contractions find their pretrained vectors; other quotes are punctuation marks.
_TOKENS = {
    1: re.compile(r"[\w']+|[^\w\s]", re.UNICODE),
    2: re.compile(r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+|[^\w\s]", re.UNICODE | re.IGNORECASE),
}
TOKENIZER = 2  # what new vocabularies use


def token_pattern(version: int = TOKENIZER) -> re.Pattern:
    """The compiled token pattern of tokenizer ``version`` (the standalone script copies it)."""
    return _TOKENS[version]


def tokenize(text: str, lowercase: bool = True, version: int = TOKENIZER) -> list[str]:
    """Words and punctuation marks of ``text`` (see _TOKENS for the versions)."""
    text = "" if text is None else str(text)
    if lowercase:
        text = text.lower()
    return _TOKENS[version].findall(text)


@dataclass
class Vocabulary:
    """Word -> id. Ids 0 (padding) and 1 (unknown word) are reserved."""

    words: list[str]           # words[i] has id i + 2
    lowercase: bool = True
    max_len: int = 64
    tokenizer: int = TOKENIZER

    @classmethod
    def build(cls, texts, max_vocab: int, max_len: int, lowercase: bool = True) -> "Vocabulary":
        return cls.from_counts(count_tokens(texts, lowercase), max_vocab, max_len, lowercase)

    @classmethod
    def from_counts(cls, counts: dict, max_vocab: int, max_len: int, lowercase: bool = True) -> "Vocabulary":
        """The ``max_vocab - 2`` most frequent tokens of ``counts`` (from :func:`count_tokens` with the same
        ``lowercase``): frequency, then alphabetical, so the order is deterministic."""
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        words = [w for w, _ in ranked[: max(0, max_vocab - 2)]]
        return cls(words=words, lowercase=lowercase, max_len=max_len)

    def tokens(self, text) -> list[str]:
        return tokenize(text, self.lowercase, self.tokenizer)

    @property
    def size(self) -> int:
        return len(self.words) + 2

    def encode(self, texts) -> np.ndarray:
        """(n,) texts -> (n, max_len) int32 ids, right-padded with 0, truncated to the first max_len tokens."""
        index = {w: i + 2 for i, w in enumerate(self.words)}
        out = np.zeros((len(texts), self.max_len), dtype=np.int32)
        for r, t in enumerate(texts):
            ids = [index.get(tok, OOV) for tok in self.tokens(t)[: self.max_len]]
            if ids:
                out[r, : len(ids)] = ids
        return out

    def coverage(self, texts) -> float:
        """Share of tokens in ``texts`` that the vocabulary knows (0..1)."""
        known = set(self.words)
        total = hit = 0
        for t in texts:
            toks = self.tokens(t)
            total += len(toks)
            hit += sum(1 for w in toks if w in known)
        return hit / total if total else 0.0

    def to_dict(self) -> dict:
        return {"words": list(self.words), "lowercase": self.lowercase, "max_len": self.max_len,
                "tokenizer": self.tokenizer}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabulary":
        version = int(d.get("tokenizer", 1))  # bundles from before version 2 carry no version
        if version not in _TOKENS:
            raise ValueError(f"unknown tokenizer version {version}")
        return cls(words=[str(w) for w in d["words"]], lowercase=bool(d["lowercase"]), max_len=int(d["max_len"]),
                   tokenizer=version)


def count_tokens(texts, lowercase: bool = True, version: int = TOKENIZER) -> Counter:
    """Token -> how often it occurs in ``texts``."""
    counts: Counter = Counter()
    for t in texts:
        counts.update(tokenize(t, lowercase, version))
    return counts
