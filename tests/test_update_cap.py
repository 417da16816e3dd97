"""``TrainSpec.max_updates``: a cap on weight updates that shortens the epochs (and the patience) on big
training sets, so the classification presets' epochs, sized for tens of sequences, stay interactive on
thousands (issue 14, point 6). The app, the CLI, the Model page's estimate and the standalone script agree."""

from __future__ import annotations

import numpy as np
import pytest

from seqcore.config import DataSpec, RunSpec, TrainSpec, apply_preset, default_run_spec
from seqcore.errors import SpecError
from seqcore.modeling.training import MIN_CAPPED_PATIENCE, capped_schedule

from helpers import app

MODEL = "pages/2_Model.py"

pytestmark = pytest.mark.usefixtures("short_worker_idle")


@pytest.mark.parametrize("epochs,patience,cap,batches,expected", [
    (400, 50, 0, 85, (400, 50)),            # no cap: the spec's own schedule
    (400, 50, 6000, 3, (400, 50)),          # a small set: 1,200 updates fit under the cap
    (400, 50, 6000, 85, (70, 9)),           # 1,360 sequences in batches of 16: 70 epochs, patience 50 * 70/400
    (400, 50, 6000, 1000, (6, 5)),          # huge: the patience never drops below MIN_CAPPED_PATIENCE
    (400, 3, 6000, 1000, (6, 3)),           # ... nor rises above the spec's own
    (400, 0, 6000, 1000, (6, 0)),           # early stopping off stays off
    (20, 5, 10, 50, (1, 5)),                # fewer updates than one epoch: still one epoch
])
def test_capped_schedule(epochs, patience, cap, batches, expected):
    spec = TrainSpec(epochs=epochs, patience=patience, max_updates=cap)
    assert capped_schedule(spec, batches) == expected
    fitted, _ = capped_schedule(spec, batches)
    assert fitted == epochs or fitted * batches <= cap or fitted == 1     # never more updates than allowed
    assert MIN_CAPPED_PATIENCE == 5


def test_spec_validation_and_presets():
    with pytest.raises(SpecError, match="most weight updates"):
        TrainSpec(max_updates=-1).validate()
    classify = default_run_spec(DataSpec(task="classify", label="y"))
    assert classify.train.max_updates == 6000 and classify.train.epochs == 400
    assert apply_preset(classify, "quick").train.max_updates == 2000
    assert apply_preset(classify, "thorough").train.max_updates == 15000
    # forecasting and text presets set no cap, and pressing one clears a cap set before
    forecast = RunSpec(data=DataSpec(task="forecast", targets=("y",)), train=TrainSpec(max_updates=99))
    assert apply_preset(forecast, "balanced").train.max_updates == 0
    assert default_run_spec(DataSpec(task="text", text="t", label="y")).train.max_updates == 0


def _keras():
    from seqcore.modeling.training import quiet_tensorflow

    quiet_tensorflow()
    import keras

    return keras


def test_fit_runs_the_capped_schedule_and_reports_it():
    _keras()
    from seqcore.data.windows import ArraySource
    from seqcore.modeling.models import ModelShape, build_model
    from seqcore.config import ModelSpec
    from seqcore.modeling.training import fit

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 1)).astype(np.float32)
    y = (x[:, :, 0].mean(axis=1) > 0).astype(np.int64)
    spec = TrainSpec(epochs=30, patience=0, batch_size=16, max_updates=12, seed=1)     # 4 batches an epoch
    net = build_model(ModelSpec(units=(3,)), spec, ModelShape("classify", (6, 1), (2,)))
    seen = []
    out = fit(net, ArraySource(x, y), None, spec, on_progress=lambda p: p.kind == "epoch" and seen.append(p.epochs))
    assert out.epochs_run == 3 and out.capped == (3, 0)
    assert set(seen) == {3}            # the Train page's "epoch k of N" counts to the capped number
    uncapped = fit(net, ArraySource(x, y), None, spec.replace(epochs=2, max_updates=0))
    assert uncapped.capped is None and uncapped.epochs_run == 2


def _sequences(n: int, steps: int = 12):
    import io

    import pandas as pd

    rng = np.random.default_rng(4)
    labels = np.array(["a", "b"])[np.arange(n) % 2]
    rows = [np.sin(np.linspace(0, 3 if lab == "a" else 6, steps)) + 0.2 * rng.normal(size=steps) for lab in labels]
    df = pd.DataFrame(np.round(rows, 4), columns=[f"v{i}" for i in range(steps)])
    df.insert(0, "label", labels)
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


def test_a_capped_run_says_so_in_its_notes_and_metrics(tmp_path):
    from seqcore.config import ModelSpec
    from seqcore.pipeline import run_training

    spec = RunSpec(data=DataSpec(task="classify", label="label", val_fraction=0.2,
                                 test_fraction=0.2),
                   model=ModelSpec(units=(4,)),
                   train=TrainSpec(epochs=50, patience=20, batch_size=8, max_updates=24, seed=2))
    res = run_training(_sequences(80), spec, tmp_path / "run", name="seqs.csv")
    training = res.metrics["training"]
    n = training["sizes"]["train"]
    batches = -(-n // 8)
    assert 3 <= batches <= 8                       # 80 sequences, a fifth each for validation and test
    epochs = 24 // batches
    assert training["capped"] == {"epochs": epochs, "patience": 5, "max_updates": 24}
    assert training["epochs_run"] <= epochs
    note = next(n for n in res.metrics["notes"] if "Most weight updates" in n)
    assert f"at most {epochs} epochs, not 50" in note and f"is {batches} weight updates" in note
    assert "waited 5 epochs instead of 20" in note

def test_cli_flag_sets_the_cap():
    from seqcore.cli.main import make_parser
    from seqcore.cli.spec import build_spec
    from seqcore.data.io import read_csv

    from helpers import SAMPLES

    args = make_parser().parse_args(["train", str(SAMPLES / "GunPoint_TRAIN.csv"), "--task", "classify", "--max-updates", "500"])
    spec = build_spec(args, read_csv((SAMPLES / "GunPoint_TRAIN.csv").read_bytes(), name="GunPoint_TRAIN.csv").df)
    assert spec.train.max_updates == 500
    args = make_parser().parse_args(["train", str(SAMPLES / "GunPoint_TRAIN.csv"), "--task", "classify"])
    spec = build_spec(args, read_csv((SAMPLES / "GunPoint_TRAIN.csv").read_bytes(), name="GunPoint_TRAIN.csv").df)
    assert spec.train.max_updates == 6000          # the balanced classification preset's


def test_model_page_widget_and_estimate():
    at = app()
    at.button(key="home_sample_gunpoint").click().run()
    at.switch_page(MODEL).run()
    assert not at.exception
    cap = at.number_input(key="model_max_updates")
    assert cap.value == 6000 and "weight updates" in cap.label.lower() and "0 = no limit" in cap.help
    run_card = next(m for m in at.metric if m.label.startswith("Whole run"))
    assert "allows" not in (run_card.help or "")             # 50 sequences: the cap does not bite
    cap.set_value(30).run()
    assert not at.exception and at.session_state["train_spec"]["max_updates"] == 30
    run_card = next(m for m in at.metric if m.label.startswith("Whole run"))
    assert "'Most weight updates' (30) allows" in run_card.help and "of the 400 epochs" in run_card.help


def test_the_design_search_gets_a_third_of_the_cap():
    from seqcore.modeling.arch_select import SEARCH_EPOCHS, _planned_epochs, _search_train

    run = default_run_spec(DataSpec(task="classify", label="y")).train
    search = _search_train(run)
    assert search.max_updates == 2000 and search.epochs == SEARCH_EPOCHS
    assert _planned_epochs(search, 1360) == 2000 // 85          # 1,360 sequences: 23 epochs, not 80
    assert _planned_epochs(search, 40) == SEARCH_EPOCHS          # a small set: the whole search schedule
    assert _search_train(run.replace(max_updates=0)).max_updates == 0


def _estimate(per_epoch=0.1, planned=400):
    from pages._ui.estimates import TimeEstimate

    return TimeEstimate(per_epoch, per_epoch, per_epoch, True, (100, 200), 10.0, 20.0, per_epoch * planned, planned)


def test_model_page_counts_the_design_search_and_the_averaged_networks(arch_search, ensemble_on):
    from pages._ui.estimates import extra_trainings

    spec = default_run_spec(DataSpec(task="classify", label="y"))
    small = extra_trainings(spec, {"train": 50, "val": 0}, 150, _estimate())
    assert len(small) == 2
    # 2 designs x 3 folds x 80 epochs x 0.1 s x 33/50 of the data: 32 s at most, shown rounded
    assert "2 designs" in small[0] and "3-fold cross-validation" in small[0] and "about 10–30 s more, at most" in small[0]
    assert small[1].startswith("5 networks are trained and averaged (automatic)") and "for the other 4" in small[1]
    big = extra_trainings(spec, {"train": 1360, "val": 240}, 80, _estimate())
    # compared on the validation part, 23 capped epochs each (a third of 6,000 updates)
    assert "on the validation part" in big[0] and "about 1.5–5 s more" in big[0] and big[1].startswith("3 networks")
    one = extra_trainings(spec.replace(train=spec.train.replace(members=1, augment="off"),
                                       model=spec.model.replace(conv="off")), {"train": 50, "val": 0}, 150, _estimate())
    assert one == []
    forecast = default_run_spec(DataSpec(task="forecast", targets=("y",)))
    assert extra_trainings(forecast, {"train": 100, "val": 20}, 24, _estimate()) == []


def test_search_and_members_captions_follow_the_switches():
    from pages._ui.estimates import extra_trainings

    spec = default_run_spec(DataSpec(task="classify", label="y"))   # the suite's switches: search and ensemble off
    assert extra_trainings(spec, {"train": 50, "val": 0}, 150, _estimate()) == []
    asked = spec.replace(train=spec.train.replace(members=3))
    assert extra_trainings(asked, {"train": 50, "val": 0}, 150, _estimate())[0].startswith(
        "3 networks are trained and averaged (your setting)")
