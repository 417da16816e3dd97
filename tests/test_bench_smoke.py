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
import os
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
    assert len(race["load_avg_start"]) == 3 and len(race["load_avg_end"]) == 3
    for eng in race["engines"].values():
        assert len(eng["rounds"]) == data["rounds"] == race["rounds"]
        for rnd in eng["rounds"]:   # every epoch's wall and CPU seconds, and the load before and after
            assert len(rnd["epoch_s"]) == data["epochs"] and len(rnd["cpu_s"]) == data["epochs"]
            assert rnd["median_cpu_s"] > 0 and len(rnd["load_avg"]) == 2
        assert eng["median_epoch_s"] > 0 and eng["windows_per_s"] > 0 and eng["median_cpu_s"] > 0
        assert eng["info"]["windows"] == data["rows"] - 48
    assert race["engines"]["ours (default)"]["info"]["points_written"] >= data["epochs"]  # progress reached the store
    assert race["ratios"]["fig1_ours_over_plain_fit"] > 0 and race["ratios"]["fig1_ratio_of_medians"] > 0
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


@pytest.mark.slow
def test_accuracy_bench_quick_smoke(tmp_path):
    """bench/accuracy.py --quick on two small forecasting sets: trained through the app's path, the suite
    table printed with every column, statistical baselines beside ours, the goal lines and the wall time."""
    from bench.accuracy_suite import HEADER, STATS

    before = RESULTS.read_text()
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "accuracy.py"), "--quick", "--only", "airline_h36",
                          "sunspots", "--out", str(tmp_path), "--update-results"], capture_output=True, text=True,
                         timeout=300, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "--quick is a smoke run: bench/RESULTS.md was left as it is." in res.stdout
    assert RESULTS.read_text() == before
    data = json.loads((tmp_path / "accuracy_quick_airline_h36_sunspots.json").read_text())
    assert data["quick"] and data["seeds"] == [42] and data["backtest"] == 0 and data["wall_seconds"] > 0
    rows = {r["key"]: r for r in data["rows"]}
    assert set(rows) == {"airline_h36", "sunspots"}
    for key, row in rows.items():
        s = row["suite"]
        assert s["seeds"] == 1 and s["mase_mean"] > 0 and s["mase_sd"] is None
        assert s["seasonal_naive"] > 0 and set(s["stats"]) <= set(STATS) and s["stats"]
        assert s["best_stat_mase"] == min(s["stats"].values())
        assert s["ratio"] == pytest.approx(s["mase_mean"] / s["best_stat_mase"])
        assert s["beats_seasonal_naive"] == (s["mase_mean"] < s["seasonal_naive"])
        assert row["spec"]["train"]["epochs"] <= 3 and row["spec"]["data"]["season"] == row["season"]
    h36 = rows["airline_h36"]
    assert h36["horizon"] == 36 and h36["rows"] == 144 and h36["spec"]["data"]["val_fraction"] == 0.0
    # AutoARIMA on the published protocol: 0.0415 in the literature
    assert 0.03 < h36["suite"]["stats_mape"]["auto_arima"] < 0.06
    assert rows["sunspots"]["season"] == 11          # the app's defaults: the cycle found in the values
    out = res.stdout
    # the suite table (the time-to-a-good-model table also starts with "set", then "score")
    (header,) = [h for _, h in tables(out) if h[0] == "set" and h[1] != "score"]
    assert header == HEADER
    body = out[out.index("| set |"):]
    assert "| Airline, one 36-month forecast | 144 / 12 / 36 |" in body and "| Sunspots (yearly) |" in body
    assert "Beats the seasonal naive" in out and "Within 5% of the best statistical baseline" in out
    assert "interval coverage" in out and "Airline, published protocol" in out
    assert re.search(r"Total wall time \d+ s\. Reproduce: `python bench/accuracy\.py --only airline_h36 sunspots "
                     r"--quick`", out)


@pytest.mark.slow
def test_serve_load_smoke(tmp_path):
    """bench/serve_load.py --smoke: a tiny model trained, the real server started on loopback, 1 and 4 concurrent
    clients answered with no error and nothing dropped, the table printed; --update-results writes its block (into
    a copy of RESULTS.md here) and keeps every other line, and a second run replaces the block."""
    from bench.serve_load import BEGIN, END, HEADER

    results = tmp_path / "RESULTS.md"
    results.write_text(RESULTS.read_text())
    before = RESULTS.read_text()
    out = tmp_path / "serve_load.json"
    cmd = [sys.executable, str(ROOT / "bench" / "serve_load.py"), "--smoke", "--json", str(out)]
    res = subprocess.run(cmd + ["--update-results"], capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "--smoke is a smoke run: bench/RESULTS.md was left as it is." in res.stdout
    assert RESULTS.read_text() == before
    data = json.loads(out.read_text())
    assert [r["clients"] for r in data["rows"]] == [1, 4]
    for r in data["rows"]:
        assert r["errors"] == 0 and r["dropped"] == 0 and r["answered"] == r["requests"] == 20
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"] and r["requests_per_s"] > 0
    assert data["meta"]["answer_rows"] == 12 and data["meta"]["backend"] in ("jax", "tensorflow")
    (header,) = [h for _, h in tables(res.stdout)]
    assert header == HEADER
    # --update-results (not --smoke): the block goes into the file named by --results, twice = replaced once
    for _ in range(2):
        res = subprocess.run(cmd[:-3] + ["--clients", "2", "--requests", "5", "--epochs", "1", "--json", str(out),
                                         "--update-results", "--results", str(results)],
                             capture_output=True, text=True, timeout=300, cwd=str(ROOT))
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    text = results.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1

    def outside(t: str) -> str:   # every line but the block's (which is added, or replaced when recorded)
        if BEGIN not in t:
            return t.rstrip()
        return (t[:t.index(BEGIN)] + t[t.index(END) + len(END):]).rstrip()

    assert outside(text) == outside(before)
    assert [h for _, h in tables(block(text, BEGIN, END))] == [HEADER]
    assert "Reproduce: `python bench/serve_load.py --clients 2 --requests 5 --epochs 1 --json" in text


def test_accuracy_bench_names_the_missing_datasets_folder(tmp_path):
    env = dict(os.environ, SEQSTUDIO_SHARED_DATASETS=str(tmp_path))
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "accuracy.py"), "--quick", "--only", "elec_equip",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=str(ROOT), env=env)
    assert res.returncode == 1 and "training" not in res.stdout
    missing = tmp_path / "elec_equip.csv"
    assert res.stderr.strip().splitlines()[-1] == (f"error: 1 data file(s) not found, e.g. {missing}. The "
                                  "forecasting suite reads ../shared/datasets beside the checkout; set "
                                  "SEQSTUDIO_SHARED_DATASETS to that folder elsewhere, or leave those sets out "
                                  "with --only.")


def test_accuracy_suite_prefers_the_runs_metrics_and_summarises_the_seeds():
    """metrics.json's statistical baselines, coverage, backtest and picked base are used when present; the bench
    computes the statistical baselines itself only when they are absent (once per split: cached)."""
    from bench.accuracy_suite import HEADER, suite_fields, suite_markdown, summarise_suite

    def metrics(mase, cov95, picked):
        return {"test": {"mase": mase, "mape": 0.04},
                "baselines": {"naive": {"mase": 1.3}, "seasonal_naive": {"mase": 1.0, "mape": 0.13},
                              "auto_ets": {"mase": 0.8, "mape": 0.05}, "auto_arima": {"mase": 0.7, "mape": 0.042}},
                "baseline_notes": ["AutoTheta was skipped: too slow."],
                "intervals": {"method": "conformal", "levels": [80, 95], "coverage": {"80": 0.8, "95": cov95}},
                "backtest": {"folds": 3, "model": {"mase": {"mean": 0.75, "sd": 0.1}},
                             "baselines": {"auto_arima": {"mase": {"mean": 0.72, "sd": 0.05}},
                                           "seasonal_naive": {"mase": {"mean": 1.1, "sd": 0.2}}},
                             "per_fold": []},
                "model_choice": {"picked": picked, "validation": {}}}

    calls = []

    class Prep:  # would compute the statistical models: must not be used when metrics.json has them
        @property
        def extra(self):
            calls.append(1)
            raise AssertionError("computed although metrics.json has them")

    runs = [{"suite": suite_fields(metrics(0.72, 0.93, "deseason"), Prep())},
            {"suite": suite_fields(dict(metrics(0.74, 0.97, "auto_arima"), backtest=None,   # int keys read too
                                        intervals={"coverage": {80: 0.8, 95: 0.97}}), Prep())}]
    assert not calls and runs[0]["suite"]["stats_source"] == "metrics.json"
    s = summarise_suite(runs)
    assert s["mase_mean"] == pytest.approx(0.73) and s["mase_sd"] == pytest.approx(0.0141421, rel=1e-4)
    assert s["best_stat"] == "auto_arima" and s["ratio"] == pytest.approx(0.73 / 0.7)
    assert s["beats_seasonal_naive"] and s["within_5pct"]          # 0.73 <= 1.05 * 0.70 = 0.735
    assert s["coverage"] == {"80": pytest.approx(0.8), "95": pytest.approx(0.95)}
    assert s["backtest"]["folds"] == 3 and s["backtest"]["best_baseline"] == ("auto_arima", 0.72)
    assert s["picked"] == {"deseason": 1, "auto_arima": 1} and s["stat_notes"] == ["AutoTheta was skipped: too slow."]
    row = {"key": "x", "title": "Set X", "suite_role": "set", "rows": 100, "season": 12, "horizon": 12, "suite": s}
    md = suite_markdown([row])
    (header,) = [h for _, h in tables(md)]
    assert header == HEADER
    line = next(ln for ln in md.splitlines() if ln.startswith("| Set X |"))
    assert cells(line) == ("Set X", "100 / 12 / 12", "0.730 ± 0.014 (2)", "1.000", "0.800", "0.700", "-",
                           "AutoARIMA 0.700", "1.04", "yes", "yes", "0.800", "0.950",
                           "0.750 ± 0.100 (3 folds); best baseline AutoARIMA 0.720", "deseason ×1, auto_arima ×1")
    assert "on 1 of 1 sets" in md and "= 100% (goal >= 70%: met)" in md
    assert "Mean 95% interval coverage over 1 sets: 0.950 (lowest Set X 0.950" in md and ": met)" in md
    assert "AutoTheta was skipped: too slow." in md

    # without the keys: computed from the prepared data once, then taken from the cache for the next seed
    cache = {}
    bare = {"test": {"mase": 1.2, "mape": 0.1}, "baselines": {"seasonal_naive": {"mase": 1.0, "mape": 0.1}}}
    prep = airline_prep()
    first = suite_fields(bare, prep, cache=cache, cache_key="k", budget_s=30)
    assert first["stats_source"] == "bench" and set(first["stats"]) == {"auto_ets", "auto_arima", "auto_theta"}
    again = suite_fields(bare, Prep(), cache=cache, cache_key="k")
    assert again["stats"] == first["stats"] and not calls
    assert first["coverage"] is None and first["backtest"] is None and first["picked"] is None
    s2 = summarise_suite([{"suite": first, "backtest_note": "The series is too short for 3 folds."}])
    assert s2["mase_sd"] is None and not s2["beats_seasonal_naive"] and s2["coverage"] is None
    md2 = suite_markdown([dict(row, suite=s2)])
    assert "- Set X: no backtest: The series is too short for 3 folds." in md2
    md3 = suite_markdown([dict(row, key="airline_h36", suite_role="protocol", suite=s2)])   # no set counted
    assert "- No set with a seasonal naive or statistical baseline in this run (the Airline 36-month row is " \
           "judged below)." in md3 and "Beats the seasonal naive" not in md3
    assert "MAPE 0.100 over 1 seed (goal <= 0.05: **missed**); AutoARIMA 0." in md3
    assert "not reported (the runs' metrics.json has no intervals.coverage)" in md2
    assert "computed by the bench" in md2


def test_accuracy_bench_runs_without_the_backtest_the_app_refuses(tmp_path, monkeypatch, capsys):
    """Where the app refuses a backtest (a UserError), the first seed runs without one and the table says why;
    the backtest is asked for on the first seed only."""
    import bench.accuracy as acc
    from bench.accuracy_suite import suite_fields
    from seqcore.errors import DataError

    calls = []

    def fake_run_case(case, preset, work, seed=42, *, backtest=0, **kw):
        calls.append((seed, backtest))
        if backtest:
            raise DataError("The series is too short for 3 backtest folds.", hint="Use fewer folds.")
        m = {"test": {"mase": 0.9, "mape": 0.1}, "baselines": {"seasonal_naive": {"mase": 1.0, "mape": 0.2},
                                                                "auto_ets": {"mase": 0.95, "mape": 0.1}}}
        return {"key": case.key, "title": case.title, "metric": "mase", "seed": seed, "ours": 0.9,
                "baselines": {"seasonal_naive": 1.0}, "best_baseline": "seasonal_naive", "best_baseline_value": 1.0,
                "published": {}, "target": case.target_text, "scored": True, "met": True, "train_seconds": 1.0,
                "wall_seconds": 1.0, "epochs_run": 1, "best_epoch": 1, "protocol": case.protocol, "window": 24,
                "horizon": 12, "season": 12, "rows": 257, "log_transform": False, "mae_vs_naive": 0.5,
                "suite": suite_fields(m)}

    monkeypatch.setattr(acc, "run_case", fake_run_case)
    monkeypatch.setattr(acc, "backtest_supported", lambda: True)
    assert acc.main(["--only", "elec_equip", "--seeds", "42", "1", "--out", str(tmp_path)]) == 0
    assert calls == [(42, 3), (42, 0), (1, 0)]
    out = capsys.readouterr().out
    assert "[elec_equip] no backtest: The series is too short for 3 backtest folds." in out
    assert "- Electrical equipment (monthly): no backtest: The series is too short for 3 backtest folds." in out
    assert "| Electrical equipment (monthly) | 257 / 12 / 12 | 0.900 ± 0.000 (2) | 1.000 | 0.950 |" in out


def airline_prep():
    """Airline prepared as the suite's rolling case (the app's defaults, last 36 months held out)."""
    from bench.accuracy import CASES, run_spec
    from seqcore.pipeline import prepare_data

    case = CASES["airline"]
    _, prep, _ = prepare_data(case.read(), run_spec(case), name=case.train_file)
    return prep


def test_races_alternate_order_and_ratios_pair_engines_round_by_round():
    from speed import ratios, round_order

    names = ["ours (default)", "plain keras fit", "pytorch", "pytorch 1 thread"]
    assert round_order(names, 0) == names and round_order(names, 1) == names[::-1] and round_order(names, 2) == names

    def eng(*wps):
        return {"windows_per_s": sorted(wps)[len(wps) // 2], "rounds": [{"windows_per_s": w} for w in wps]}

    race = {"engines": {"ours (default)": eng(100.0, 80.0, 120.0), "plain keras fit": eng(100.0, 100.0, 100.0),
                        "pytorch": eng(90.0, 40.0, 100.0), "pytorch 1 thread": eng(50.0, 50.0, 50.0)}}
    rt = ratios(race)
    assert rt["fig1_ours_over_plain_fit"] == 1.0 and rt["fig1_ratio_of_medians"] == 1.0
    # the best PyTorch is the engine with the higher median over rounds; the ratio pairs engines by round
    assert rt["fig2_pytorch_engine"] == "pytorch"
    assert rt["fig2_ours_over_pytorch"] == 1.2          # median of 100/90, 80/40, 120/100
    assert rt["fig2_ratio_of_medians"] == round(100 / 90, 3)
    assert rt["fig2_by_engine"] == {"pytorch": 1.2, "pytorch 1 thread": 2.0}


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
    rnd = {"epoch_s": [2.0, 1.0, 1.0], "cpu_s": [2.0, 1.5, 1.5], "median_epoch_s": 1.0, "median_cpu_s": 1.5,
           "windows_per_s": 1000.0, "load_avg": [0.1, 0.2]}
    engine = {"info": {"backend": "jax", "jit": True, "windows": 1000}, "config": {"kind": "seqcore"},
              "rounds": [rnd, rnd], "median_epoch_s": 1.0, "median_cpu_s": 1.5, "windows_per_s": 1000.0}
    torch = dict(engine, info={"backend": "torch 2", "threads": 1, "windows": 1000}, config={"kind": "torch"})
    race = {"title": "W1 univariate LSTM 64, batch 32 (1,000 windows)", "workload": "w1", "batch": 32, "rounds": 2,
            "epochs": 3, "load_avg_start": [0.1, 0.1, 0.1], "load_avg_end": [0.2, 0.1, 0.1],
            "engines": {"ours (default)": engine, "plain keras fit": engine, "pytorch": torch, "pytorch 1 thread": torch},
            "ratios": {"fig1_ours_over_plain_fit": 1.0, "fig1_ratio_of_medians": 1.0, "fig2_ratio_of_medians": 1.0,
                       "fig2_ours_over_pytorch": 1.0, "fig2_pytorch_engine": "pytorch",
                       "fig2_by_engine": {"pytorch": 1.0, "pytorch 1 thread": 1.0}}}
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
    for name in ("speed", "accuracy", "accuracy-classify", "sweeps", "understanding", "intervals", "panel",
                 "forecast_base", "text_models", "serve_load"):
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
    assert "--leads" in parser_flags
    for cmd in commands:   # every flag a command names is one speed.py takes
        assert set(re.findall(r"--[a-z-]+", cmd)) <= parser_flags, cmd


def fake_accuracy_row(case, seeds) -> dict:
    """A summarised bench/accuracy.py row for ``case`` (values made up); suite cases carry "suite", the
    classification suite's "classify"."""
    from bench.accuracy_suite import classify_fields, summarise_classify, summarise_suite, suite_fields

    row = {"key": case.key, "title": case.title, "metric": case.metric, "ours": 0.5, "baselines": {"naive": 0.6},
           "best_baseline": "naive", "best_baseline_value": 0.6, "published": {}, "target": case.target_text,
           "met": True, "seeds": {str(s): 0.5 for s in seeds}, "train_seconds": 1.0, "wall_seconds": 1.0,
           "epochs_run": 1, "best_epoch": 1, "protocol": case.protocol}
    from bench.time_to_good import summarise as summarise_ttg, time_to_good

    good = time_to_good([{"epoch": 1, "seconds": 2.0, "val_loss": 0.1, "val_accuracy": 0.9}], {"naive": 0.5},
                        score="val_accuracy" if case.task != "forecast" else "val_loss",
                        higher_is_better=case.task != "forecast", run_seconds=3.0)
    row["time_to_good"] = summarise_ttg([{"seed": s, "time_to_good": good} for s in seeds])
    if case.suite_role in ("set", "protocol"):
        metrics = {"test": {"mase": 0.9, "mape": 0.05}, "baselines": {"seasonal_naive": {"mase": 1.0, "mape": 0.06},
                                                                      "auto_ets": {"mase": 0.8, "mape": 0.04}}}
        row.update(suite_role=case.suite_role, horizon=1, window=24, season=12, rows=100,
                   suite=summarise_suite([{"suite": suite_fields(metrics)} for _ in seeds]))
    if case.suite_role == "classify":
        metrics = {"baselines": {"majority_class": {"accuracy": 0.5}, "nearest_neighbour": {"accuracy": 0.8},
                                 "nearest_neighbour_dtw": {"accuracy": 0.9}},
                   "baseline_info": {"nearest_neighbour_dtw": {"window": 0.05}}}
        runs = [dict(row, seed=s, classify=classify_fields(metrics)) for s in seeds]
        row.update(suite_role="classify", classify=summarise_classify(runs))
    return row


def recorded_command(begin: str, end: str) -> list[str] | None:
    """The arguments of the accuracy.py command a block of RESULTS.md names (None: no such block yet)."""
    text = RESULTS.read_text()
    if begin not in text:
        return None
    recorded = block(text, begin, end)
    command = re.search(r"Reproduce: `python bench/accuracy\.py([^`]*)`", recorded)
    assert command, "the accuracy block does not name its command"
    args = shlex.split(command.group(1))
    assert "--quick" not in args, "a --quick smoke run is never recorded"
    return args


@pytest.mark.parametrize("which", ["forecast", "classify"])
def test_accuracy_table_has_the_columns_accuracy_py_prints_for_its_command(which):
    """Each accuracy block holds the tables accuracy.py prints for the command it names (after a change to the
    tables, rerun that command with --update-results): the forecasting block and the classification one."""
    from bench.accuracy import BEGIN, CLASSIFY_BEGIN, CLASSIFY_END, END, CASES, GROUPS, block_of, table_markdown

    begin, end = (BEGIN, END) if which == "forecast" else (CLASSIFY_BEGIN, CLASSIFY_END)
    args = recorded_command(begin, end)
    if args is None:
        pytest.skip(f"bench/RESULTS.md has no {which} accuracy block yet")

    def values(flag):
        if flag not in args:
            return None
        rest = args[args.index(flag) + 1:]
        return rest[:next((i for i, a in enumerate(rest) if a.startswith("--")), len(rest))]

    seeds = [int(a) for a in values("--seeds") or [42]]
    preset = (values("--preset") or ["balanced"])[0]
    keys = [k for o in values("--only") or list(CASES) for k in GROUPS.get(o, [o]) if block_of(k) == which]
    rows = [fake_accuracy_row(CASES[k], seeds) for k in keys]
    printed = [h for _, h in tables(table_markdown(rows, preset, seeds))]
    assert [h for _, h in tables(block(RESULTS.read_text(), begin, end))] == printed, \
        f"the {which} accuracy block of bench/RESULTS.md is out of date: rerun `python bench/accuracy.py " \
        f"{' '.join(args)}` with --update-results"


def test_accuracy_blocks_are_replaced_one_at_a_time(tmp_path):
    """--only forecast rewrites the forecasting block and keeps the classification one; --only classify
    writes its own block (after the forecasting one the first time) and keeps the forecasting one."""
    from bench.accuracy import BEGIN, CLASSIFY_BEGIN, CLASSIFY_END, END, update_classify_section, \
        update_results_section

    path = tmp_path / "RESULTS.md"
    path.write_text(f"# R\n\n## Accuracy\n\n{BEGIN}\nold forecast\n{END}\n\n### What the figures mean\n\nhand\n")
    assert update_classify_section("classify one", path)
    text = path.read_text()
    assert text.index(END) < text.index(CLASSIFY_BEGIN) < text.index("classify one") < text.index(CLASSIFY_END) \
        < text.index("### What the figures mean")
    assert update_results_section("forecast two", path)
    assert "old forecast" not in path.read_text() and "classify one" in path.read_text()
    assert update_classify_section("classify three", path)
    text = path.read_text()
    assert "forecast two" in text and "classify three" in text and "classify one" not in text
    assert text.count(CLASSIFY_BEGIN) == 1 and text.endswith("hand\n")


def test_classification_suite_table_and_goal_lines():
    """The classification table: mean ± sd, each seed, both 1-NN baselines (the DTW window), and the goal
    lines of issue 14 worked out by code."""
    from bench.accuracy import CASES, CLASSIFY, table_markdown

    assert {"gunpoint", "coffee", "pigcvp", "basicmotions"} <= set(CLASSIFY) and len(CLASSIFY) >= 7
    rows = []
    for key, ours in (("gunpoint", [0.99, 0.98, 0.99]), ("coffee", [0.9, 1.0, 0.95]), ("pigcvp", [0.2, 0.25, 0.2]),
                      ("basicmotions", [1.0, 1.0, 1.0])):
        row = fake_accuracy_row(CASES[key], [42, 1, 2])
        from bench.accuracy_suite import summarise_classify
        runs = [dict(row, seed=s, ours=v, classify=row["classify"]) for s, v in zip([42, 1, 2], ours)]
        for r in runs:
            r["classify"] = {k: r["classify"][k] for k in ("euclid", "majority", "dtw", "dtw_window", "dtw_source",
                                                           "dtw_note", "shape")}
        row["classify"] = summarise_classify(runs)
        rows.append(row)
    md = table_markdown(rows, "balanced", [42, 1, 2])
    assert "| GunPoint | - / - / - / - / - | 0.987 ± 0.006 (3) | 0.990 / 0.980 / 0.990 | 0.800 | 0.900 (5%) |" in md
    assert "- Beats 1-NN Euclidean (mean over seeds) on 3 of 4 sets (goal: every set); not on PigCVP (**missed**)." in md
    assert "- Beats 1-NN DTW on 3 of 4 sets with a DTW figure (goal: most, more than half); not on PigCVP (met)." in md
    assert "- GunPoint >= 0.98: 0.987 ± 0.006 over 3 seed(s) (met)." in md
    assert "- Coffee >= 0.96: 0.950 ± 0.050 over 3 seed(s) (**missed**)." in md
    assert "- PigCVP beats both 1-NN baselines: 0.217 ± 0.029 over 3 seed(s) (**missed**)." in md
    assert "- BasicMotions = 1.0: 1.000 ± 0.000 over 3 seed(s) (met)." in md
    assert "- Seed spread: sd <= 2 points on 2 of 4 sets with several seeds; above on Coffee (5.0), PigCVP (2.9) " \
           "(**missed**)." in md
    assert "- Wall time of one run (first seed) <= 60 s on 4 of 4 sets (goal for the balanced preset) (met)." in md


def test_generated_sets_are_deterministic_and_read_by_the_app(tmp_path):
    from bench.accuracy import CASES, run_spec
    from bench.synth_classify import GENERATORS, STRESSES, write
    from seqcore.pipeline import prepare_data

    assert set(GENERATORS) == set(STRESSES)
    a = write("synth_classes", tmp_path / "a")
    b = write("synth_classes", tmp_path / "b")
    assert a[0].read_bytes() == b[0].read_bytes() and a[1].read_bytes() == b[1].read_bytes()
    from dataclasses import replace
    for name, steps, channels, classes in (("synth_classes", 150, 1, 20), ("synth_large", 80, 3, 4)):
        write(name, tmp_path / "a")
        case = replace(CASES[name], data_dir=tmp_path / "a")
        _, prep, _ = prepare_data(case.read(), run_spec(case), test_data=case.read("test"), name=case.train_file)
        assert prep.state["steps"] == steps and prep.state["n_features"] == channels
        assert len(prep.state["class_names"]) == classes


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


def test_text_models_holds_out_a_fixed_slice_and_names_its_candidates():
    import pandas as pd

    import text_models as tm
    from helpers import SAMPLES
    from seqcore.config import default_run_spec

    df = pd.read_csv(SAMPLES / tm.FILE)
    pool, held = tm.split_rows(df)
    pool2, held2 = tm.split_rows(df.sample(frac=1.0, random_state=3))     # row order plays no part
    assert set(held["text"]) == set(held2["text"]) and not set(held["text"]) & set(pool["text"])
    assert 0.15 < len(held) / len(df) < 0.25
    small = df.head(200)
    cells = {name: tm.candidate_spec(name, small, 7) for name in tm.CANDIDATES + tm.EXTRA}
    assert all(spec.train.seed == 7 for spec in cells.values())
    assert cells["default"].model.cell == "gru" and cells["default"].train.members == 0     # 3 averaged, automatic
    assert cells["single"].model.cell == "gru" and cells["single"].train.members == 1
    assert cells["lstm"].model.cell == "lstm" and cells["lstm"].train.members == 0
    assert cells["lstm_single"].model.cell == "lstm" and cells["lstm_single"].train.members == 1
    assert cells["gru"].model.cell == "gru" and cells["members3"].train.members == 3
    assert cells["gru_members3"].model.cell == "gru" and cells["gru_members3"].train.members == 3
    default = default_run_spec(cells["default"].data)
    assert cells["default"].model == default.model and cells["default"].train == default.train.replace(seed=7)
    args = type("A", (), {"seeds": [42, 1], "only": None})()
    out = tm.table([("default", [0.75, 0.76], 0.74, [0.77, 0.78], 0.72, [30.0, 31.0])], args, 10, 8, 6, 2, 2)
    assert "| default | 0.755 ± 0.007 | 0.740 | 0.775 ± 0.007 | 0.720 | +5.5 points | 0.770 / 0.780 | 30 |" in out
    assert "Reproduce: `python bench/text_models.py --seeds 42 1`" in out


def test_write_block_replaces_its_own_block_or_appends_a_section(tmp_path):
    from bench.results_block import write_block

    f = tmp_path / "RESULTS.md"
    f.write_text("# Results\n\nhand-written text\n")
    write_block(f, "<!-- x:begin -->", "<!-- x:end -->", "| a |\n|---|", "## X")
    assert f.read_text() == "# Results\n\nhand-written text\n\n## X\n\n<!-- x:begin -->\n| a |\n|---|\n<!-- x:end -->\n"
    f.write_text(f.read_text() + "\nmore notes\n")
    write_block(f, "<!-- x:begin -->", "<!-- x:end -->", "| b |", "## X")
    text = f.read_text()
    assert "| b |" in text and "| a |" not in text and text.count("## X") == 1 and text.endswith("\nmore notes\n")
