"""Messages true to the page (issue 12, point 7): the overfitting hint only for a clear rise, no validation
wording for a run without a validation part, the sidebar's queue counts from one read of the store, and the
Model page's time estimate within 2x of the measured epoch."""

from __future__ import annotations

import math
import os
import statistics

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, RunSpec, apply_preset
from seqcore.modeling.progress import Progress, overfitting
from seqcore.outputs import report, viz
from seqcore.runs.store import RunStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "seqcore", "samples")


# ----------------------------------------------------------------------------- the overfitting rule


def _epochs(loss, val):
    return [{"epoch": i + 1, "loss": float(a), "val_loss": float(b)} for i, (a, b) in enumerate(zip(loss, val))]


def test_overfitting_rule_flat_curves_never_count():
    n = 40
    flat = [0.5] * n
    assert overfitting(range(1, n + 1), flat, flat) is None
    # both flat, the validation loss wobbling by a fraction of a percent (the issue's "rising for 10 epochs")
    wobble = [0.5 * (1 + 0.003 * math.sin(i)) + 1e-4 * i / n for i in range(n)]
    assert overfitting(range(1, n + 1), flat, wobble) is None
    assert viz.overfit_hint(_epochs(np.linspace(0.51, 0.50, n), wobble)) is None
    # noisy but flat: its lowest epoch is only its luckiest one (20 seeds, 5% and 15% noise)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for noise in (0.05, 0.15):
            val = 1.0 + noise * rng.standard_normal(n)
            train = np.linspace(0.95, 0.9, n) + 0.01 * rng.standard_normal(n)
            assert overfitting(range(1, n + 1), train, val) is None, (seed, noise)


def test_overfitting_rule_rising_and_falling_curves():
    e = np.arange(1, 31)
    train = 1.5 - e / 40
    rising = np.where(e <= 15, 1.5 - e / 30, 1.0 + (e - 15) * 0.03)     # best at 15, then +3% an epoch
    found = overfitting(e, train, rising)
    assert found is not None and found.best_epoch == 15 and found.epochs_since == 15
    assert found.rise == pytest.approx(0.38, abs=0.02)     # the last 3 epochs (median) over the best level
    noisy = rising * (1 + 0.01 * np.random.default_rng(1).standard_normal(30))
    assert overfitting(e, train, noisy) is not None
    # only 2 epochs past the best, or a rise smaller than the margin: not yet
    assert overfitting(e[:17], train[:17], rising[:17]) is None
    assert overfitting(e, train, np.where(e <= 15, 1.5 - e / 30, 1.0 + (e - 15) * 0.001)) is None
    # falling curves, and a rising validation loss with a rising training loss (not memorising)
    assert overfitting(e, train, 2 - e / 30) is None
    assert overfitting(e, rising - 0.1, rising) is None
    # one spike at the end is not a trend
    spike = np.where(e <= 15, 1.5 - e / 30, 1.005) + np.where(e == 30, 0.5, 0.0)
    assert overfitting(e, train, spike) is None
    assert overfitting(e, train, np.where(e >= 28, spike + 0.5, spike)) is not None   # three epochs: a trend


def test_overfit_hint_live_and_finished_wording():
    e = np.arange(1, 31)
    points = _epochs(1.5 - e / 40, np.where(e <= 15, 1.5 - e / 30, 1.0 + (e - 15) * 0.03))
    live = viz.overfit_hint(points)
    assert "has been rising for 15 epochs" in live and "best, at epoch 15" in live and "memorise" in live
    done = viz.overfit_hint(points, finished=True)
    assert "rose for 15 epochs after its best (epoch 15)" in done and "kept model is from epoch 15" in done
    # the Results page reads a run's curves as columns: the same answer
    from seqcore.modeling.progress import HistoryColumns

    assert viz.overfit_hint(HistoryColumns.from_points(points), finished=True) == done


# ----------------------------------------------------------------------------- no validation part


def _tiny_forecast_csv(n=160) -> bytes:
    t = np.arange(n)
    return pd.DataFrame({"y": np.sin(t / 6) + 0.05 * np.cos(t)}).to_csv(index=False).encode()


def test_run_without_validation_is_described_without_validation_wording(tmp_path):
    """A real run with val_fraction 0: early stopping watches the training loss; every message says so."""
    from seqcore.pipeline import run_training

    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",), window=8, val_fraction=0.0, test_fraction=0.2))
    spec = spec.replace(model=spec.model.replace(units=(8,)),
                        train=spec.train.replace(epochs=40, patience=2, learning_rate=0.05, batch_size=32))
    result = run_training(_tiny_forecast_csv(), spec, tmp_path / "run", name="y.csv")
    tr = result.metrics["training"]
    assert tr["selected_by"] == "loss" and tr["sizes"]["val"] == 0 and tr["best_val_loss"] is None
    assert not report.has_validation(spec, result.metrics)
    text = report.training_outcome(spec, result.metrics)
    assert "validation score" not in text and "validation loss" not in text
    assert "no validation part" in text and "training loss" in text
    if tr["early_stopped"]:
        assert "Early stopping ended it: the training loss had not improved for 2 epochs." in text
    described = " ".join(report.describe_run(spec, result.metrics))
    assert "0% for validation" not in described and "0 validation" not in described
    assert "no validation part" in described and "without improvement of the training loss" in described


def test_finish_messages_with_and_without_validation():
    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",), val_fraction=0.0))
    spec = spec.replace(train=spec.train.replace(epochs=60, patience=10))
    no_val = {"training": {"epochs_run": 31, "best_epoch": 21, "early_stopped": True, "selected_by": "loss",
                           "sizes": {"train": 100, "val": 0, "test": 20}}}
    text = report.training_outcome(spec, no_val)
    assert text == ("Finished after 31 epochs; the best was epoch 21, with the lowest training loss. There was no "
                    "validation part, so the training loss picked the epoch to keep. Early stopping ended it: the "
                    "training loss had not improved for 10 epochs.")
    with_val = {"training": dict(no_val["training"], selected_by="val_loss", sizes={"train": 80, "val": 20})}
    text = report.training_outcome(spec.replace(data=spec.data.replace(val_fraction=0.2)), with_val)
    assert "lowest validation loss" in text and "validation loss had not improved for 10 epochs" in text
    acc = {"training": dict(with_val["training"], selected_by="val_accuracy", early_stopped=False, epochs_run=60)}
    text = report.training_outcome(spec, acc)
    assert "highest validation accuracy" in text and "ran all 60 planned epochs" in text
    off = spec.replace(train=spec.train.replace(patience=0))
    assert "Early stopping was off" in report.training_outcome(off, {"training": dict(no_val["training"],
                                                                                      early_stopped=False)})
    # a classification set too small for a validation part trains without one whatever the share says
    small = {"training": {"sizes": {"train": 40, "val": 0}}}
    assert not report.has_validation(spec.replace(data=spec.data.replace(val_fraction=0.2)), small)


def test_train_page_finish_message_and_metric_without_validation(tmp_path):
    """The Train page's helpers for a finished run of the store (no validation wording) and, live, the
    'Best training loss' card when the epoch points carry no validation loss."""
    from pages._ui import live

    store = RunStore(tmp_path / "home")
    ds = store.add_dataset(_tiny_forecast_csv(), "y.csv")
    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",), val_fraction=0.0))
    run_id = store.create_run(spec=spec.to_dict(), dataset_id=ds, task="forecast", name="no val")
    store.claim_next_job(worker_pid=os.getpid())
    points = [Progress("epoch", e, 20, loss=1.0 / e) for e in range(1, 4)]
    store.append_history(run_id, points)
    rec = store.get_run(run_id)
    assert live.without_validation(rec, points)
    assert live.progress_info(rec, points).best_loss == pytest.approx(1 / 3)
    summary = {"best_epoch": 3, "training": {"epochs_run": 3, "best_epoch": 3, "early_stopped": True,
                                             "selected_by": "loss", "sizes": {"train": 50, "val": 0}}}
    store.finish_run(run_id, "finished", summary=summary, epochs_run=3)
    msg = live.finish_message(store.get_run(run_id))
    assert "validation score" not in msg and "no validation part" in msg and "training loss had not improved" in msg
    with_val = [Progress("epoch", 1, 20, loss=1.0, val_loss=1.2)]
    other = store.create_run(spec=spec.replace(data=spec.data.replace(val_fraction=0.2)).to_dict(), dataset_id=ds,
                             task="forecast", name="val")
    assert not live.without_validation(store.get_run(other), with_val)


# ----------------------------------------------------------------------------- the sidebar's queue line


def test_queue_counts_follow_a_run_through_every_state(tmp_path):
    from pages._ui.page import queue_text

    store = RunStore(tmp_path / "home")
    ds = store.add_dataset(_tiny_forecast_csv(), "y.csv")
    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",))).to_dict()
    assert queue_text(store.queue_counts()) == "0 running, 0 waiting"
    a = store.create_run(spec=spec, dataset_id=ds, task="forecast", name="a")
    b = store.create_run(spec=spec, dataset_id=ds, task="forecast", name="b")
    c = store.queue_counts()
    assert (c["queued"], c["running"], c["queued_ids"]) == (2, 0, [a, b])
    assert queue_text(c) == "0 running, 2 waiting"
    # a worker has claimed a, but not yet written its first progress point: running, not waiting
    assert store.claim_next_job(worker_pid=os.getpid()).id == a
    c = store.queue_counts()
    assert (c["queued"], c["running"], c["starting"], c["running_ids"]) == (1, 1, 1, [a])
    assert queue_text(c) == "1 running (getting ready), 1 waiting"
    store.append_history(a, [Progress("batch", 1, 5, batch=1, batches=10, loss=1.0)])
    c = store.queue_counts()
    assert (c["queued"], c["running"], c["starting"]) == (1, 1, 0)
    assert queue_text(c) == "1 running, 1 waiting"
    store.finish_run(a, "finished", summary={})
    assert queue_text(store.queue_counts()) == "0 running, 1 waiting"
    store.claim_next_job(worker_pid=os.getpid())
    store.finish_run(b, "failed", error="x")
    assert queue_text(store.queue_counts()) == "0 running, 0 waiting"


def test_sidebar_and_queue_status_agree_with_the_store(monkeypatch):
    """The sidebar of a page while a claimed run prepares (no progress yet): "1 running", never "waiting";
    queue_status (the Home page) counts from the same single read."""
    from helpers import page
    from seqcore.runs import queue

    store = RunStore()
    ds = store.add_dataset(_tiny_forecast_csv(), "y.csv")
    run_id = store.create_run(spec=RunSpec(data=DataSpec(task="forecast", targets=("y",))).to_dict(),
                              dataset_id=ds, task="forecast", name="r")
    store.claim_next_job(worker_pid=os.getpid())
    at = page("pages/5_Runs.py")
    assert not at.exception
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Queue: 1 running (getting ready), 0 waiting." in captions
    status = queue.queue_status(store)
    assert status["queued"] == 0 and status["running"] == [run_id]


# ----------------------------------------------------------------------------- the time estimate


def _sine_csv(n: int) -> bytes:
    t = np.arange(n)
    return pd.DataFrame({"y": np.sin(t / 20) + 0.1 * np.cos(t / 3), "x": np.cos(t / 7)}).to_csv(index=False).encode()


def _text_csv(rows: int) -> bytes:
    return pd.read_csv(os.path.join(SAMPLES, "rt_polarity_subset.csv")).head(rows).to_csv(index=False).encode()


SHAPES = {
    # name: (CSV bytes, data spec, repeats); the balanced preset of each task, as the app's default
    "forecast": (lambda: _sine_csv(2500), DataSpec(task="forecast", targets=("y",), features=("x",), window=48), 3),
    "classify-small": (lambda: open(os.path.join(SAMPLES, "GunPoint_TRAIN.csv"), "rb").read(),
                       DataSpec(task="classify", label="label"), 3),
    "text": (lambda: _text_csv(1500), DataSpec(task="text", text="text", label="label"), 2),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SHAPES))
def test_epoch_estimate_within_2x_of_the_measured_epoch(name):
    """The Model page's estimate per epoch, from the warm worker's measurement of this very model (the
    worker's prewarm for the page's hint), against the median epoch of a real run of the same spec through
    the worker's own job path, back to back in this process; the median ratio over a few such pairs must be
    within 2x (the machine is shared: both sides see the same load)."""
    from pages._ui.estimates import time_estimate
    from seqcore import pipeline
    from seqcore.modeling.models import ModelShape, estimate
    from seqcore.runs.queue import submit_run
    from seqcore.runs.worker import Ahead, execute_job

    make, data_spec, repeats = SHAPES[name]
    data = make()
    store = RunStore()
    ds = store.add_dataset(data, f"{name}.csv")
    spec = apply_preset(RunSpec(data=data_spec), "balanced")
    spec = spec.replace(train=spec.train.replace(epochs=4, patience=0, final_fit=False))
    _, prep, _ = pipeline.prepare_data(data, spec, name=f"{name}.csv")     # what the page's dry run gives
    shape = ModelShape.from_dict(prep.shape.to_dict())
    layers = estimate(spec.model, spec.train, shape).layers
    ratios, pairs = [], []
    for _ in range(repeats):
        ahead = Ahead(store, {"key": "k", "spec": spec.to_dict(), "dataset_id": ds})
        info = ahead.start()
        ahead.join()
        assert info["state"] == "done" and "timing" in info, info
        est = time_estimate(spec.model, spec.train, shape, prep.sizes(), layers, home=store.home)
        assert est.measured and est.low < est.per_epoch < est.high
        run_id = submit_run(store, spec, ds, start=False)
        store.claim_next_job(worker_pid=os.getpid())
        assert execute_job(store, run_id) == "finished"
        ends = [p.elapsed for _, p in store.read_history(run_id, kind="epoch")]
        measured = statistics.median(b - a for a, b in zip(ends, ends[1:]))   # the first epoch also starts up
        ratios.append(est.per_epoch / measured)
        pairs.append((round(est.per_epoch, 3), round(measured, 3)))
    ratio = statistics.median(ratios)
    print(f"{name}: estimate/measured per epoch {pairs} -> median ratio {ratio:.2f}")
    assert 0.5 <= ratio <= 2.0, (name, pairs)


def test_range_words_and_epoch_counts():
    from pages._ui.estimates import fmt_range
    from seqcore.modeling import timing

    assert fmt_range(14.6, 31) == "about 15–30 s"
    assert fmt_range(130, 370) == "about 2–6 min"
    assert fmt_range(0.7, 1.4) == "about 0.7–1.4 s"
    assert fmt_range(0.01, 0.05) == "under 0.1 s"
    assert fmt_range(4000, 9000) == "about 1.1–2.5 h"
    assert fmt_range(0.7, 1.4, about=False) == "0.7–1.4 s"   # the metric cards: their label says "estimate"
    # early stopping: a run ends `patience` epochs after its best; never more than planned
    assert timing.run_epochs(60, 10) == (20, 60)
    assert timing.run_epochs(400, 50) == (100, 300)
    assert timing.run_epochs(30, 0) == (30, 30)
    # learnt from this machine's runs that early stopping ended
    past = [(25, 60, 10), (30, 60, 10), (28, 60, 10), (35, 60, 10)]
    assert timing.run_epochs(60, 10, past) == (28, 35)     # the middle half of 1.5, 1.8, 2.0, 2.5 patience lengths
    # the estimate anchored on the timed epoch: only the batches past the k timed ones are extrapolated
    t = {"train_batch": 0.01, "eval_batch": 0.002, "epoch_overhead": 0.05, "batches": 10, "val_batches": 1,
         "epoch_batches": 0.16}
    assert timing.epoch_seconds(t, 32 * 20, 32 * 5, 32) == pytest.approx(0.16 + 10 * 0.01 + 4 * 0.002)
    assert timing.epoch_seconds({"train_batch": 0.01, "eval_batch": None, "epoch_overhead": 0.05}, 320, 0, 32) \
        == pytest.approx(0.05 + 10 * 0.01)


def test_measure_separates_batch_cost_from_fixed_cost():
    from seqcore.modeling import timing

    clock = {"t": 0.0}

    def train_epochs(k, kv, epochs):   # 0.2 s fixed per epoch, 0.05 s a training batch, 0.01 s a val batch
        return [0.2 + 0.05 * k + 0.01 * kv + (0.5 if i == 0 else 0.0) for i in range(epochs)]

    def evaluate(k):
        clock["t"] += 0.03 + 0.01 * k

    got = timing.measure(train_epochs, evaluate, train_batches=100, val_batches=20, clock=lambda: clock["t"])
    assert got["train_batch"] == pytest.approx(0.05) and got["eval_batch"] == pytest.approx(0.01)
    assert 2 <= got["batches"] <= 100 and got["epoch_overhead"] == pytest.approx(0.2)
    assert timing.epoch_seconds(got, 3200, 640, 32) == pytest.approx(0.2 + 100 * 0.05 + 20 * 0.01)


def test_model_page_shows_the_measured_range_once_the_worker_has_timed_the_model():
    from helpers import app
    from seqcore import pipeline
    from seqcore.modeling import timing
    from seqcore.modeling.training import backend_name

    at = app()
    at.button(key="home_sample_airline").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    ss = at.session_state
    assert any("a rough figure until the background worker has timed this model" in c.value for c in at.caption)
    spec = RunSpec.from_dict({"data": ss["data_spec"], "model": ss["model_spec"], "train": ss["train_spec"]})
    data = open(os.path.join(SAMPLES, "Airline.csv"), "rb").read()
    _, prep, _ = pipeline.prepare_data(data, spec, name="Airline.csv")
    key = timing.timing_key(spec.model.to_dict(), spec.train.to_dict(), prep.shape.to_dict(), backend_name())
    # what the worker would have measured: 0.5 s a batch (so the range is easy to read)
    timing.save(RunStore().home, key, {"train_batch": 0.5, "eval_batch": 0.1, "epoch_overhead": 0.0})
    at.run()
    per_epoch = next(m for m in at.metric if m.label.startswith("Per epoch"))
    batches = math.ceil(prep.sizes()["train"] / spec.train.batch_size)
    vb = math.ceil(prep.sizes()["val"] / spec.train.batch_size)
    seconds = batches * 0.5 + vb * 0.1
    from pages._ui.estimates import fmt_range

    assert per_epoch.value == fmt_range(0.75 * seconds, 1.5 * seconds, about=False)
    assert "Measured on this computer" in per_epoch.proto.help
    assert any("per epoch measured on this computer" in c.value for c in at.caption)
    whole = next(m for m in at.metric if m.label.startswith("Whole run"))
    assert "With early stopping, runs like this usually train 20–60 of the 60 epochs" in whole.proto.help


def test_model_page_final_fit_says_it_is_not_used_without_a_validation_part():
    from helpers import app

    at = app()
    at.button(key="home_sample_airline").click().run()
    at.switch_page("pages/2_Model.py").run()
    toggle = at.toggle(key="model_final_fit")
    assert not toggle.disabled and "validation data has shown" in toggle.help
    at.session_state["data_spec"] = dict(at.session_state["data_spec"], val_fraction=0.0)
    at.run()
    assert not at.exception
    toggle = at.toggle(key="model_final_fit")
    assert toggle.disabled and "no validation part" in toggle.help and "validation data has shown" not in toggle.help
