"""Rolling-origin backtest (seqcore/modeling/backtest.py): fold origins and sizes, no leakage from after a
fold's origin, the metrics.json contract, the CLI flag and its messages, stopping, progress points and the
Results page / HTML report section."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import DataError, SpecError
from seqcore.modeling import backtest
from seqcore.modeling.backtest import METRICS, fold_block, plan, plan_folds, run_backtest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "seqcore" / "samples"
RESULTS = "pages/4_Results.py"

FOLD_KEYS = {"fold", "origin", "train_rows", "test_rows", "model", "baselines"}


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=timeout)


def sine_frame(n: int = 160, shuffle: bool = False) -> pd.DataFrame:
    t = pd.date_range("2000-01-01", periods=n, freq="D")
    y = np.sin(np.arange(n) / 5) + 0.01 * np.arange(n)
    df = pd.DataFrame({"day": t.strftime("%Y-%m-%d"), "y": y})
    if shuffle:    # the backtest cuts by time, not by position in the file
        df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return df


def tiny_spec(k: int, **data) -> RunSpec:
    d = dict(task="forecast", time="day", targets=("y",), window=8, horizon=4, backtest=k)
    d.update(data)
    return RunSpec(DataSpec(**d), ModelSpec(units=(4,)), TrainSpec(epochs=2, batch_size=16, patience=0))


# ----------------------------------------------------------------------------- fold origins and sizes


def test_folds_tile_the_end_of_the_series():
    # Airline-like: 144 points, horizon 12, test part 22 rows -> blocks of max(12, 22 // 3) = 12
    folds = plan_folds(144, 3, 12, 22)
    assert [(f.fold, f.origin, f.end, f.block) for f in folds] == [(1, 108, 120, 12), (2, 120, 132, 12),
                                                                   (3, 132, 144, 12)]
    # a long test part shared out: 30 test rows over 4 folds, horizon 5 -> blocks of 7
    assert fold_block(200, 4, 5, 30) == 7
    folds = plan_folds(200, 4, 5, 30)
    assert folds[-1].end == 200
    assert all(a.end == b.origin for a, b in zip(folds, folds[1:]))      # contiguous, no gaps or overlaps
    assert all(f.block == 7 for f in folds) and folds[0].origin == 200 - 4 * 7
    # never shorter than the horizon
    assert fold_block(50, 10, 6, 8) == 6


def test_each_fold_is_prepared_only_from_data_before_its_end():
    df = sine_frame(160, shuffle=True)
    spec = tiny_spec(3)
    bt = plan(df, spec)
    n_test = 160 - int(round(160 * 0.85))    # the run's own test part: 24 rows -> blocks of 8
    assert [f.block for f in bt.folds] == [max(4, n_test // 3)] * 3
    for fold in bt.folds:
        prep = bt.prepared(fold)
        split = prep.extra["split"]
        assert split.n == fold.end and split.val_end == fold.origin      # cut at its end, test = its block
        assert len(prep.extra["series"]) == fold.end
        H = spec.data.horizon
        for part in ("train", "val"):
            starts = prep.extra["starts"][part]
            assert starts.max() + H <= fold.origin, f"{part} targets reach past the fold's origin"
        assert prep.extra["starts"]["test"].min() >= fold.origin
        # the rows kept are the first `end` days in time order, whatever the file order
        assert np.allclose(prep.extra["series"][:, 0], sine_frame(160)["y"].to_numpy()[:fold.end])


def test_changing_data_after_a_fold_origin_changes_nothing_it_learns_from():
    clean = sine_frame(160)
    spec = tiny_spec(3)
    first = plan(clean, spec).folds[0]
    poisoned = clean.copy()
    poisoned.loc[first.origin:, "y"] = 1e6
    a, b = plan(clean, spec), plan(poisoned, spec)
    pa, pb = a.prepared(a.folds[0]), b.prepared(b.folds[0])
    assert pa.state["mean"] == pb.state["mean"] and pa.state["std"] == pb.state["std"]
    x_a, y_a = pa.train.gather(np.arange(len(pa.train)))
    x_b, y_b = pb.train.gather(np.arange(len(pb.train)))
    assert np.array_equal(x_a, x_b) and np.array_equal(y_a, y_b)
    assert np.array_equal(pa.val.gather(np.arange(len(pa.val)))[1], pb.val.gather(np.arange(len(pb.val)))[1])


def _losses(bt, **kw):
    points = []
    out = run_backtest(bt, on_progress=points.append, **kw)
    by_fold: dict[int, list] = {}
    for p in points:
        assert p.kind == "backtest"
        if p.batch and p.loss is not None:
            by_fold.setdefault(p.epoch, []).append((p.loss, p.val_loss))
    return out, by_fold, points


def test_each_fold_trains_only_on_data_before_its_origin():
    """End to end: poisoning every value from fold 1's origin on leaves fold 1's training and validation losses
    exactly as they were (it never saw those rows) but changes fold 2's (its validation part holds them) and
    fold 1's score (its test block is poisoned)."""
    clean = sine_frame(160)
    spec = tiny_spec(2)
    origin = plan(clean, spec).folds[0].origin
    poisoned = clean.copy()
    poisoned.loc[origin:, "y"] = 50.0
    out_a, loss_a, points = _losses(plan(clean, spec))
    out_b, loss_b, _ = _losses(plan(poisoned, spec))
    assert loss_a[1] == loss_b[1]
    assert loss_a[2] != loss_b[2]
    fa, fb = out_a.result["per_fold"][0], out_b.result["per_fold"][0]
    assert fa["model"]["mae"] != fb["model"]["mae"]
    # progress: each fold announces itself (batch 0), then its epochs; epoch = fold, epochs = folds
    assert [(p.epoch, p.batch) for p in points if p.batch == 0] == [(1, 0), (2, 0)]
    assert {p.epochs for p in points} == {2}


# ----------------------------------------------------------------------------- metrics.json, CLI


def test_cli_backtest_writes_the_contract(tmp_path):
    out = tmp_path / "run"
    r = cli("train", SAMPLES / "Airline.csv", "--task", "forecast", "--target", "Passengers", "--time", "Date",
            "--window", "12", "--horizon", "6", "--epochs", "2", "--units", "4", "--patience", "0",
            "--backtest", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    bt = m["backtest"]
    assert set(bt) == {"folds", "model", "baselines", "per_fold", "base"}
    # the folds test what the run picked (base "auto" is settled once, by the run's validation check)
    assert bt["base"]["name"] == m["model_choice"]["picked"]
    assert bt["base"]["correction"] == m["model_choice"].get("correction", True)
    assert bt["folds"] == 2 and len(bt["per_fold"]) == 2
    assert set(bt["model"]) == set(METRICS) and all(set(v) == {"mean", "sd"} for v in bt["model"].values())
    # every baseline the run itself reports (naive, seasonal naive, mean and any statistical one) is there
    assert set(bt["baselines"]) == set(m["baselines"]) >= {"naive", "seasonal_naive", "mean"}
    for fold in bt["per_fold"]:
        assert set(fold) == FOLD_KEYS
        assert set(fold["model"]) == set(METRICS) and set(fold["baselines"]) == set(bt["baselines"])
        assert fold["test_rows"] == 11   # max(horizon 6, the run's 22 test rows // 2 folds)
    assert [f["train_rows"] for f in bt["per_fold"]] == [144 - 22, 144 - 11]
    # the summary is the mean and sample sd of the folds' figures
    for metric in METRICS:
        vals = [f["model"][metric] for f in bt["per_fold"]]
        assert math.isclose(bt["model"][metric]["mean"], statistics.mean(vals))
        assert math.isclose(bt["model"][metric]["sd"], statistics.stdev(vals))
    assert [f["origin"] for f in bt["per_fold"]] == sorted(f["origin"] for f in bt["per_fold"])
    assert "backtest over 2 folds" in r.stderr and "MASE" in r.stderr


@pytest.mark.parametrize("k", ["25", "-1"])
def test_cli_bad_backtest_is_a_plain_message(k, tmp_path):
    r = cli("train", SAMPLES / "Airline.csv", "--task", "forecast", "--backtest", k, "--out", tmp_path / "x")
    assert r.returncode == 2
    assert f"Backtest folds must be a whole number from 0 (no backtest) to 20; got {k}." in r.stderr
    assert "Traceback" not in r.stderr


def test_backtest_only_for_forecasting_and_needs_data():
    with pytest.raises(SpecError, match="only for forecasting"):
        DataSpec(task="classify", label="y", backtest=2).validate()
    with pytest.raises(SpecError, match="whole number"):
        DataSpec(task="forecast", targets=("y",), backtest=2.5).validate()
    with pytest.raises(DataError) as err:
        plan(sine_frame(80), tiny_spec(20))
    assert "A backtest with 20 folds needs more data" in str(err.value)
    assert "Use fewer backtest folds" in str(err.value)
    with pytest.raises(DataError) as err:    # the first fold keeps 12 steps: too few for its own windows
        plan(sine_frame(60), tiny_spec(12))
    assert str(err.value).startswith("A backtest with 12 folds needs more data: the folds test on the last 48 "
                                     "steps (4 each), which leaves the first fold 12 of the 60 steps to learn from")


# ----------------------------------------------------------------------------- stop, progress


def test_stop_ends_the_backtest_and_keeps_the_finished_folds():
    bt = plan(sine_frame(160), tiny_spec(3))
    flag = {"stop": False}

    def on_progress(p):
        if p.epoch == 2 and p.batch >= 1:      # fold 2 has finished an epoch: the user presses Stop
            flag["stop"] = True

    out = run_backtest(bt, on_progress=on_progress, should_stop=lambda: flag["stop"])
    assert out.stopped
    assert out.result["folds"] == 1 and [f["fold"] for f in out.result["per_fold"]] == [1]
    assert out.notes == ["The backtest was stopped after 1 of 3 folds; the finished folds are kept."]


def test_backtest_points_stay_out_of_the_loss_curves(tmp_path):
    from pages._ui import live
    from seqcore.modeling.progress import HistoryColumns, Progress
    from seqcore.runs.store import RunStore

    pts = [Progress(kind="epoch", epoch=1, epochs=2, loss=1.0, val_loss=1.2),
           Progress(kind="epoch", epoch=2, epochs=2, loss=0.5, val_loss=0.9),
           Progress(kind="backtest", epoch=1, epochs=3, batch=0, batches=2),
           Progress(kind="backtest", epoch=2, epochs=3, batch=1, batches=2, loss=7.0, val_loss=8.0, elapsed=4.0)]
    assert len(HistoryColumns.from_points(pts)) == 2
    store = RunStore(tmp_path / "home")
    ds = store.add_dataset(b"t,y\n1,2\n2,3\n", "x.csv")
    from seqcore.runs.queue import submit_run

    run_id = submit_run(store, tiny_spec(3), ds, start=False)
    store.append_history(run_id, pts)
    assert len(store.history_columns(run_id)) == 2
    assert store.count_history(run_id, curve=True) == 2 and store.count_history(run_id) == 4
    rec = store.get_run(run_id)
    info = live.progress_info(dataclasses.replace(rec, status="running"), pts)
    assert info.text == "Backtest: fold 2 of 3 · epoch 1 of 2"
    assert math.isclose(info.fraction, (1 + 0.5) / 3)
    assert info.best_val_loss == 0.9      # the run's own validation loss, not a fold's
    assert live.progress_info(dataclasses.replace(rec, status="finished"), pts).text == \
        "Backtest: 2 of 3 folds trained"


# ----------------------------------------------------------------------------- Results page, report, Model page


@pytest.fixture
def backtest_run():
    """A real finished Airline run with a 2-fold backtest, trained in this process through the worker's job path."""
    from seqcore.runs.queue import submit_run
    from seqcore.runs.store import RunStore
    from seqcore.runs.worker import execute_job

    store = RunStore()
    ds = store.add_dataset((SAMPLES / "Airline.csv").read_bytes(), "Airline.csv")
    spec = RunSpec(DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3, backtest=2),
                   ModelSpec(units=(4,)), TrainSpec(epochs=2, batch_size=16, patience=0))
    run_id = submit_run(store, spec, ds, start=False)
    store.claim_next_job(worker_pid=os.getpid())
    assert execute_job(store, run_id) == "finished", store.get_run(run_id).error
    return store, run_id


def test_results_page_and_report_show_the_backtest(backtest_run):
    from html import escape as html_escape

    from helpers import page, texts

    from pages._ui.base import md
    from seqcore.outputs.report import run_report_html

    store, run_id = backtest_run
    metrics = json.loads((store.run_dir(run_id) / "metrics.json").read_text())
    at = page(RESULTS, query={"run": run_id})
    assert "Backtest: how much the score moves" in texts(at.subheader)
    table = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    assert list(table["metric"]) == ["MASE", "MAPE", "MAE", "RMSE"]
    assert {"model", "naive", "seasonal naive", "mean"} <= set(table.columns)
    mae = metrics["backtest"]["model"]["mae"]
    assert table.set_index("metric").loc["MAE", "model"] == f"{mae['mean']:.4g} ± {mae['sd']:.2g}"
    assert any(e.label == "The 2 folds one by one" for e in at.expander)
    folds = next(d.value for d in at.dataframe if "fold" in d.value.columns)
    assert list(folds["fold"]) == [1, 2] and list(folds["test rows"]) == [11, 11]   # the 22 test rows over 2 folds
    sentence = backtest.lead_sentence(metrics["backtest"])
    assert sentence and md(sentence) in texts(at.markdown)
    html = run_report_html(run_name="r", spec=RunSpec.from_dict(store.get_run(run_id).spec), metrics=metrics,
                           history=[], predictions=None, forecast=None)
    assert "Backtest: how much the score moves" in html and "The 2 folds one by one" in html
    assert html_escape(sentence) in html


def test_no_backtest_no_section():
    from pages._ui import backtest_ui
    from seqcore.outputs.backtest_report import backtest_html

    assert backtest_ui.backtest_section({"test": {}}) is False
    assert backtest_html({"test": {}}) == "" and backtest_html(None) == ""
    assert backtest.lead_sentence(None) is None
    assert plan(sine_frame(160), tiny_spec(0)) is None


def test_base_words_say_what_the_folds_started_from():
    from seqcore.modeling.backtest import base_words

    assert base_words(None) == "" and base_words({"name": "none", "correction": True}) == ""
    assert "deseasonalised" in base_words({"name": "deseason", "correction": True})
    assert "remaining error of AutoARIMA" in base_words({"name": "auto_arima", "correction": True})
    assert "AutoETS's own" in base_words({"name": "auto_ets", "correction": False})


def test_lead_sentence_words():
    def fold(m, b):
        return {"model": {"mae": m}, "baselines": {"naive": {"mae": b + 1}, "seasonal_naive": {"mae": b}}}

    def bt(pairs):
        return backtest.summarise([dict(fold(m, b), fold=i + 1) for i, (m, b) in enumerate(pairs)])

    assert backtest.lead_sentence(bt([(1, 2), (1, 3)])) == (
        "The model's lead holds across folds: it beat the best baseline (seasonal naive) on MAE in all 2 folds.")
    assert backtest.lead_sentence(bt([(1, 2), (1, 3), (2.5, 2)])) == (
        "The model leads on average, but not in every fold: it beat the best baseline (seasonal naive) on MAE in "
        "2 of 3 folds.")
    # as Airline with the default settings did here: the model won 2 of 3 folds, but not on average
    assert backtest.lead_sentence(bt([(1, 2), (1, 3), (9, 2)])) == (
        "The model's lead does not hold across folds: on average the best baseline (seasonal naive) was better on "
        "MAE, and the model beat it in only 2 of 3 folds.")
    assert backtest.lead_sentence(bt([(5, 2), (5, 3)])) == (
        "The model did not beat the best baseline (seasonal naive) on MAE in any of the 2 folds.")
    one = bt([(1, 2)])
    assert one["model"]["mae"] == {"mean": 1.0, "sd": None}
    assert backtest.lead_sentence(one) == \
        "The model beat the best baseline (seasonal naive) on MAE in the one backtest fold."


def test_model_page_backtest_folds_set_the_spec():
    from helpers import app

    at = app()
    at.button(key="home_sample_airline").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    box = at.number_input(key="model_backtest")
    assert box.value == 0 and "Trains the model K more times" in box.help
    box.set_value(3).run()
    assert not at.exception
    assert at.session_state["data_spec"]["backtest"] == 3
    assert any("The backtest trains 3 more models" in c.value for c in at.caption)
    at.switch_page("pages/1_Data.py").run()       # the Data page keeps it while it sets up the data again
    assert not at.exception and at.session_state["data_spec"]["backtest"] == 3
