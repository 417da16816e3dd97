"""End-to-end core: a short training for each task, bundle round trip, determinism, stop, NaN, resume."""

import json

import numpy as np
import pandas as pd
import pytest

from seqcore.outputs.bundle import read_bundle
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import DataError, SpecError, TrainingFailed
from seqcore.pipeline import predict_from_bundle, prepare_data, run_training

pytestmark = pytest.mark.slow

TINY = dict(model=ModelSpec(units=(8,)), train=TrainSpec(epochs=6, batch_size=16, patience=0, lr_schedule="none",
                                                          learning_rate=0.01))


def sine_csv(n=240, noise=0.05, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    df = pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "y": 10 + np.sin(t / 5) * 3 + rng.normal(0, noise, n),
        "x": np.cos(t / 5),
    })
    return df.to_csv(index=False).encode()


def forecast_spec(**kw) -> RunSpec:
    data = DataSpec(task="forecast", time="date", targets=("y",), features=("x",), window=12, horizon=3)
    return RunSpec(data=data.replace(**kw), **TINY)


def _check_common(res, task):
    losses = [h["loss"] for h in res.history]
    assert len(losses) == 6
    assert losses[-1] < losses[0], "training loss should go down"
    m = res.metrics
    assert set(m) >= {"test", "baselines", "comparison", "training"}
    json.dumps(m, allow_nan=False)
    return m


def test_forecast_trains_evaluates_and_round_trips(tmp_path):
    data = sine_csv()
    res = run_training(data, forecast_spec(), tmp_path / "run")
    m = _check_common(res, "forecast")
    assert set(m["baselines"]) >= {"naive", "mean"}
    for k in ("mae", "rmse", "mape", "smape", "mase", "r2"):
        assert k in m["test"]
    assert len(m["test"]["per_step"]) == 3
    pred = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert list(pred.columns[:6]) == ["origin", "step", "time", "target", "actual", "predicted"]
    assert pred["actual"].between(5, 15).all()  # original units, not scaled
    fut = pd.read_csv(tmp_path / "run" / "forecast.csv")
    assert fut["time"].tolist() == ["2020-08-28", "2020-08-29", "2020-08-30"]  # after the last date (2020-08-27)
    # the bundle predicts the same future after reload
    again = predict_from_bundle(res.bundle_dir, data)
    assert np.allclose(again["y"].to_numpy(), fut["y"].to_numpy(), atol=1e-5)
    b = read_bundle(res.bundle_dir)
    assert b.state["window"] == 12 and b.spec == forecast_spec()


def test_forecast_is_deterministic_with_a_seed(tmp_path):
    a = run_training(sine_csv(), forecast_spec(), tmp_path / "a")
    b = run_training(sine_csv(), forecast_spec(), tmp_path / "b")
    assert a.metrics["test"]["mae"] == b.metrics["test"]["mae"]
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]


def test_forecast_scalers_use_the_training_part_only(tmp_path):
    # a series that jumps after the training part: a leak would move the mean towards 100
    n = 200
    y = np.r_[np.ones(140), np.full(60, 100.0)] + np.sin(np.arange(n))
    csv = pd.DataFrame({"y": y}).to_csv(index=False).encode()
    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",), window=5), **TINY)
    _, prep, _ = prepare_data(csv, spec)
    train_end = prep.extra["split"].train_end
    assert train_end == 140
    assert abs(prep.state["mean"][0] - y[:140].mean()) < 1e-9
    # the last training target lies before the validation part starts
    assert prep.train.starts.max() + 1 <= train_end


def test_classify_wide_with_separate_test_file(tmp_path, sample_bytes):
    spec = RunSpec(data=DataSpec(task="classify", label="label"), **TINY)
    res = run_training(sample_bytes("GunPoint_TRAIN.csv"), spec, tmp_path / "gp",
                       test_data=sample_bytes("GunPoint_TEST.csv"))
    m = _check_common(res, "classify")
    assert m["test"]["n"] == 150
    assert m["baselines"]["nearest_neighbour"]["accuracy"] == pytest.approx(0.913, abs=0.005)  # published figure
    assert len(m["test"]["confusion_matrix"]) == 2
    assert m["test"]["roc_auc"] is not None
    out = predict_from_bundle(res.bundle_dir, sample_bytes("GunPoint_TEST.csv"))
    saved = pd.read_csv(tmp_path / "gp" / "predictions.csv")
    assert out["predicted"].astype(str).tolist() == saved["predicted"].astype(str).tolist()


def test_classify_long_varying_lengths_masked(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for sid in range(40):
        label = "up" if sid % 2 else "down"
        length = rng.integers(8, 20)
        for step in range(length):
            v = step * (1 if label == "up" else -1) + rng.normal(0, 0.5)
            rows.append((f"s{sid}", step, v, rng.normal(), label))
    csv = pd.DataFrame(rows, columns=["sid", "step", "a", "b", "label"]).sample(frac=1, random_state=0)
    spec = RunSpec(data=DataSpec(task="classify", label="label", id="sid", order="step", features=("a", "b")), **TINY)
    res = run_training(csv.to_csv(index=False).encode(), spec, tmp_path / "long")
    m = _check_common(res, "classify")
    b = read_bundle(res.bundle_dir)
    assert b.shape.masking is True and b.shape.input_shape == (19, 2)
    assert m["test"]["accuracy"] >= 0.5


def test_text_classification_and_vocabulary_from_training_split(tmp_path, sample_bytes):
    df = pd.read_csv(__import__("io").BytesIO(sample_bytes("rt_polarity_subset.csv"))).iloc[:600]
    spec = RunSpec(data=DataSpec(task="text", text="text", label="label", max_len=24, max_vocab=2000),
                   model=ModelSpec(units=(8,), embedding_dim=16), train=TINY["train"])
    res = run_training(df.to_csv(index=False).encode(), spec, tmp_path / "txt")
    m = _check_common(res, "text")
    assert set(m["baselines"]) == {"majority_class", "bag_of_words"}
    _, prep, _ = prepare_data(df.to_csv(index=False).encode(), spec)
    train_words = set()
    from seqcore.data.text import tokenize
    for t in prep.extra["texts_train"]:
        train_words.update(tokenize(t))
    assert set(prep.state["vocab"]["words"]) <= train_words


def test_stop_request_ends_gracefully_with_a_bundle(tmp_path):
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 15  # a few batches into the run

    spec = forecast_spec().replace(train=TrainSpec(epochs=50, batch_size=8, patience=0))
    res = run_training(sine_csv(), spec, tmp_path / "s", should_stop=should_stop)
    assert res.status == "stopped"
    assert res.epochs_run < 50
    assert (res.bundle_dir / "model.keras").exists()
    assert res.metrics["training"]["stopped_by_user"] is True


def test_nan_loss_is_a_clear_failure(tmp_path):
    rng = np.random.default_rng(0)
    csv = pd.DataFrame({"y": rng.normal(0, 1, 300) * 1e6}).to_csv(index=False).encode()
    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",), window=5),
                   model=ModelSpec(units=(8,)),
                   train=TrainSpec(epochs=5, learning_rate=10.0, clipnorm=None, optimizer="sgd", loss="mse"))
    with pytest.raises(TrainingFailed, match="NaN.*epoch"):
        run_training(csv, spec, tmp_path / "nan")


def test_checkpoint_resume_continues_epoch_numbering(tmp_path):
    spec = forecast_spec().replace(train=TrainSpec(epochs=6, batch_size=16, patience=0))
    calls = {"n": 0}

    def stop_after_epoch_two():
        calls["n"] += 1
        return calls["n"] >= 2 * 12  # 12 batches an epoch at batch 16 -> stops in epoch 2

    ck = tmp_path / "ck"
    first = run_training(sine_csv(), spec, tmp_path / "a", should_stop=stop_after_epoch_two, checkpoint_dir=ck)
    done = first.epochs_run
    assert 1 <= done < 6
    second = run_training(sine_csv(), spec, tmp_path / "b", checkpoint_dir=ck, resume=True)
    epochs = [h["epoch"] for h in second.history]
    assert epochs == list(range(1, 7))
    assert second.status == "finished"


def test_bad_specs_and_data_are_user_errors(tmp_path):
    with pytest.raises(DataError, match="no column 'nope'"):
        run_training(sine_csv(), forecast_spec(targets=("nope",)), tmp_path / "x")
    with pytest.raises(DataError, match="window"):
        run_training(sine_csv(n=20), forecast_spec(window=30), tmp_path / "x")
    with pytest.raises(SpecError, match="MB"):
        big = forecast_spec().replace(model=ModelSpec(units=(4096, 4096)),
                                      train=TrainSpec(batch_size=4096, max_memory_mb=256))
        run_training(sine_csv(), big, tmp_path / "x")
    one_class = pd.DataFrame({"label": ["a"] * 10, "v1": range(10), "v2": range(10)}).to_csv(index=False).encode()
    with pytest.raises(DataError, match="only one class"):
        run_training(one_class, RunSpec(data=DataSpec(task="classify", label="label"), **TINY), tmp_path / "x")


def test_prediction_schema_errors_name_the_column(tmp_path, monkeypatch):
    res = run_training(sine_csv(), forecast_spec(), tmp_path / "run")
    df = pd.read_csv(__import__("io").BytesIO(sine_csv()))
    import seqcore.outputs.bundle

    real_load = seqcore.outputs.bundle.load_model

    def no_model_load(b):
        raise AssertionError("the model was loaded before the uploaded columns were checked")

    monkeypatch.setattr(seqcore.outputs.bundle, "load_model", no_model_load)  # a wrong upload fails before Keras
    with pytest.raises(DataError, match="'x'"):
        predict_from_bundle(res.bundle_dir, df.drop(columns=["x"]).to_csv(index=False).encode())
    df2 = df.astype({"y": str})
    df2.loc[5, "y"] = "abc"
    with pytest.raises(DataError, match="'y'"):
        predict_from_bundle(res.bundle_dir, df2.to_csv(index=False).encode())
    monkeypatch.setattr(seqcore.outputs.bundle, "load_model", real_load)
    with pytest.raises(DataError, match="last 12 rows"):
        predict_from_bundle(res.bundle_dir, df.iloc[:5].to_csv(index=False).encode())


# --------------------------------------------------------------------------- prewarm (compiling ahead)

_COMPILES: list = []   # (seconds,) of XLA compilations while _RECORD is on
_RECORD = {"on": False, "listening": False}


def _record_compiles() -> None:
    import jax

    if not _RECORD["listening"]:
        def listen(event, seconds, **_):
            if _RECORD["on"] and event.endswith("backend_compile_duration"):
                _COMPILES.append(seconds)

        jax.monitoring.register_event_duration_secs_listener(listen)
        _RECORD["listening"] = True
    _COMPILES.clear()
    _RECORD["on"] = True


def _jax_or_skip():
    from seqcore.modeling.training import quiet_tensorflow

    quiet_tensorflow()
    import keras

    if keras.backend.backend() != "jax":
        pytest.skip("compiling ahead is for the JAX backend")


def test_prewarm_compiles_ahead_and_the_run_trains_exactly_as_without(tmp_path):
    """After a prewarm the run's first steps need no compilation, reuse the prepared data, and train to the
    very same losses as a run without a prewarm (the throwaway model leaves no trace)."""
    import seqcore.pipeline as pl

    _jax_or_skip()
    data = sine_csv(n=211)   # 134 training windows: 10 batches of 13 and a last one of 4
    # shapes no other test uses (window 11, 7 units, batch 13): nothing is compiled in this process yet
    # base "none": the automatic base search (seqcore.modeling.base_select) trains its own candidates first
    spec = forecast_spec(window=11, base="none").replace(model=ModelSpec(units=(7,)),
                                            train=TrainSpec(epochs=2, batch_size=13, patience=0, seed=3))
    _record_compiles()
    report = pl.prewarm(data, spec, name="sine.csv", defer_rest=True)
    assert list(report.stages) == ["prepare", "build", "train_step"] and not report.complete
    assert report.pending == ["train_last_batch", "evaluate", "measure", "predict"]
    report.finish()
    _RECORD["on"] = False
    ahead = list(_COMPILES)      # what compiling these shapes from cold costs, here and now
    assert report.complete and report.reason is None and not report.pending
    assert list(report.stages)[3:] == ["train_last_batch", "evaluate", "measure", "predict"]
    assert report.timing["train_batch"] > 0 and report.timing["sizes"]["train"] > 0
    assert len(pl._PREPARED) == 1

    calls = {"prepare": 0}
    real_prepare = pl.prepare_data

    def counting_prepare(*a, **kw):
        calls["prepare"] += 1
        return real_prepare(*a, **kw)

    first: dict = {}
    _record_compiles()
    try:
        pl.prepare_data = counting_prepare
        res = run_training(data, spec, tmp_path / "a", name="sine.csv",
                           on_progress=lambda p: first.setdefault("compiles", list(_COMPILES)))
    finally:
        pl.prepare_data = real_prepare
        _RECORD["on"] = False
    assert calls["prepare"] == 0, "the run reused the data the prewarm prepared"
    assert not pl._PREPARED
    # a run of new shapes compiles ~20 programs before its first step (weight initialisers, the training
    # step); after the prewarm at most a trivial one or two are left
    assert len(first["compiles"]) <= 3, first["compiles"]
    # the rest of the run (last batch, validation, predict) too: a few trivial programs, a small share of the
    # cold compile time measured in this process under the same load (~2.7 s here idle; the run's ~0.3-0.9 s)
    assert len(_COMPILES) <= len(ahead) // 3, (_COMPILES, ahead)
    assert sum(_COMPILES) < 0.4 * sum(ahead), (_COMPILES, ahead)
    again = run_training(data, spec, tmp_path / "b", name="sine.csv")   # no prewarm this time
    assert [h["loss"] for h in res.history] == [h["loss"] for h in again.history]
    assert res.metrics["test"]["mae"] == again.metrics["test"]["mae"]


def test_prewarm_stops_when_interrupted_and_refuses_what_the_run_would(tmp_path):
    import seqcore.pipeline as pl

    data = sine_csv()
    report = pl.prewarm(data, forecast_spec(), interrupted=lambda: True)
    assert (report.reason == "interrupted" and not report.complete) or report.reason == "backend"  # TF: data only
    assert list(report.stages) == ["prepare"]
    # the prepared data serve only the same bytes and data spec: another run drops them and prepares its own
    assert len(pl._PREPARED) == 1
    other = forecast_spec(window=10).replace(train=TrainSpec(epochs=1, batch_size=16, patience=0))
    res = run_training(sine_csv(seed=1), other, tmp_path / "other")
    assert res.status == "finished" and not pl._PREPARED
    with pytest.raises(SpecError, match="MB"):   # too large: refused before any model is built
        pl.prewarm(data, forecast_spec().replace(train=TrainSpec(max_memory_mb=16)))
    assert not pl._PREPARED
    with pytest.raises(DataError, match="no column 'nope'"):
        pl.prewarm(data, forecast_spec(targets=("nope",)))
    assert pl.prepared_key(data, forecast_spec()) == pl.prepared_key(data, forecast_spec())
    assert pl.prepared_key(data, forecast_spec()) != pl.prepared_key(data, forecast_spec(window=10))
    assert pl.prepared_key(data, forecast_spec()) != pl.prepared_key(data + b"\n", forecast_spec())


def test_epoch_point_is_recorded_before_its_checkpoint(tmp_path):
    """A process killed between the two leaves the store ahead of the checkpoint (redone on resume), never a gap."""
    import json

    ck = tmp_path / "ck"
    seen = []

    def on_progress(p):
        if p.kind == "epoch":
            state = ck / "checkpoint.json"
            seen.append((p.epoch, json.loads(state.read_text())["epoch"] if state.exists() else 0))

    spec = forecast_spec().replace(train=TrainSpec(epochs=3, patience=0, batch_size=16))
    run_training(sine_csv(), spec, tmp_path / "a", on_progress=on_progress, checkpoint_dir=ck)
    assert seen == [(1, 0), (2, 1), (3, 2)]
