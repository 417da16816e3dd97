"""Training steps split over the CPU cores (seqcore.modeling.data_parallel): the same training as one program
on the whole batch, up to float rounding, through the app's own fit (feeder, callbacks, early stopping);
left alone where it would change the arithmetic (batch normalisation) and where the batch is small.

The models train in one child process: JAX fixes its device count when it starts, so the two CPU devices
must be asked for before it is imported (``SEQSTUDIO_DATA_PARALLEL=2`` asks for two even on one core)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seqcore.modeling import data_parallel as dp

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(r"""
    import json, os, sys
    import numpy as np
    from seqcore.modeling.training import quiet_tensorflow, set_seed, fit
    quiet_tensorflow()
    import jax, keras
    from seqcore.config import ModelSpec, TrainSpec
    from seqcore.data.windows import ArraySource
    from seqcore.modeling import data_parallel as dp
    from seqcore.modeling.models import ModelShape, build_model

    out = {"devices": len(jax.devices("cpu")), "xla_flags": os.environ.get("XLA_FLAGS", "")}
    rng = np.random.default_rng(0)

    def train(mode, model_spec, shape, x, y, batch, epochs=2):
        os.environ[dp.ENV] = mode
        set_seed(0)
        spec = TrainSpec(batch_size=batch, epochs=epochs, patience=0, seed=0)
        net = build_model(model_spec, spec, shape)
        res = fit(net, ArraySource(x, y), ArraySource(x[:40], y[:40]), spec)
        return net, res

    def compare(name, model_spec, shape, x, y, batch):
        one, r1 = train("off", model_spec, shape, x, y, batch)
        many, r2 = train("auto", model_spec, shape, x, y, batch)
        out[name] = {
            "step": [type(one.train_function).__name__, type(many.train_function).__name__],
            "weights": max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), many.get_weights())),
            "history": [[{k: round(float(v), 5) for k, v in h.items() if k in ("loss", "val_loss", "accuracy", "mae")}
                         for h in r.history] for r in (r1, r2)],
            "why_not": dp.why_not(many),
            "spe": int(many.steps_per_execution),
            "groups_compiled": int(many.train_function._multi._cache_size())
            if isinstance(many.train_function, dp.ScannedTrainStep) else None,
        }

    # forecasting, LSTM: 600 windows at batch 64 (9 batches of 64 and a last one of 24)
    x = rng.standard_normal((600, 24, 2)).astype("float32")
    y = (x[:, -3:, :1].mean(axis=1, keepdims=True) * 0.7).astype("float32")
    compare("forecast_lstm", ModelSpec(cell="lstm", units=(16,)),
            ModelShape(task="forecast", input_shape=(24, 2), output_shape=(1, 1)), x, y, 64)
    # classification, GRU, three classes, softmax + sparse cross-entropy + accuracy
    xc = rng.standard_normal((500, 20, 3)).astype("float32")
    yc = (xc[:, :, 0].mean(axis=1) > 0).astype("int64") + (xc[:, :, 1].mean(axis=1) > 0.2).astype("int64")
    compare("classify_gru", ModelSpec(cell="gru", units=(12,)),
            ModelShape(task="classify", input_shape=(20, 3), output_shape=(3,)), xc, yc, 96)
    # a small batch is not split; over few batches (7) one step per call, as Keras does
    compare("small_batch", ModelSpec(cell="lstm", units=(8,)),
            ModelShape(task="forecast", input_shape=(24, 2), output_shape=(1, 1)), x[:200], y[:200], 32)
    # over 38 batches of 32: 16 steps per compiled call (two calls), then the last 6 one by one
    xl = rng.standard_normal((1200, 24, 2)).astype("float32")
    yl = (xl[:, -3:, :1].mean(axis=1, keepdims=True) * 0.7).astype("float32")
    compare("scanned", ModelSpec(cell="gru", units=(8,)),
            ModelShape(task="forecast", input_shape=(24, 2), output_shape=(1, 1)), xl, yl, 32)
    # the convolution front end has batch normalisation: one program
    compare("conv", ModelSpec(cell="lstm", units=(8,), conv="on"),
            ModelShape(task="classify", input_shape=(20, 3), output_shape=(3,)), xc[:200], yc[:200], 64)
    # a word table of 20,000 x 50 would be copied to every device each step: not split
    os.environ[dp.ENV] = "auto"
    big = build_model(ModelSpec(cell="gru", units=(8,), word_vectors="none"), TrainSpec(batch_size=64, seed=0),
                      ModelShape(task="text", input_shape=(30,), output_shape=(2,), vocab_size=20000))
    out["large"] = [dp.why_not(big), big.count_params() > dp.MAX_SPLIT_PARAMS]
    # dropout: every slice draws its own masks; training still learns
    _, rd = train("auto", ModelSpec(cell="lstm", units=(16,), dropout=0.3),
                  ModelShape(task="forecast", input_shape=(24, 2), output_shape=(1, 1)), x, y, 64, epochs=4)
    out["dropout"] = [h["loss"] for h in rd.history]
    # train_on_batch goes through the same step
    os.environ[dp.ENV] = "auto"
    net = build_model(ModelSpec(cell="lstm", units=(8,)), TrainSpec(batch_size=64, seed=0),
                      ModelShape(task="forecast", input_shape=(24, 2), output_shape=(1, 1)))
    logs = net.train_on_batch(x[:64], y[:64], return_dict=True)
    out["train_on_batch"] = [type(net.train_function).__name__, float(logs["loss"])]
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def child():
    env = {k: v for k, v in os.environ.items()
           if k not in ("XLA_FLAGS", "KERAS_BACKEND", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")}
    env.update(SEQSTUDIO_DATA_PARALLEL="2", SEQSTUDIO_BACKEND="jax", SEQSTUDIO_COMPILE_CACHE="off",
               PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600,
                          cwd=str(ROOT))
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(line[len("RESULT "):])


def test_devices_asked_for_before_jax_starts(child):
    assert child["devices"] == 2
    assert "--xla_force_host_platform_device_count=2" in child["xla_flags"]


@pytest.mark.parametrize("case", ["forecast_lstm", "classify_gru"])
def test_sliced_steps_train_the_same_model(child, case):
    r = child[case]
    assert r["step"] == ["function", "SlicedTrainStep"]
    assert r["why_not"] is None
    # same weights after two epochs (10 and 6 steps, each with a last smaller batch) up to float rounding
    assert r["weights"] < 1e-4, r
    one, many = r["history"]
    assert len(one) == len(many) == 2
    for a, b in zip(one, many):
        assert a.keys() == b.keys() and "val_loss" in a
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-3, abs=1e-4), (k, one, many)


def test_small_batches_and_batch_normalisation_are_not_split(child):
    assert child["small_batch"]["step"] == ["function", "ScannedTrainStep"]
    assert child["small_batch"]["weights"] < 1e-6
    # batch normalisation would see each slice's statistics: not split, several steps per call instead
    assert child["conv"]["step"] == ["function", "ScannedTrainStep"]
    assert child["conv"]["why_not"] == "batch normalisation"
    assert child["conv"]["weights"] < 1e-4
    assert child["large"] == ["large weights", True]


def test_scanned_steps_train_the_same_model(child):
    r = child["scanned"]
    assert r["step"] == ["function", "ScannedTrainStep"]
    assert r["groups_compiled"] == 1      # the 16-step program ran
    assert r["spe"] == 1                  # raised only while fit ran
    assert child["small_batch"]["groups_compiled"] == 0   # 7 batches: not worth compiling it
    assert r["weights"] < 1e-4, r
    for a, b in zip(*r["history"]):
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-3, abs=1e-4), (k, r["history"])


def test_dropout_and_train_on_batch(child):
    losses = child["dropout"]
    assert len(losses) == 4 and all(l == l and l < 10 for l in losses)   # finite
    assert losses[-1] < losses[0]
    kind, loss = child["train_on_batch"]
    assert kind == "SlicedTrainStep" and loss == loss


def test_slices_follow_the_setting(monkeypatch):
    monkeypatch.delenv(dp.ENV, raising=False)
    assert dp.slices_for(32, 2) == 1          # below 2 x MIN_SLICE
    assert dp.slices_for(64, 2) == 2
    assert dp.slices_for(256, 2) == 2
    assert dp.slices_for(256, 8) == 8
    assert dp.slices_for(100, 8) == 3
    monkeypatch.setenv(dp.ENV, "off")
    assert dp.slices_for(256, 8) == 1
    monkeypatch.setenv(dp.ENV, "4")
    assert dp.slices_for(256, 8) == 4


def test_configure_devices_respects_what_is_set(monkeypatch):
    # JAX is already running in the test process: nothing may change then
    import jax  # noqa: F401

    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert dp.configure_devices() == 1
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"
    # before JAX starts (simulated): the flag is added, unless one is set or the setting is off
    monkeypatch.delitem(sys.modules, "jax")
    monkeypatch.setenv(dp.ENV, "3")
    assert dp.configure_devices() == 3
    assert os.environ["XLA_FLAGS"].endswith("--xla_force_host_platform_device_count=3")
    assert dp.configure_devices() == 1        # already named: left alone
    # a worker given one core of two (SEQSTUDIO_MAX_WORKERS=2) gets one device: batches are not split
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setenv(dp.ENV, "auto")
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    assert dp.configure_devices() == 1 and os.environ["XLA_FLAGS"] == ""
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    monkeypatch.setattr(dp, "usable_cores", lambda: 4)
    assert dp.configure_devices() == 2
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setenv(dp.ENV, "off")
    assert dp.configure_devices() == 1 and os.environ["XLA_FLAGS"] == ""
