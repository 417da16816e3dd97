"""Issue 14, models for small, long sequences: the convolution front end, attention pooling, augmentation of
training batches, and the per-data-set "auto" choice (seqcore.modeling.arch_select)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec, apply_preset, default_run_spec
from seqcore.errors import SpecError
from seqcore.modeling.augment import augment_batch, batch_rng
from seqcore.modeling.models import PAD_VALUE, ModelShape, build_model, estimate

TINY = TrainSpec(epochs=2, patience=0, batch_size=8, seed=3)


def _keras():
    from seqcore.modeling.training import quiet_tensorflow

    quiet_tensorflow()
    import keras

    return keras


# ----------------------------------------------------------------------------- spec


def test_defaults_and_validation_messages():
    assert ModelSpec().conv == "off" and TrainSpec().augment == "off"          # plain dataclass defaults
    spec = default_run_spec(DataSpec(task="classify", label="y"))
    assert spec.model.conv == "auto" and spec.train.augment == "auto"          # the balanced classify preset
    fc = default_run_spec(DataSpec(task="forecast", targets=("y",)))
    assert fc.model.conv == "off" and fc.train.augment == "off"
    with pytest.raises(SpecError, match="convolution front end must be one of"):
        ModelSpec(conv="yes").validate()
    with pytest.raises(SpecError, match="augmentation must be one of"):
        TrainSpec(augment="maybe").validate()
    with pytest.raises(SpecError, match="pooling must be one of"):
        ModelSpec(pooling="attn").validate()
    with pytest.raises(SpecError, match="convolution front end is for sequence classification only"):
        RunSpec(data=DataSpec(task="forecast", targets=("y",)), model=ModelSpec(conv="on")).validate()
    with pytest.raises(SpecError, match="Augmenting the training data is for sequence classification only"):
        RunSpec(data=DataSpec(task="text", text="t", label="y"), train=TrainSpec(augment="on")).validate()
    # "auto" is fine everywhere: it means off outside sequence classification
    RunSpec(data=DataSpec(task="text", text="t", label="y"), model=ModelSpec(conv="auto"),
            train=TrainSpec(augment="auto")).validate()
    # every preset sets the new keys, so pressing one gives the same settings whatever was set before
    a = apply_preset(RunSpec(data=DataSpec(task="forecast", targets=("y",)), model=ModelSpec(conv="on")), "quick")
    assert a.model.conv == "off"


# ----------------------------------------------------------------------------- networks


@pytest.mark.parametrize("conv,pooling", [("on", "last"), ("off", "attention"), ("on", "attention")])
def test_new_networks_save_and_load_safely(conv, pooling, tmp_path):
    keras = _keras()
    from seqcore.outputs.bundle import check_model_config

    shape = ModelShape("classify", (9, 2), (3,), masking=True)
    model = ModelSpec(units=(6,), conv=conv, pooling=pooling, bidirectional=True)
    net = build_model(model, TINY, shape)
    assert net.count_params() == estimate(model, TINY, shape).params
    path = tmp_path / "m.keras"
    net.save(str(path))
    check_model_config(json.loads(zipfile.ZipFile(path).read("config.json")))   # on the bundle allow-list
    back = keras.saving.load_model(str(path), safe_mode=True, compile=False)
    x = np.random.default_rng(0).normal(size=(4, 9, 2)).astype(np.float32)
    x[1, 5:] = PAD_VALUE
    np.testing.assert_allclose(net.predict_on_batch(x), back.predict_on_batch(x), rtol=1e-5, atol=1e-6)
    if conv == "on":
        assert any(layer.name == "conv_3" for layer in net.layers)


@pytest.mark.parametrize("conv,pooling", [("on", "last"), ("off", "attention"), ("on", "mean")])
def test_padding_never_changes_the_prediction(conv, pooling):
    """A sequence padded to 12 steps gets the same probabilities as the same sequence padded to 9: padded steps
    add nothing to the convolution average nor to the attention weights."""
    _keras()
    model = ModelSpec(units=(5,), conv=conv, pooling=pooling)
    short = build_model(model, TINY, ModelShape("classify", (9, 2), (3,), masking=True))
    long = build_model(model, TINY, ModelShape("classify", (12, 2), (3,), masking=True))
    long.set_weights(short.get_weights())
    rng = np.random.default_rng(1)
    real = rng.normal(size=(6, 2)).astype(np.float32)
    x9 = np.full((2, 9, 2), PAD_VALUE, np.float32)
    x12 = np.full((2, 12, 2), PAD_VALUE, np.float32)
    x9[:, :6], x12[:, :6] = real, real
    x9[1], x12[1, :9] = rng.normal(size=(9, 2)), x9[1]          # a full-length one beside it
    np.testing.assert_allclose(short.predict_on_batch(x9), long.predict_on_batch(x12), rtol=1e-4, atol=1e-5)


def test_conv_is_ignored_outside_sequence_classification():
    _keras()
    shape = ModelShape("forecast", (8, 1), (2, 1))
    net = build_model(ModelSpec(units=(4,), conv="auto"), TINY, shape)
    assert not [layer for layer in net.layers if "conv" in layer.name]


# ----------------------------------------------------------------------------- augmentation


def test_augmentation_is_deterministic_and_keeps_shapes_and_padding():
    x = np.random.default_rng(0).normal(size=(5, 20, 3)).astype(np.float32)
    x[2, 14:] = PAD_VALUE
    a = augment_batch(x, batch_rng(7, 1, 0), PAD_VALUE)
    b = augment_batch(x, batch_rng(7, 1, 0), PAD_VALUE)
    c = augment_batch(x, batch_rng(7, 2, 0), PAD_VALUE)
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)                        # same seed, epoch and batch: same batch
    assert not np.array_equal(a, c)                            # another epoch: other perturbations
    assert (a[2, 14:] == PAD_VALUE).all() and not (a[2, :14] == PAD_VALUE).any()
    assert not np.array_equal(a, x) and np.abs(a - x)[x != PAD_VALUE].mean() < 0.5   # small changes
    np.testing.assert_array_equal(x[2, 14:], PAD_VALUE)        # the input itself is untouched
    ids = np.arange(12).reshape(2, 6)                          # text ids: left alone
    assert augment_batch(ids, batch_rng(0, 0, 0), PAD_VALUE) is ids


def test_augmented_training_repeats_under_the_seed():
    _keras()
    from seqcore.data.windows import ArraySource
    from seqcore.modeling.training import fit, set_seed

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 10, 2)).astype(np.float32)
    y = (x[:, :, 0].mean(axis=1) > 0).astype(np.int64)
    shape = ModelShape("classify", (10, 2), (2,))
    spec = TINY.replace(augment="on")
    losses = []
    for _ in range(2):
        set_seed(spec.seed)
        net = build_model(ModelSpec(units=(4,)), spec, shape)
        out = fit(net, ArraySource(x, y), None, spec)
        losses.append([h["loss"] for h in out.history])
    assert losses[0] == losses[1]


# ----------------------------------------------------------------------------- the "auto" choice


def _sequences(n: int, steps: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b"])[np.arange(n) % 2]
    t = np.linspace(0, 1, steps)
    rows = [np.sin(2 * np.pi * (2 if lab == "a" else 3) * t) + 0.3 * rng.normal(size=steps) for lab in labels]
    df = pd.DataFrame(np.round(rows, 4), columns=[f"v{i}" for i in range(steps)])
    df.insert(0, "label", labels)
    return df


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _choice(train: pd.DataFrame, test: pd.DataFrame, tmp_path, name: str) -> dict:
    from seqcore.modeling import arch_select
    from seqcore.pipeline import run_training

    spec = default_run_spec(DataSpec(task="classify", label="label")).replace(
        train=TrainSpec(epochs=3, patience=0, batch_size=8, seed=5, augment="auto"),
        model=ModelSpec(units=(4,), conv="auto", bidirectional=False))
    points = []
    res = run_training(_csv(train), spec, tmp_path / name, test_data=_csv(test), on_progress=points.append)
    choice = res.metrics["model_choice"]
    assert choice["how"] == "3-fold cross-validation"
    assert set(choice["validation"]) == {c["name"] for c in arch_select.candidates(spec)}
    assert any(p.kind == "choose" for p in points)
    assert any("The test data played no part" in n for n in res.notes)
    return choice


def test_auto_choice_never_reads_the_test_part(tmp_path, arch_search):
    """Shuffling the test labels (and values) changes nothing about the choice: only the training part is read."""
    train, test = _sequences(24, 16, 0), _sequences(10, 16, 1)
    first = _choice(train, test, tmp_path, "a")
    shuffled = test.copy()
    shuffled["label"] = shuffled["label"].to_numpy()[::-1]
    shuffled.iloc[:, 1:] = shuffled.iloc[:, 1:].to_numpy()[np.random.default_rng(2).permutation(len(shuffled))]
    second = _choice(train, shuffled, tmp_path, "b")
    assert first["picked"] == second["picked"] and first["validation"] == second["validation"]


def test_auto_without_the_search_is_the_recurrent_network_alone(tmp_path):
    from seqcore.outputs.bundle import read_bundle
    from seqcore.pipeline import run_training

    spec = RunSpec(data=DataSpec(task="classify", label="label"), model=ModelSpec(units=(4,), conv="auto"),
                   train=TINY.replace(augment="auto"))
    res = run_training(_csv(_sequences(24, 8, 0)), spec, tmp_path / "r", test_data=_csv(_sequences(6, 8, 1)))
    assert res.metrics["model_choice"]["how"] == "off" and res.metrics["model_choice"]["picked"] == "plain"
    saved = read_bundle(res.bundle_dir).spec        # the bundle holds what was trained, no "auto" left
    assert saved.model.conv == "off" and saved.train.augment == "off"


def test_candidates_follow_the_auto_settings():
    from seqcore.modeling.arch_select import candidates, pending

    both = RunSpec(data=DataSpec(task="classify", label="y"), model=ModelSpec(conv="auto"),
                   train=TrainSpec(augment="auto"))
    full = candidates(both)
    assert [c["name"] for c in full] == ["plain", "conv+augment+attention"]   # the full design pools with attention
    assert [c["pooling"] for c in full] == ["last", "attention"]
    mean = candidates(both.replace(model=ModelSpec(conv="auto", pooling="mean")))
    assert [(c["name"], c["pooling"]) for c in mean] == [("plain", "mean"), ("conv+augment", "mean")]   # kept
    one = both.replace(train=TrainSpec(augment="on"))
    assert [c["name"] for c in candidates(one)] == ["augment", "conv+augment"]
    assert not pending(both.replace(model=ModelSpec(conv="on"), train=TrainSpec(augment="off")))
    assert not pending(RunSpec(data=DataSpec(task="text", text="t", label="y"), model=ModelSpec(conv="auto")))


# ----------------------------------------------------------------------------- Model page


def test_model_page_widgets_for_the_new_settings():
    from helpers import APP, app

    at = app()
    at.button(key="home_sample_gunpoint").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception, at.exception
    conv, aug = at.selectbox(key="model_conv"), at.selectbox(key="model_augment")
    assert conv.value == "auto" and aug.value == "auto"                         # the balanced classify preset
    assert "convolution layers" in conv.help and "'Auto'" in conv.help and "test data is never used" in conv.help
    assert "noise" in aug.help and "'Auto'" in aug.help
    params = lambda: int(next(m for m in at.metric if m.label.startswith("Parameters")).value.replace(",", ""))
    before = params()
    conv.set_value("on").run()
    assert not at.exception and at.session_state["model_spec"]["conv"] == "on"
    assert params() > before                                                   # the convolution layers count
    at.selectbox(key="model_augment").set_value("off").run()
    assert at.session_state["train_spec"]["augment"] == "off"
    pool = at.selectbox(key="model_pooling")
    assert any(o.startswith("attention") for o in pool.options)       # formatted labels
    pool.set_value("attention").run()
    assert not at.exception and at.session_state["model_spec"]["pooling"] == "attention"
    # forecasting and text have no such widgets
    at.switch_page(APP).run()
    at.button(key="home_sample_reviews").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not [w for w in at.selectbox if w.key in ("model_conv", "model_augment")]


# ----------------------------------------------------------------------------- the standalone script


@pytest.mark.parametrize("masking", [True, False])
def test_script_builds_the_same_network_with_the_convolution_front_end(masking, tmp_path):
    import importlib.util

    from seqcore.outputs.codegen import training_script

    _keras()
    spec = RunSpec(data=DataSpec(task="classify", label="y"),
                   model=ModelSpec(units=(5,), conv="on", pooling="attention", bidirectional=True),
                   train=TINY.replace(augment="on"))
    text = training_script(spec)
    assert "CONV = True" in text and "this script trains on the sequences as they are" in text
    path = tmp_path / "train.py"
    path.write_text(text, encoding="utf-8")
    mod_spec = importlib.util.spec_from_file_location(f"gen_conv_{masking}", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    shape = ModelShape("classify", (9, 2), (3,), masking=masking)
    ours, theirs = mod.build_model(shape.input_shape, 3, masking), build_model(spec.model, spec.train, shape)
    assert ours.count_params() == theirs.count_params()
    assert [(type(layer).__name__, layer.name) for layer in ours.layers] == \
        [(type(layer).__name__, layer.name) for layer in theirs.layers]
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 9, 2)).astype(np.float32)
    if masking:
        x[0, 6:] = PAD_VALUE
    np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x), rtol=1e-5, atol=1e-6)
    auto = training_script(spec.replace(model=spec.model.replace(conv="auto")))
    assert "CONV = False" in auto and "does not do: set True to add it" in auto


def test_a_resumed_run_keeps_the_design_its_interrupted_run_picked(tmp_path, arch_search):
    """The design search runs once: its choice is kept in the checkpoint folder, and a resumed run takes it back
    (the same helpers as the forecaster's base choice, base_select.load_kept_choice / save_choice)."""
    from types import SimpleNamespace

    from seqcore.modeling import arch_select

    spec = default_run_spec(DataSpec(task="classify", label="y"))
    design = {"conv": "on", "augment": "on", "pooling": "attention"}
    from seqcore.modeling.base_select import save_choice

    save_choice(tmp_path, arch_select.CHOICE_FILE, {"picked": "conv+augment+attention", "design": design,
                                                    "validation": {}, "seconds": 1.0, "how": "validation"},
                "The network is the full design.")
    prep = SimpleNamespace(extra={}, notes=[])
    picked, prep = arch_select.choose(spec, prep, checkpoint_dir=tmp_path, resume=True)
    assert (picked.model.conv, picked.train.augment, picked.model.pooling) == ("on", "on", "attention")
    assert prep.extra["model_choice"]["picked"] == "conv+augment+attention"
    assert prep.notes == ["The network is the full design. (The choice was kept from the interrupted run.)"]
    # without resume the saved choice is not read: a fresh run searches again (here: too few sequences to
    # compare designs, so the default design, and the new choice replaces the saved one)
    from seqcore.data.windows import ArraySource

    fresh = SimpleNamespace(extra={}, notes=[], train=ArraySource(np.zeros((2, 3, 1)), np.array([0, 1])),
                            val=None, shape=SimpleNamespace(input_shape=(3, 1)))
    again, fresh = arch_select.choose(spec, fresh, checkpoint_dir=tmp_path, resume=False)
    assert fresh.extra["model_choice"]["how"] == "default" and again.model.conv == "off"
    assert json.loads((tmp_path / arch_select.CHOICE_FILE).read_text())["how"] == "default"
