"""The final fit (TrainSpec.final_fit): a fresh model trained on training + validation data for the epoch
count validation picked; its progress phase, store handling, report and standalone script."""

import io
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec, apply_preset
from seqcore.modeling.progress import Progress
from seqcore.data.windows import ArraySource, ConcatSource


def test_concat_source_gathers_rows_of_both_parts_in_the_order_asked():
    a = ArraySource(np.arange(5)[:, None] * 1.0, np.arange(5))
    b = ArraySource(np.arange(100, 103)[:, None] * 1.0, np.arange(100, 103))
    both = ConcatSource(a, b)
    assert len(both) == 8
    x, y = both.gather(np.array([6, 1, 7, 0, 5]))
    assert y.tolist() == [101, 1, 102, 0, 100] and x[:, 0].tolist() == [101.0, 1.0, 102.0, 0.0, 100.0]
    assert both.inputs(np.array([7, 2]))[:, 0].tolist() == [102.0, 2.0]


def _reviews(sample_bytes, n=360) -> bytes:
    df = pd.read_csv(io.BytesIO(sample_bytes("rt_polarity_subset.csv"))).iloc[:n]
    return df.to_csv(index=False).encode()


def _text_spec(**train) -> RunSpec:
    return RunSpec(data=DataSpec(task="text", text="text", label="label", max_len=16, max_vocab=1000),
                   model=ModelSpec(units=(4,), word_vectors="none", embedding_dim=8, word_pairs=4),
                   train=TrainSpec(epochs=4, batch_size=32, patience=0, final_fit=True, **train))


def test_final_fit_trains_on_training_and_validation_and_is_the_model_kept(tmp_path, sample_bytes):
    pytest.importorskip("keras")
    from seqcore.pipeline import predict_from_bundle, run_training
    from seqcore.runs.store import HistoryColumns

    points = []
    data = _reviews(sample_bytes)
    res = run_training(data, _text_spec(), tmp_path / "run", on_progress=points.append)
    tr = res.metrics["training"]
    ff = tr["final_fit"]
    assert ff["kept"] and ff["epochs"] == res.best_epoch
    assert ff["examples"] == tr["sizes"]["train"] + tr["sizes"]["val"]
    assert "accuracy" in ff["picked_model_test"]
    assert any(n.startswith("Final fit: validation picked epoch") for n in res.notes)
    final = [p for p in points if p.kind == "final"]
    assert [p.epoch for p in final if p.batch == p.batches] [-ff["epochs"]:] == list(range(1, ff["epochs"] + 1))
    assert max(p.epoch for p in points if p.kind == "epoch") == 4            # the validated phase ran in full
    # the loss curves leave the final fit's points out; the history in the bundle is the validated phase's
    cols = HistoryColumns.from_points(points)
    assert np.nanmax(cols.epoch) == 4 and len(cols) == len(points) - len(final)
    assert [h["epoch"] for h in res.history] == [1, 2, 3, 4]
    # the bundle holds the final model and predicts like the run scored it
    pred = predict_from_bundle(res.bundle_dir, data)
    assert len(pred) == 360


def test_a_stop_during_the_final_fit_keeps_the_picked_model(tmp_path, sample_bytes):
    pytest.importorskip("keras")
    from seqcore.pipeline import run_training

    state = {"final": False}

    def on_progress(p):
        state["final"] = state["final"] or p.kind == "final"

    res = run_training(_reviews(sample_bytes), _text_spec(), tmp_path / "run", on_progress=on_progress,
                       should_stop=lambda: state["final"])
    ff = res.metrics["training"]["final_fit"]
    assert res.status == "stopped" and not ff["kept"] and ff["reason"] == "it was stopped"
    assert any("was not kept (it was stopped)" in n for n in res.notes)
    assert (res.bundle_dir / "model.keras").exists()


def test_without_validation_there_is_no_final_fit(tmp_path, sample_bytes):
    pytest.importorskip("keras")
    from seqcore.pipeline import run_training

    spec = _text_spec()
    spec = spec.replace(data=spec.data.replace(val_fraction=0.0))
    res = run_training(_reviews(sample_bytes), spec, tmp_path / "run")
    assert "final_fit" not in res.metrics["training"]


def test_store_keeps_final_points_out_of_the_curves_and_trims_them_on_resume(tmp_path):
    from seqcore.runs.store import RunStore

    store = RunStore(tmp_path / "home")
    ds = store.add_dataset(b"t,y\n1,2\n2,3\n", "d.csv")
    rid = store.create_run(spec=RunSpec().to_dict(), dataset_id=ds, task="forecast")
    store.append_history(rid, [Progress("epoch", e, 3, loss=1.0 / e, val_loss=1.0) for e in (1, 2, 3)])
    store.append_history(rid, [Progress("final", 1, 2, batch=4, batches=4, loss=0.5),
                               Progress("final", 2, 2, batch=2, batches=4, loss=0.4)])
    cols = store.history_columns(rid)
    assert len(cols) == 3 and np.nanmax(cols.epoch) == 3
    assert store.history_columns(rid) is not None and len(store.history_columns(rid)) == 3   # cached read agrees
    store.trim_history(rid, 3)                       # a resume redoes epoch 3 and the final fit
    kinds = [p.kind for _, p in store.read_history(rid)]
    assert kinds == ["epoch", "epoch"]


def test_progress_bar_names_the_final_fit_phase():
    from pages._ui.live import progress_info

    rec = SimpleNamespace(status="running", started=time.time() - 5, ended=None, spec={"train": {"epochs": 30}},
                          best_val_loss=0.5)
    pts = [Progress("epoch", 12, 30, loss=0.3, val_loss=0.5, metrics={"val_accuracy": 0.7}),
           Progress("final", 2, 6, batch=3, batches=10, loss=0.2, elapsed=4.0)]
    info = progress_info(rec, pts, now=time.time())
    assert info.text == "Final fit on training + validation data: Epoch 2 of 6 · batch 3 of 10"
    assert 0 < info.fraction < 0.5 and info.best_val_accuracy == 0.7


def test_text_presets_turn_it_on_and_the_report_and_script_say_so(tmp_path):
    from seqcore.outputs.codegen import training_script
    from seqcore.outputs.report import describe_preset

    spec = apply_preset(RunSpec(data=DataSpec(task="text", text="t", label="y")), "balanced")
    assert spec.train.final_fit
    assert not apply_preset(RunSpec(data=DataSpec(task="text", text="t", label="y")), "quick").train.final_fit
    assert not apply_preset(RunSpec(data=DataSpec(task="forecast", targets=("y",))), "balanced").train.final_fit
    assert "retrained on training + validation data" in describe_preset("balanced", "text")
    script = training_script(spec)
    assert "FINAL_FIT = True" in script and "final_fit(model, data, best_epoch)" in script


def test_script_final_fit_trains_on_both_parts_for_the_given_epochs(tmp_path):
    import importlib.util

    from seqcore.outputs.codegen import training_script

    path = tmp_path / "train.py"
    path.write_text(training_script(_text_spec(lr_schedule="none")))
    mod_spec = importlib.util.spec_from_file_location("gen_final_fit", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    seen = {}

    class Recorder:
        def fit(self, x, y, epochs, **kw):
            seen.update(n=len(x), labels=list(y), epochs=epochs)

    data = {"x_train": np.zeros((5, 3)), "y_train": np.zeros(5), "x_val": np.ones((2, 3)), "y_val": np.ones(2)}
    mod.final_fit(Recorder(), data, 7)
    assert seen == {"n": 7, "labels": [0.0] * 5 + [1.0] * 2, "epochs": 7}


def test_baselines_are_computed_once_per_prepared_data():
    from seqcore.modeling.tasks.common import baseline_outputs

    prep = SimpleNamespace(extra={})
    calls = []
    first = baseline_outputs(prep, lambda: calls.append(1) or {"naive": np.zeros(3)})
    again = baseline_outputs(prep, lambda: calls.append(1) or {"naive": np.ones(3)})
    assert calls == [1] and again is first           # the final fit's second evaluation reuses them
