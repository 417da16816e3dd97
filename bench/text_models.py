"""Text classification on movie reviews, judged on a held-out slice that no choice is tuned on.

The shared ``rt_polarity_subset.csv`` (4,948 review snippets, fresh/rotten) is cut once, by a hash of each
text, into a **held-out slice** (about 20%, :func:`split_rows`) and a **development pool**. Every choice of
model is made on the development pool alone: each candidate is trained on 80% of the pool and scored on the
other 20% (stratified, fixed). Only then is each candidate also trained on the whole pool and scored on the
held-out slice, and the table prints both, so a reader can check that the development ranking, not the
held-out one, picked the default. The bag-of-words baseline (the app's, ``seqcore.modeling.baselines``) is
scored the same way.

    python bench/text_models.py --seeds 42 1 2                 # every candidate, both stages
    python bench/text_models.py --only default --seeds 42      # one candidate

Candidates: ``default`` (what the app trains with no choices: since the text presets were picked here, a GRU
and 3 averaged networks), ``single`` (the default with one network), ``lstm`` (the default with an LSTM cell),
``lstm_single`` (one LSTM network: the default before). Also: ``gru`` (the cell set to GRU), ``members3`` (3
networks), ``gru_members3`` (both), the names the earlier measurements used.

``--update-results`` writes the table into ``bench/RESULTS.md`` between its own markers.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.understanding import shared_datasets  # noqa: E402

FILE = "rt_polarity_subset.csv"
HOLDOUT_MOD = 5   # a text is held out when crc32(text) % 5 == 0 (about 20%)


def split_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(development pool, held-out slice): a fixed cut by a hash of the text, independent of row order."""
    key = df["text"].astype(str).map(lambda s: zlib.crc32(s.encode("utf-8")) % HOLDOUT_MOD)
    return df[key != 0].reset_index(drop=True), df[key == 0].reset_index(drop=True)


def dev_split(pool: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """80/20 stratified split of the development pool (fixed seed): where candidates are compared."""
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(pool, test_size=0.2, random_state=seed, stratify=pool["label"])
    return tr.reset_index(drop=True), te.reset_index(drop=True)


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def candidate_spec(name: str, train_df: pd.DataFrame, seed: int):
    """The app's default RunSpec for this text table (roles and fitted options as the Data page makes them),
    changed by candidate ``name``."""
    from seqcore.config import default_run_spec
    from seqcore.data.defaults import default_data_spec
    from seqcore.data.io import read_csv

    table = read_csv(_csv(train_df), name="reviews.csv")
    data = default_data_spec(table, "text", text="text", label="label")
    spec = default_run_spec(data)
    spec = spec.replace(train=spec.train.replace(seed=seed))
    if name in ("gru", "gru_members3", "lstm", "lstm_single"):
        spec = spec.replace(model=spec.model.replace(cell="lstm" if name.startswith("lstm") else "gru"))
    if name in ("members3", "gru_members3"):
        spec = spec.replace(train=spec.train.replace(members=3))
    elif name in ("single", "lstm_single"):
        spec = spec.replace(train=spec.train.replace(members=1))
    return spec


def score(name: str, train_df: pd.DataFrame, test_df: pd.DataFrame, seed: int, work: Path) -> dict:
    from seqcore.pipeline import run_training

    spec = candidate_spec(name, train_df, seed)
    t0 = time.perf_counter()
    res = run_training(_csv(train_df), spec, work / f"{name}_{seed}_{len(test_df)}", test_data=_csv(test_df),
                       name="reviews.csv")
    m = res.metrics
    return {"accuracy": m["test"]["accuracy"], "bow": (m["baselines"].get("bag_of_words") or {}).get("accuracy"),
            "seconds": round(time.perf_counter() - t0, 1)}


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


CANDIDATES = ("default", "single", "lstm", "lstm_single")
EXTRA = ("gru", "members3", "gru_members3")
BEGIN, END = ("<!-- text_models:begin (written by bench/text_models.py --update-results) -->",
              "<!-- text_models:end -->")
HEADING = "## Text models on a held-out slice (bench/text_models.py)"


def table(rows, args, n_all: int, n_pool: int, n_dev_tr: int, n_dev_te: int, n_held: int) -> str:
    """The markdown table of every candidate's development and held-out accuracy."""
    import keras

    lines = [f"{n_all:,} review snippets (`{FILE}`): development pool {n_pool:,} (trained on {n_dev_tr:,}, "
             f"compared on {n_dev_te:,}), held-out slice {n_held:,} (crc32 of the text % {HOLDOUT_MOD} == 0). "
             f"Keras {keras.__version__}, backend {keras.backend.backend()}; 2 shared CPU cores.", "",
             "| candidate | development (mean ± sd) | bag-of-words (dev) | held-out (mean ± sd) | bag-of-words "
             "(held-out) | held-out − bag-of-words | per seed (held-out) | wall s (held-out run, mean) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, dev, bow_dev, hold, bow_hold, secs in rows:
        gap = f"{(statistics.mean(hold) - bow_hold) * 100:+.1f} points" if hold and bow_hold is not None else "-"
        lines.append(f"| {name} | {_fmt(dev)} | {bow_dev:.3f} | {_fmt(hold)} | "
                     f"{'-' if bow_hold is None else f'{bow_hold:.3f}'} | {gap} | "
                     f"{' / '.join(f'{h:.3f}' for h in hold) or '-'} | "
                     f"{'-' if not secs else f'{statistics.mean(secs):.0f}'} |")
    lines += ["", "Development: trained on 80% of the pool, scored on the other 20% (where a choice is made). "
              "Held-out: trained on the whole pool, scored on the slice no choice was made on. Each run is the "
              "app's `run_training` with the default text settings (the final fit included), changed only as the "
              "candidate says; bag-of-words is the app's own baseline on the same split.",
              f"Seeds {' '.join(map(str, args.seeds))}. Reproduce: `python bench/text_models.py --seeds "
              f"{' '.join(map(str, args.seeds))}" + (f" --only {' '.join(args.only)}" if args.only else "") + "`."]
    return "\n".join(lines)


def update_results(block: str) -> None:
    from bench.results_block import write_block

    write_block(Path(__file__).resolve().parent / "RESULTS.md", BEGIN, END, block, HEADING)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[42])
    ap.add_argument("--only", nargs="*", choices=CANDIDATES + EXTRA)
    ap.add_argument("--update-results", action="store_true", help="write the table into bench/RESULTS.md")
    ap.add_argument("--skip-holdout", action="store_true", help="development stage only")
    args = ap.parse_args(argv)
    df = pd.read_csv(shared_datasets() / FILE)
    pool, held = split_rows(df)
    dev_tr, dev_te = dev_split(pool)
    print(f"{len(df)} texts: development pool {len(pool)} (train {len(dev_tr)} / compare {len(dev_te)}), "
          f"held-out slice {len(held)}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CANDIDATES:
            dev, hold, secs, bow_dev, bow_hold = [], [], [], None, None
            for seed in args.seeds:
                r = score(name, dev_tr, dev_te, seed, Path(tmp))
                dev.append(r["accuracy"])
                bow_dev = r["bow"]
                print(f"[{name}] seed {seed}: development {r['accuracy']:.3f} (bag-of-words {r['bow']:.3f}), "
                      f"{r['seconds']} s", flush=True)
                if not args.skip_holdout:
                    h = score(name, pool, held, seed, Path(tmp))
                    hold.append(h["accuracy"])
                    bow_hold = h["bow"]
                    secs.append(h["seconds"])
                    print(f"[{name}] seed {seed}: held-out {h['accuracy']:.3f} (bag-of-words {h['bow']:.3f}), "
                          f"{h['seconds']} s", flush=True)
            if dev:
                rows.append((name, dev, bow_dev, hold, bow_hold, secs))
    block = table(rows, args, len(df), len(pool), len(dev_tr), len(dev_te), len(held))
    print()
    print(block)
    if args.update_results:
        update_results(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
