"""The speed benchmark still runs, and bench/RESULTS.md holds only what the bench scripts print.

``test_speed_bench_smoke`` runs the smallest piece (``python bench/speed.py --smoke``) end to end: a tiny
W1 race (the app's training path against plain ``model.fit``, each in its own process, epochs
interleaved), W3 parse/validate/window at 20k rows, and the live-chart cost. Numbers are not judged
here (this machine is shared and noisy); only that every piece ran and reported sane values.

The RESULTS.md tests check that every table in it stands inside a block one of the scripts writes
(``--update-results``) and has exactly the columns that script's formatter prints, so the file and the
code cannot drift apart.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
sys.path.insert(0, str(ROOT / "bench"))


@pytest.mark.slow
def test_speed_bench_smoke(tmp_path):
    out = tmp_path / "speed.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "speed.py"), "--smoke", "--out", str(out)],
                         capture_output=True, text=True, timeout=240, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["mode"] == "smoke"
    race = data["races"][0]
    assert set(race["engines"]) == {"ours (default)", "plain keras fit"}
    for eng in race["engines"].values():
        assert len(eng["epoch_s"]) == data["epochs"]
        assert eng["median_epoch_s"] > 0 and eng["windows_per_s"] > 0
        assert eng["info"]["windows"] == data["rows"] - 48
    assert race["engines"]["ours (default)"]["info"]["points_written"] >= data["epochs"]  # progress reached the store
    assert race["ratios"]["fig1_ours_over_plain_fit"] > 0 and race["ratios"]["fig1_ratio_of_medians"] > 0
    for eng in race["engines"].values():   # CPU seconds of each engine process, per epoch
        assert len(eng["cpu_s"]) == data["epochs"] and eng["median_cpu_s"] > 0
    scale = data["scale"]
    assert scale["rows"] == 20_000 and not scale["validation_errors"]
    assert scale["windows"]["train"] > 10_000
    assert scale["parse_validate_window_s"] > 0 and scale["parse_validate_window_peak_rss_mb"] > 0
    assert {c["points"] for c in data["chart"]} == {500, 5000}
    assert all(c["ms_per_redraw"] > 0 and c["bytes"] > 1000 for c in data["chart"])
    assert {c["read"] for c in data["chart"]} == {"live redraw", "first draw", "whole history as Progress objects"}
    assert "Figure 1" in res.stdout and "Figure 5" in res.stdout


@pytest.mark.slow
def test_multistep_bench_smoke(tmp_path):
    """bench/multistep.py --quick: both models trained, both scored on the same origins, the table printed."""
    out = tmp_path / "multistep.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "multistep.py"), "--quick", "--json", str(out)],
                         capture_output=True, text=True, timeout=240, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert run["dataset"] == "Airline" and run["origins"] > 10
    assert all(run["mae"][k] > 0 for k in ("recursive", "direct", "naive"))
    assert len(run["per_step_mae"]["recursive"]) == len(run["per_step_mae"]["direct"]) == data["args"]["steps"] == 6
    (line,) = data["summary"]
    assert line["ratio"] == pytest.approx(run["mae"]["recursive"] / run["mae"]["direct"])
    assert "| Airline | " in res.stdout and "ratio rec/direct" in res.stdout and "geometric mean" in res.stdout


def test_race_order_keeps_figure_1_engines_back_to_back():
    from speed import PAIR, paired_ratio, round_order

    names = ["ours (default)", "plain keras fit", "pytorch 1 thread", "ours tf"]
    orders = [round_order(names, r) for r in range(6)]
    for r, order in enumerate(orders):
        assert sorted(order) == sorted(names)
        assert order[:2] == (list(PAIR) if r % 2 == 0 else list(PAIR[::-1]))   # adjacent, swapping places
    # so each Figure 1 engine starts a round (after a third engine) every other round, else follows the other
    assert all(o[-1] not in PAIR for o in orders)
    assert round_order(["a", "b", "c"], 1) == ["b", "c", "a"]      # no pair: plain rotation
    assert paired_ratio([9.0, 2.0, 4.0, 3.0], [9.0, 1.0, 4.0, 2.0]) == 1.5   # epoch 1 left out
    assert paired_ratio([1.0], [1.0]) is None


# ----------------------------------------------------------------------------- RESULTS.md against the code


def tables(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """(line number, header cells) of every markdown table in ``text``; asserts each row has as many
    cells as its header."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()):
            header = cells(line)
            found.append((i, header))
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                assert len(cells(row)) == len(header), f"row of the table at line {i + 1}: {row}"
    return found


def cells(line: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in line.strip().strip("|").split("|"))


def block(text: str, begin: str, end: str) -> str:
    assert text.count(begin) == 1 and text.count(end) == 1, begin
    return text[text.index(begin):text.index(end)]


def fake_speed_result() -> dict:
    """A speed.json with every part, as ``speed.main`` writes it (values made up)."""
    engine = {"info": {"backend": "jax", "jit": True, "windows": 1000}, "config": {"kind": "seqcore"},
              "epoch_s": [2.0, 1.0, 1.0], "median_epoch_s": 1.0, "median_cpu_s": 1.5, "windows_per_s": 1000.0}
    torch = dict(engine, info={"backend": "torch 2", "threads": 1, "windows": 1000}, config={"kind": "torch"})
    race = {"title": "W1 univariate LSTM 64, batch 32 (1,000 windows)", "workload": "w1", "batch": 32,
            "engines": {"ours (default)": engine, "plain keras fit": engine, "pytorch 1 thread": torch},
            "ratios": {"fig1_ours_over_plain_fit": 1.0, "fig1_ratio_of_medians": 1.0, "fig1_cpu": 1.0,
                       "fig2_ours_over_pytorch": 1.0, "fig2_pytorch_engine": "pytorch 1 thread"}}
    runs = [1.0, 1.0, 1.0]
    return {"command": "python bench/speed.py", "mode": "full", "rows": 1048, "epochs": 3, "seconds": 10.0,
            "started": "2026-01-01 00:00:00", "races": [race],
            "machine": {"cpu": "cpu", "cores": 2, "memory_gb": 1.0, "python": "3", "tensorflow": "2", "keras": "3",
                        "jax": "0", "torch": "2", "numpy": "2", "pandas": "3", "default_backend": "jax",
                        "load_avg_start": (0.0, 0.0, 0.0), "load_avg_end": (0.0, 0.0, 0.0)},
            "worker": {"batch_points": 1, "windows_per_s": 1.0, "epoch_s": [1.0], "windows": 1,
                       "plain_windows_per_s": 1.0, "ratio": 1.0},
            "latency": {"hint_gap_s": 4.0, "cold_s": 1.0, **{f"{k}_s": runs for k in
                                                            ("warm", "warm_hint", "warm_hint_ready", "warm_rerun")},
                        **{f"{k}_median_s": 1.0 for k in ("warm", "warm_hint", "warm_hint_ready", "warm_rerun")},
                        **{f"{k}_total_s": runs for k in ("warm", "warm_hint", "warm_hint_ready", "warm_rerun")},
                        "warm_hint_prewarm": ["done"]},
            "scale": {"rows": 1, "columns": 8, "csv_mb": 1.0, "windows": {"train": 1}, "backend": "jax",
                      "stages": {"parse": {"seconds": 1.0, "peak_rss_mb": 1.0}},
                      "parse_validate_window_s": 1.0, "parse_validate_window_peak_rss_mb": 1.0, "train_batches": 0},
            "chart": [{"points": 500, "read": "live redraw", "mode": "every point", "ms_per_redraw": 1.0,
                       "cpu_ms_per_redraw": 1.0, "bytes": 1}]}


def test_every_results_table_is_output_of_a_bench_script():
    text = RESULTS.read_text()
    spans = []
    for name in ("speed", "accuracy", "sweeps", "understanding", "intervals"):
        for m in re.finditer(rf"<!-- {name}:begin .*?-->(.*?)<!-- {name}:end -->", text, re.S):
            spans.append((text[:m.start()].count("\n"), text[:m.end()].count("\n")))
    for line, header in tables(text):
        assert any(a <= line <= b for a, b in spans), \
            f"RESULTS.md line {line + 1}: a table no bench script wrote ({' | '.join(header)})"


def test_speed_tables_have_the_columns_speed_py_prints():
    from speed import BEGIN, END, results_markdown

    printed = {h for _, h in tables(results_markdown(fake_speed_result()))}
    assert len(printed) == 4                                  # races, latency, W3 stages, chart
    recorded = [h for _, h in tables(block(RESULTS.read_text(), BEGIN, END))]
    assert recorded, "the speed block holds no table"
    for header in recorded:
        assert header in printed, f"speed block: {header} is not a table speed.py prints"


def test_speed_section_names_its_command():
    from speed import BEGIN

    text = RESULTS.read_text()
    speed = text[text.index("## Speed"):text.index(BEGIN)] + block(text, BEGIN, "<!-- speed:end -->")
    commands = re.findall(r"`(python bench/speed\.py[^`]*)`", speed)
    assert commands
    parser_flags = set(re.findall(r'add_argument\("(--[a-z-]+)"', (ROOT / "bench" / "speed.py").read_text()))
    assert "--no-leads" in parser_flags
    for cmd in commands:   # every flag a command names is one speed.py takes
        assert set(re.findall(r"--[a-z-]+", cmd)) <= parser_flags, cmd


def test_accuracy_table_has_the_columns_accuracy_py_prints_for_its_command():
    from bench.accuracy import BEGIN, END, CASES, table_markdown

    recorded = block(RESULTS.read_text(), BEGIN, END)
    command = re.search(r"Reproduce: `python bench/accuracy\.py([^`]*)`", recorded)
    assert command, "the accuracy block does not name its command"
    args = shlex.split(command.group(1))
    seeds = [int(a) for a in args[args.index("--seeds") + 1:]] if "--seeds" in args else [42]
    preset = args[args.index("--preset") + 1] if "--preset" in args else "balanced"
    case = next(iter(CASES.values()))
    row = {"title": case.title, "metric": case.metric, "ours": 0.5, "baselines": {"naive": 0.6},
           "best_baseline": "naive", "best_baseline_value": 0.6, "published": {}, "target": case.target_text,
           "met": True, "seeds": {str(s): 0.5 for s in seeds}, "train_seconds": 1.0, "wall_seconds": 1.0,
           "epochs_run": 1, "best_epoch": 1, "protocol": case.protocol}
    printed = [h for _, h in tables(table_markdown([row], preset, seeds))]
    assert [h for _, h in tables(recorded)] == printed


def test_sweep_tables_have_the_columns_sweep_bench_prints(tmp_path):
    from bench.sweep_bench import BEGIN, END, HEADING, TABLE_HEADER, to_markdown, update_results

    result = {"label": "local", "slots": 1, "wall_s": 1.0, "wall_per_trial_s": 1.0, "first_trial_started_s": 1.0,
              "mean_run_s": 1.0, "mean_fit_s": 1.0, "mean_overhead_s": 0.0, "n_finished": 8}
    meta = {"when": "now", "cores": 2, "load": "0.0", "rows": 600, "epochs": 5, "command": "python bench/sweep_bench.py"}
    md = to_markdown([result], meta, title=False)
    assert [h for _, h in tables(md)] == [cells(TABLE_HEADER)] and not md.startswith("#")
    text = RESULTS.read_text()
    section = text[text.index(HEADING):]
    assert "python bench/sweep_bench.py" in section
    if BEGIN in section:
        assert all(h == cells(TABLE_HEADER) for _, h in tables(block(section, BEGIN, END)))
    # --update-results: the section's body first, then only what stands between the markers
    path = tmp_path / "RESULTS.md"
    path.write_text(f"# R\n\n{HEADING}\n\nnothing recorded yet\n\n## Later\n\nkeep me\n")
    update_results(md, path)
    first = path.read_text()
    assert "nothing recorded yet" not in first and TABLE_HEADER in first and "keep me" in first
    path.write_text(first.replace(END, END + "\n\nWritten by hand."))
    update_results(md.replace("| local |", "| again |"), path)
    again = path.read_text()
    assert "| again |" in again and "| local |" not in again and "Written by hand." in again
    assert again.count(BEGIN) == 1 and again.index(HEADING) < again.index(BEGIN) < again.index("## Later")


def test_intervals_table_has_the_columns_intervals_py_prints():
    """The recorded interval table is what bench/intervals.py's formatter prints for the same methods."""
    import intervals as bench_intervals

    text = RESULTS.read_text()
    m = re.search(re.escape(bench_intervals.BEGIN) + "(.*?)" + re.escape(bench_intervals.END), text, re.S)
    assert m, "bench/intervals.py --update-results has written its block"
    (_, header), = tables(m.group(1))
    labels = [h[: -len(" 80 / 95 (width)")] for h in header[4:]]
    assert labels[0] == "conformal (default)"
    fake = [{"dataset": "x", "horizon": 1, "space": "original", "val_windows": 3,
             "methods": {k: {"80": 0.8, "95": 0.95, "width95": 1.0} for k in labels}}]
    (_, printed), = tables(bench_intervals.table(fake, [42]))
    assert printed == header
    assert re.search(r"Reproduce: `python bench/intervals\.py[^`]*`", m.group(1))
