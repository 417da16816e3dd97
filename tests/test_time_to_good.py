"""bench/accuracy.py's "time to a good model": seconds from Start until the main fit first beats the best
baseline on validation (bench/time_to_good.py), carried over the seeds and printed in the tables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import time_to_good as ttg  # noqa: E402
from seqcore.modeling.progress import Progress  # noqa: E402


def epochs(scores, key="val_loss", step=2.0, start=5.0):
    return [{"epoch": i + 1, "seconds": start + step * i, key: v} for i, v in enumerate(scores)]


def test_first_epoch_beating_the_baseline():
    # lower is better: strictly below
    hit = ttg.first_good(epochs([0.9, 0.5, 0.4, 0.3]), 0.5, "val_loss", higher_is_better=False)
    assert hit == {"epoch": 3, "seconds": 9.0, "score": 0.4}
    # higher is better: strictly above; a missing / NaN score is skipped
    ep = epochs([0.5, None, float("nan"), 0.8, 0.9], key="val_accuracy")
    assert ttg.first_good(ep, 0.75, "val_accuracy", higher_is_better=True)["epoch"] == 4
    assert ttg.first_good(ep, 0.8, "val_accuracy", higher_is_better=True)["epoch"] == 5
    # a perfect baseline is matched by a perfect epoch
    assert ttg.first_good(epochs([0.9, 1.0], key="val_accuracy"), 1.0, "val_accuracy", True)["epoch"] == 2


def test_not_reached_no_baseline_and_switched_off():
    t = ttg.time_to_good(epochs([0.9, 0.8]), {"naive": 0.5, "auto_ets": None}, score="val_loss",
                         higher_is_better=False, run_seconds=30.0)
    assert t["seconds"] is None and t["epoch"] is None and t["baseline"] == "naive" and t["baseline_val"] == 0.5
    assert t["epochs_seen"] == 2 and t["first_epoch_seconds"] == 5.0 and t["run_seconds"] == 30.0
    assert "not reached in 2 epochs" in ttg.line("x", t)
    assert ttg.time_to_good(epochs([0.9]), {}, score="val_loss", higher_is_better=False,
                            run_seconds=1.0)["baseline"] is None
    off = ttg.time_to_good(epochs([0.1]), {"naive": 0.5}, score="val_loss", higher_is_better=False, run_seconds=3.0,
                           off="network switched off")
    assert off["seconds"] is None and "n/a (network switched off)" in ttg.line("x", off)
    # the best baseline is the lowest loss / the highest accuracy
    t = ttg.time_to_good(epochs([0.3, 0.2]), {"naive": 0.5, "auto_arima": 0.25, "mean": 2.0}, score="val_loss",
                         higher_is_better=False, run_seconds=9.0)
    assert (t["baseline"], t["epoch"], t["seconds"]) == ("auto_arima", 2, 7.0)
    t = ttg.time_to_good(epochs([0.6, 0.9], key="val_accuracy"), {"majority_class": 0.5, "nearest_neighbour": 0.7},
                         score="val_accuracy", higher_is_better=True, run_seconds=9.0)
    assert (t["baseline"], t["epoch"]) == ("nearest_neighbour", 2)


def test_epoch_clock_keeps_only_the_main_fits_epochs():
    import time

    clock = ttg.EpochClock(time.perf_counter())
    for kind in ("choose", "batch", "epoch", "final", "member", "backtest", "epoch"):
        clock(Progress(kind=kind, epoch=len(clock.epochs) + 1, epochs=5, val_loss=0.5,
                       metrics={"val_accuracy": 0.7, "member": 1}))
    assert [e["epoch"] for e in clock.epochs] == [1, 2]
    assert clock.epochs[0]["val_accuracy"] == 0.7 and clock.epochs[0]["val_loss"] == 0.5
    assert 0 <= clock.epochs[0]["seconds"] <= clock.epochs[1]["seconds"]


def test_losses_are_the_keras_ones():
    err = np.array([[0.5, -2.0], [0.0, 1.0]])
    assert ttg.loss_values("mae", err) == pytest.approx(0.875)
    assert ttg.loss_values("mse", err) == pytest.approx((0.25 + 4 + 0 + 1) / 4)
    assert ttg.loss_values("huber", err) == pytest.approx((0.125 + 1.5 + 0 + 0.5) / 4)


def test_forecast_base_alone_is_the_networks_zero_output():
    """The network's zero output is its base's forecast: for the network alone (relative), the naive one; the
    baselines are scored in the network's units (checked against Keras in the commit that added this)."""
    from bench.accuracy import CASES, run_spec
    from seqcore.data.io import read_csv
    from seqcore.pipeline import prepare_data

    case = CASES["airline"]
    spec = run_spec(case)
    _, prep, _ = prepare_data(case.read(), spec, name=case.train_file)
    df = read_csv(case.read(), name=case.train_file).df
    vals, _ = ttg.forecast_val_baselines(df, spec, prep, "none", stat_budget_s=10)
    assert spec.data.relative and vals["base_alone"] == pytest.approx(vals["naive"], rel=1e-5)
    y = prep.val.gather(np.arange(len(prep.val)))[1]
    assert vals["base_alone"] == pytest.approx(ttg.loss_values(spec.train.loss, y))
    assert {"naive", "seasonal_naive", "mean"} <= set(vals)


def fake_ttg(seconds, epoch, seed):
    return {"seconds": seconds, "epoch": epoch, "score_then": 0.4 if seconds else None, "score": "val_loss",
            "baseline": "seasonal_naive", "baseline_val": 0.5, "baselines_val": {"seasonal_naive": 0.5, "naive": 0.7},
            "run_seconds": 40.0 + seed, "epochs_seen": 10, "first_epoch_seconds": 12.0, "epochs": [],
            "off": None, "note": None}


def test_summarised_over_seeds_and_printed(tmp_path, monkeypatch, capsys):
    """The figure per run is printed, the median over the seeds (a seed that never beat it counts as never)
    goes into the JSON and a "Time to a good model" table in the block."""
    import bench.accuracy as acc
    from bench.accuracy_suite import suite_fields

    figures = {42: (20.5, 3), 1: (30.0, 5), 2: (None, None)}

    def fake_run_case(case, preset, work, seed=42, *, backtest=0, **kw):
        m = {"test": {"mase": 0.9, "mape": 0.1}, "baselines": {"seasonal_naive": {"mase": 1.0, "mape": 0.2}}}
        return {"key": case.key, "title": case.title, "metric": "mase", "seed": seed, "ours": 0.9,
                "baselines": {"seasonal_naive": 1.0}, "best_baseline": "seasonal_naive", "best_baseline_value": 1.0,
                "published": {}, "target": case.target_text, "scored": True, "met": True, "train_seconds": 1.0,
                "wall_seconds": 1.0, "epochs_run": 1, "best_epoch": 1, "protocol": case.protocol, "window": 24,
                "horizon": 12, "season": 12, "rows": 257, "log_transform": False, "mae_vs_naive": 0.5,
                "suite": suite_fields(m), "time_to_good": fake_ttg(*figures[seed], seed)}

    monkeypatch.setattr(acc, "run_case", fake_run_case)
    assert acc.main(["--only", "elec_equip", "--seeds", "42", "1", "2", "--backtest", "0", "--out",
                     str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[elec_equip] time to a good model: 20.5 s (epoch 3, val_loss 0.400); best baseline on validation " \
           "seasonal naive 0.500 (val_loss); run 82 s" in out
    assert "[elec_equip] time to a good model: not reached in 10 epochs" in out
    assert "### Time to a good model" in out
    header = "| " + " | ".join(ttg.HEADER) + " |"
    assert header in out
    assert "| Electrical equipment (monthly) | val_loss | seasonal naive 0.500 | 30.0 (20.5-30.0) | 4 | 2 of 3 | " \
           "12.0 | 42 |" in out
    data = json.loads(next(tmp_path.glob("accuracy*.json")).read_text())
    t = data["rows"][0]["time_to_good"]
    assert t["median_seconds"] == 30.0 and t["reached"] == 2 and t["seeds"] == 3
    assert data["rows"][0]["time_to_good_per_seed"]["2"]["seconds"] is None
    md = next(tmp_path.glob("accuracy*.md")).read_text()
    assert header in md

    # two seeds of three never beat it: the median is "not reached"; no validation part: n/a
    s = ttg.summarise([{"seed": 1, "time_to_good": fake_ttg(10.0, 2, 1)},
                       {"seed": 2, "time_to_good": fake_ttg(None, None, 2)},
                       {"seed": 3, "time_to_good": fake_ttg(None, None, 3)}])
    assert s["median_seconds"] is None and s["reached"] == 1
    assert ttg.row_cells({"title": "T", "time_to_good": s})[3] == "not reached"
    off = ttg.summarise([{"seed": 1, "time_to_good": dict(fake_ttg(None, None, 1), off="no validation part")}])
    assert ttg.row_cells({"title": "T", "time_to_good": off})[3] == "n/a (no validation part)"
    assert ttg.markdown([{"title": "T"}]) == ""


@pytest.mark.slow
def test_real_run_records_positive_ordered_seconds(tmp_path):
    """One small real run (Airline, 144 rows, quick preset, 2 epochs): every epoch of the main fit is stamped
    with seconds since Start, positive and increasing, within the run's own seconds."""
    from bench.accuracy import CASES, run_case

    row = run_case(CASES["airline"], "quick", tmp_path, 42, max_epochs=2, stat_budget_s=5.0)
    t = row["time_to_good"]
    secs = [e["seconds"] for e in t["epochs"]]
    assert len(secs) == row["epochs_run"] >= 1
    assert all(s > 0 for s in secs) and secs == sorted(secs) and secs[-1] <= t["run_seconds"] + 0.1
    assert all(e["val_loss"] is not None for e in t["epochs"]) and t["score"] == "val_loss"
    assert t["baseline"] in t["baselines_val"] and t["baseline_val"] == min(
        v for v in t["baselines_val"].values() if v is not None)
    assert t["first_epoch_seconds"] == secs[0]
    if t["seconds"] is not None:
        assert t["seconds"] in secs and t["epochs"][t["epoch"] - 1]["val_loss"] < t["baseline_val"]
