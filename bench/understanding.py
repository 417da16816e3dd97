"""Understanding benchmark: how often seqcore reads a file people bring the way a person would.

Runs :func:`seqcore.data.understand.understand` over the labelled corpus (every file named in
``tests/data/understanding/answers.json``: the public files in ``../shared/datasets`` beside the checkout
and the variants in ``tests/data/understanding``) and compares each field with the answer written down by
hand. Prints, per field, the share of files where it is right, the share of files with every field right,
and each wrong field (file, field, expected, got).

    python bench/understanding.py                    # the table and the wrong fields
    python bench/understanding.py --update-results   # also write the table into bench/RESULTS.md
    python bench/understanding.py --json out.json    # every file's fields, expected and got

Exit status 0 when every corpus file was found, else 1 (a missing shared folder is named).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.results_block import marked, replace_marked  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "understanding"
ANSWERS = CORPUS / "answers.json"
RESULTS = HERE / "RESULTS.md"
BEGIN, END = ("<!-- understanding:begin (written by bench/understanding.py --update-results) -->",
              "<!-- understanding:end -->")
FIELDS = ("header", "delimiter", "decimal", "task", "time", "time_part", "time_format", "frequency", "first_time",
          "targets", "label", "id", "order", "text", "layout")


def shared_datasets() -> Path | None:
    """``../shared/datasets`` beside the checkout (also found from a worktree nested one level deeper), or
    the folder named by the environment variable SEQSTUDIO_SHARED_DATASETS (or SEQSTUDIO_BENCH_DATA, the
    name bench/README.md gives for the forecasting benches)."""
    for name in ("SEQSTUDIO_SHARED_DATASETS", "SEQSTUDIO_BENCH_DATA"):
        env = os.environ.get(name)
        if env and Path(env).is_dir():
            return Path(env)
    for base in (ROOT.parent, *ROOT.parents[1:3]):
        p = base / "shared" / "datasets"
        if p.is_dir():
            return p
    return None


def resolve(rel: str) -> Path | None:
    """The corpus file named ``rel`` (relative to the repository root), or None when it is not there."""
    if rel.startswith("../shared/datasets/"):
        shared = shared_datasets()
        p = shared / rel.rsplit("/", 1)[1] if shared else None
    else:
        p = ROOT / rel
    return p if p is not None and p.is_file() else None


def load_answers() -> dict[str, dict]:
    return json.loads(ANSWERS.read_text(encoding="utf-8"))["files"]


def got_fields(path: Path) -> dict:
    """What seqcore understands of the file at ``path``, as the answer fields."""
    from seqcore.data.io import read_csv
    from seqcore.data.understand import understand

    table = read_csv(path.read_bytes(), name=path.name)
    u = understand(table)
    r = u.roles
    return {"header": u.header, "delimiter": u.delimiter, "decimal": u.decimal, "task": u.task,
            "time": r.get("time"), "time_part": r.get("time_part"), "time_format": u.time_format,
            "frequency": u.frequency, "first_time": u.first_time, "targets": list(r.get("targets") or []),
            "label": r.get("label"), "id": r.get("id"), "order": r.get("order"), "text": r.get("text"),
            "layout": r.get("layout"), "doubts": list(u.doubts)}


def _same_time(expected, got) -> bool:
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, (int, float)) or isinstance(got, (int, float)):
        try:
            return math.isclose(float(expected), float(got))
        except (TypeError, ValueError):
            return False
    import pandas as pd

    try:
        a, b = pd.Timestamp(expected), pd.Timestamp(got)
    except (TypeError, ValueError):
        return False
    # a time-zone-aware first time equals the same instant written without a zone (UTC)
    a = a.tz_convert("UTC").tz_localize(None) if a.tzinfo else a
    b = b.tz_convert("UTC").tz_localize(None) if b.tzinfo else b
    return a == b


def compare(expected: dict, got: dict) -> dict[str, bool]:
    """Field -> right? for one file."""
    out = {}
    for f in FIELDS:
        e, g = expected.get(f), got.get(f)
        if f == "first_time":
            out[f] = _same_time(e, g)
        elif f == "targets":
            out[f] = list(e or []) == list(g or [])
        else:
            out[f] = e == g
    return out


def run() -> dict:
    answers = load_answers()
    files, missing = {}, []
    t0 = time.perf_counter()
    for rel, exp in answers.items():
        path = resolve(rel)
        if path is None:
            missing.append(rel)
            continue
        try:
            got = got_fields(path)
        except Exception as err:  # noqa: BLE001 - a file that cannot be read counts as wrong everywhere
            got = {"error": f"{type(err).__name__}: {err}"}
        files[rel] = {"expected": exp, "got": got, "right": compare(exp, got)}
    n = len(files)
    per_field = {f: (sum(v["right"][f] for v in files.values()) / n if n else 0.0) for f in FIELDS}
    all_right = sum(all(v["right"].values()) for v in files.values())
    return {"command": "python " + " ".join(["bench/understanding.py", *sys.argv[1:]]),
            "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "seconds": time.perf_counter() - t0,
            "python": platform.python_version(), "n_files": n, "missing": missing, "per_field": per_field,
            "all_right": all_right, "all_right_share": all_right / n if n else 0.0, "files": files}


def wrong_rows(res: dict) -> list[tuple[str, str, object, object]]:
    rows = []
    for rel, v in res["files"].items():
        if "error" in v["got"]:
            rows.append((rel, "(reading)", "-", v["got"]["error"]))
            continue
        for f, ok in v["right"].items():
            if not ok:
                rows.append((rel, f, v["expected"].get(f), v["got"].get(f)))
    return rows


def results_markdown(res: dict) -> str:
    lines = [f"Command: `{res['command']}` ({res['when']}, Python {res['python']}, {res['seconds']:.1f} s). "
             f"{res['n_files']} files with hand-written answers.", "",
             "| field | right |", "|---|---:|"]
    for f in FIELDS:
        lines.append(f"| {f} | {res['per_field'][f]:.0%} |")
    lines.append(f"| **every field** | **{res['all_right_share']:.0%}** ({res['all_right']} of {res['n_files']}) |")
    by_file: dict[str, list[str]] = {}
    for rel, f, _, _ in wrong_rows(res):
        by_file.setdefault(Path(rel).name, []).append(f)
    if by_file:
        lines += ["", "Wrong: " + "; ".join(f"`{name}` ({', '.join(fs)})" for name, fs in by_file.items()) + "."]
    return "\n".join(lines)


def update_results(res: dict, path: Path = RESULTS) -> None:
    """Replace the understanding block of RESULTS.md (added at the end the first time)."""
    text = path.read_text() if path.exists() else ""
    block = marked(BEGIN, END, results_markdown(res))
    replaced = replace_marked(text, BEGIN, END, block)
    if replaced is not None:
        text = replaced
    else:
        text = text.rstrip("\n") + "\n\n## Understanding\n\nShare of the labelled corpus " \
            "(`tests/data/understanding/answers.json`) that `seqcore.data.understand` gets right, per field " \
            "and with every field right.\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update-results", action="store_true", help="write the table into bench/RESULTS.md")
    ap.add_argument("--json", help="write every file's fields (expected, got, right) to this file")
    args = ap.parse_args(argv)
    res = run()
    width = max(len(f) for f in FIELDS)
    print(f"{res['n_files']} files")
    for f in FIELDS:
        print(f"  {f:<{width}}  {res['per_field'][f]:6.1%}")
    print(f"  {'ALL FIELDS':<{width}}  {res['all_right_share']:6.1%}  ({res['all_right']} of {res['n_files']} files)")
    wrong = wrong_rows(res)
    if wrong:
        print("\nwrong:")
        for rel, f, e, g in wrong:
            print(f"  {rel}  {f}: expected {e!r}, got {g!r}")
    if res["missing"]:
        print("\nnot found (is ../shared/datasets beside the checkout?): " + ", ".join(res["missing"]))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    if args.update_results:
        update_results(res)
    return 1 if res["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
