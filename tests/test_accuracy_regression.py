"""Accuracy regression checks: a fast subset of bench/accuracy.py with loose thresholds, and the
defaults the accuracy depends on (task-aware presets, step grouping, small validation parts).

The full benchmark (balanced preset, every dataset) is `python bench/accuracy.py`; its results are
in bench/RESULTS.md. Here the "quick" preset trains through the same path (suggested column roles,
`apply_preset`, `run_training`) with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.accuracy import CASES, default_data_spec, run_case, run_spec
from seqcore.config import PRESETS, TASK_PRESETS, DataSpec, ModelSpec, RunSpec, TrainSpec, apply_preset, \
    preset_overrides
from seqcore.errors import SpecError
from seqcore.data.io import read_csv
from seqcore.modeling.models import PAD_VALUE
from seqcore.modeling.tasks import classify, get_task
from seqcore.modeling.tasks.common import MIN_VALIDATION, train_on_small_validation

# ----------------------------------------------------------------------------- presets


def test_presets_are_task_aware_and_keep_the_signature():
    forecast = apply_preset(RunSpec(data=DataSpec(task="forecast", targets=("y",))), "balanced")
    assert forecast.model.units == PRESETS["balanced"]["model"]["units"] and not forecast.model.bidirectional
    assert forecast.train.epochs == PRESETS["balanced"]["train"]["epochs"]
    seq = apply_preset(RunSpec(data=DataSpec(task="classify", label="y")), "balanced")
    assert seq.model.bidirectional and seq.train.epochs == TASK_PRESETS["classify"]["balanced"]["train"]["epochs"]
    text = apply_preset(RunSpec(data=DataSpec(task="text", text="t", label="y")), "balanced")
    assert text.model.bidirectional and text.model.dropout >= 0.3
    assert text.model.word_pairs > 0 and text.train.final_fit                 # bench/RESULTS.md, movie reviews
    assert not forecast.train.final_fit and not seq.train.final_fit          # measured on text only
    with pytest.raises(SpecError):
        apply_preset(RunSpec(), "fastest")
    with pytest.raises(SpecError):
        preset_overrides("quick", "regression")


@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_preset_gives_the_same_configuration_whatever_was_set_before(task, preset):
    data = DataSpec(task=task, targets=("y",) if task == "forecast" else (), label="y", text="t")
    plain = apply_preset(RunSpec(data=data), preset)
    odd = RunSpec(data=data, model=ModelSpec(units=(7, 7, 7), bidirectional=not plain.model.bidirectional,
                                             dropout=0.55),
                  train=TrainSpec(epochs=3, patience=1, batch_size=5, learning_rate=0.5, lr_schedule="cosine"))
    again = apply_preset(odd, preset)
    assert again.model == plain.model
    assert again.train == plain.train
    plain.validate()


# ----------------------------------------------------------------------------- step grouping


def test_group_puts_k_steps_side_by_side_and_fills_the_last_group():
    seq = np.array([[0, 10], [1, 11], [2, 12], [3, 13], [4, 14]], dtype=np.float32)  # (5 steps, 2 features)
    out = classify.group(seq, 2)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out[0], [0, 10, 1, 11])
    np.testing.assert_array_equal(out[2], [4, 14, 4, 14])  # the last step repeated
    assert classify.group(seq, 1) is seq


def test_group_size_auto_and_explicit():
    auto = classify.RNN_STEPS
    assert classify.group_size(0, auto) == 1
    assert classify.group_size(0, auto + 1) == 2
    assert classify.group_size(0, 150) == -(-150 // auto)
    assert classify.group_size(3, 150) == 3
    assert classify.group_size(500, 20) == 20


def test_grouped_varying_lengths_pad_whole_steps_and_mask(tmp_path):
    rng = np.random.default_rng(0)
    lengths = [70, 61, 45, 70, 33, 52] * 5
    rows = [[f"c{i % 2}"] + list(rng.normal(size=n)) + [np.nan] * (70 - n) for i, n in enumerate(lengths)]
    df = pd.DataFrame(rows, columns=["label"] + [f"t{j}" for j in range(70)])
    df = read_csv(df.to_csv(index=False).encode()).df
    prep = get_task("classify").prepare(df, DataSpec(task="classify", label="label", val_fraction=0.2,
                                                     test_fraction=0.2), seed=0)
    k = prep.state["group"]
    assert k == classify.group_size(0, 70) > 1
    steps, width = prep.shape.input_shape
    assert (steps, width) == (-(-70 // k), k) and prep.shape.masking
    x = np.concatenate([prep.train.x, prep.test.x] + ([prep.val.x] if prep.val is not None else []))
    padded = x == PAD_VALUE
    # a network step is either all padding or all data, so the Masking layer skips exactly the padding
    assert np.all(padded.all(axis=2) == padded.any(axis=2))
    # the 1-NN baseline still compares the plain sequences
    assert prep.extra["x_train"].shape[1:] == (70, 1)


# ----------------------------------------------------------------------------- small validation parts


def test_small_validation_part_joins_training():
    tr, va, notes = train_on_small_validation(np.array([0, 2, 3]), np.array([1, 4]))
    assert tr.tolist() == [0, 1, 2, 3, 4] and len(va) == 0 and "too few" in notes[0]
    big = np.arange(MIN_VALIDATION)
    tr2, va2, notes2 = train_on_small_validation(np.arange(100, 150), big)
    assert len(va2) == MIN_VALIDATION and not notes2
    tr3, va3, notes3 = train_on_small_validation(np.arange(5), np.arange(0))
    assert len(tr3) == 5 and len(va3) == 0 and not notes3


def test_gunpoint_trains_on_all_50_sequences(samples):
    spec = default_data_spec(CASES["gunpoint"])
    df = read_csv((samples / "GunPoint_TRAIN.csv").read_bytes()).df
    test_df = read_csv((samples / "GunPoint_TEST.csv").read_bytes()).df
    prep = get_task("classify").prepare(df, spec, test_df=test_df, seed=42)
    assert prep.val is None and len(prep.train) == 50 and len(prep.test) == 150
    assert any("validation" in n for n in prep.notes)


# ----------------------------------------------------------------------------- fast accuracy subset


@pytest.mark.slow
@pytest.mark.usefixtures("base_search")   # the app's default forecaster: its base picked by validation
def test_airline_quick_beats_the_seasonal_naive(tmp_path):
    row = run_case(CASES["airline"], "quick", tmp_path)
    base = row["baselines"]
    # bench/RESULTS.md (JAX, balanced, the fitted defaults: horizon 12): MASE ours 1.084, seasonal naive 2.256,
    # naive 4.340
    assert row["ours"] < base["seasonal_naive"] < base["naive"], row


@pytest.mark.slow
def test_sunspots_quick_beats_naive(tmp_path):
    row = run_case(CASES["sunspots"], "quick", tmp_path)
    assert row["mae_vs_naive"] < 0.85, row  # bench/RESULTS.md, balanced (fitted defaults, horizon 11): 0.479
    assert row["ours"] < row["baselines"]["naive"], row


@pytest.mark.slow
def test_gunpoint_quick_beats_majority_by_a_margin(tmp_path):
    spec = run_spec(CASES["gunpoint"], "quick")
    assert spec.model.bidirectional and spec.data.label == "label"
    row = run_case(CASES["gunpoint"], "quick", tmp_path)
    # bench/RESULTS.md (balanced, 5 seeds): 0.967-0.980; majority 0.493, 1-NN 0.913
    assert row["ours"] >= row["baselines"]["majority_class"] + 0.25, row
    assert row["train_seconds"] < 300, row  # loose: a runaway, not a speed target


# ----------------------------------------------------------------------------- results file


def test_results_section_is_replaced_and_the_text_around_it_kept(tmp_path):
    from bench.accuracy import BEGIN, END, update_results_section

    path = tmp_path / "RESULTS.md"
    assert not update_results_section("| table |", path)  # no file: nothing written
    path.write_text("# R\n\n## Speed\n\nfast\n\n## Accuracy\n\n(placeholder)\n\n## Notes\n\nkeep me\n")
    assert update_results_section("| table 1 |", path)
    text = path.read_text()
    assert "(placeholder)" not in text and "| table 1 |" in text and "fast" in text and "keep me" in text
    path.write_text(text.replace(END, END + "\n\nFindings written by hand."))
    assert update_results_section("| table 2 |", path)
    text = path.read_text()
    assert "| table 2 |" in text and "| table 1 |" not in text and "Findings written by hand." in text
    assert text.count(BEGIN) == 1 and text.index("## Accuracy") < text.index(BEGIN) < text.index("## Notes")
