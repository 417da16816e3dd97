"""Seed ensembles (TrainSpec.members, seqcore.modeling.ensemble): K networks that differ only in their seed,
class probabilities averaged; each member's score kept (metrics["ensemble"]); bundles with K members; the
Train and Results pages, the report, the CLI and the generated script."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.modeling import ensemble
from seqcore.modeling.progress import NOT_CURVE_KINDS, HistoryColumns, Progress

from helpers import page, page_state, texts

TRAIN, RESULTS = "pages/3_Train.py", "pages/4_Results.py"


# ----------------------------------------------------------------------------- plain functions


def test_member_seeds_start_with_the_run_seed_and_do_not_overlap_neighbouring_runs():
    s42, s43 = ensemble.member_seeds(42, 5), ensemble.member_seeds(43, 5)
    assert s42[0] == 42 and len(set(s42)) == 5
    assert not set(s42) & set(s43)
    assert ensemble.member_seeds(7, 1) == [7]


def test_automatic_member_counts_by_training_size(ensemble_on):
    assert [ensemble_plan("classify", 0, n).members for n in (28, 299, 300, 2_999, 3_000)] == [5, 5, 3, 3, 1]
    assert [ensemble_plan("text", 0, n).members for n in (500, 9_999, 10_000)] == [3, 3, 1]
    assert ensemble_plan("forecast", 0, 50).members == 1
    p = ensemble_plan("classify", 0, 50)
    assert p.auto and p.on and "small training set (50 sequences)" in ensemble.plan_note(p)
    assert "averaging 5 networks trained with different seeds" in ensemble.plan_note(p)
    explicit = ensemble_plan("classify", 4, 100_000)
    assert explicit.members == 4 and not explicit.auto
    assert not ensemble_plan("classify", 1, 10).on and ensemble.plan_note(ensemble_plan("classify", 1, 10)) == ""


def ensemble_plan(task, members, n):
    return ensemble.plan(task, members, n)


def test_automatic_members_can_be_switched_off_but_an_explicit_count_is_kept(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_ENSEMBLE", "0")
    assert ensemble.plan("classify", 0, 50).members == 1
    assert ensemble.plan("classify", 3, 50).members == 3


def test_forecast_refuses_more_than_one_member_plainly():
    with pytest.raises(SpecError, match="for classification"):
        ensemble.plan("forecast", 3, 500)
    assert ensemble.plan("forecast", 1, 500).members == 1


def test_members_setting_is_validated():
    assert TrainSpec().members == 0
    TrainSpec(members=20).validate()
    for bad in (-1, 21, 2.5):
        with pytest.raises(SpecError):
            TrainSpec(members=bad).validate()
    assert RunSpec.from_dict({"train": {"seed": 3}}).train.members == 0   # old specs: automatic


def test_work_budget_stops_adding_automatic_members_only(ensemble_on):
    auto, fixed = ensemble.plan("classify", 0, 50), ensemble.plan("classify", 5, 50)
    small = ensemble.member_work(200, 50, 30)                      # GunPoint-like: 300,000 example-steps
    assert all(ensemble.keep_adding(auto, k, [small] * k) for k in range(1, 5))
    assert not ensemble.keep_adding(auto, 5, [small] * 5)          # 5 planned: done
    big = ensemble.AUTO_BUDGET_WORK // 2 + 1
    assert not ensemble.keep_adding(auto, 1, [big])                # a second one would pass the budget
    assert ensemble.keep_adding(fixed, 1, [big]) and not ensemble.keep_adding(fixed, 5, [big] * 5)
    assert ensemble.members_after_first(auto, small) == 5 and ensemble.members_after_first(fixed, big) == 5
    assert ensemble.members_after_first(auto, ensemble.AUTO_BUDGET_WORK // 3) == 3
    assert ensemble.members_after_first(auto, ensemble.AUTO_BUDGET_WORK * 2) == 1


def test_texts_have_their_own_work_budget(ensemble_on):
    """3 text networks fit where one sequence network's work would already stop the count at 1: a text's
    example-steps are cheaper (ensemble.AUTO_BUDGET_WORK_TEXT; bench/text_models.py measured the gain)."""
    text, seqs = ensemble.plan("text", 0, 3_900), ensemble.plan("classify", 0, 2_000)
    reviews = ensemble.member_work(15, 3_100, 64) + ensemble.member_work(5, 3_900, 64)   # fit + final fit
    assert ensemble.budget("text") == (ensemble.AUTO_BUDGET_WORK_TEXT, ensemble.AUTO_BUDGET_S_TEXT)
    assert ensemble.members_after_first(text, reviews) == 3
    assert ensemble.members_after_first(seqs, reviews) == 1
    assert ensemble.members_after_first(text, ensemble.AUTO_BUDGET_WORK_TEXT // 2 + 1) == 1
    note = ensemble.run_note({"members": 1, "seconds": [200.0]}, text)
    assert "about 90 s of training" in note
    assert "about 40 s of training" in ensemble.run_note({"members": 1, "seconds": [60.0]}, seqs)


def test_average_is_the_mean_of_the_members():
    rng = np.random.default_rng(0)
    outs = [rng.dirichlet(np.ones(3), size=7) for _ in range(4)]
    assert np.allclose(ensemble.average(outs), (outs[0] + outs[1] + outs[2] + outs[3]) / 4)


def test_spread_sentence_in_plain_words():
    metrics = {"test": {"accuracy": 0.9733}, "ensemble": {
        "members": 5, "seeds": [1, 2, 3, 4, 5], "per_member": {"accuracy": [0.95, 0.96, 0.98, 0.97, 0.97]},
        "spread": {"sd": 0.0114, "min": 0.95, "max": 0.98, "mean": 0.966}}}
    s = ensemble.spread_sentence(metrics)
    assert s == ("Seed spread: the 5 networks scored 0.95–0.98 accuracy alone (sd 1.1 points); "
                 "the averaged model 0.97.")
    same = dict(metrics, ensemble=dict(metrics["ensemble"], spread={"sd": 0.0, "min": 1.0, "max": 1.0}))
    assert ensemble.spread_sentence(same).startswith("Seed spread: the 5 networks each scored 1.00 accuracy alone")
    assert ensemble.spread_sentence({"test": {"accuracy": 1.0}}) == ""
    assert ensemble.spread_sentence({"ensemble": {"spread": {"sd": "x"}}}) == ""


def test_member_progress_is_its_own_kind_and_left_out_of_the_loss_curves():
    seen = []
    fwd = ensemble.as_member(seen.append, 3, 5)
    fwd(Progress(kind="batch", epoch=4, epochs=60, batch=2, batches=4, loss=0.5))
    fwd(Progress(kind="epoch", epoch=4, epochs=60, batch=4, batches=4, loss=0.4, val_loss=0.3))
    fwd(Progress(kind="final", epoch=2, epochs=4, batch=4, batches=4, loss=0.4))
    assert [p.kind for p in seen] == ["member"] * 3
    assert [(p.epoch, p.epochs, p.batch, p.batches) for p in seen] == [(3, 5, 3, 60), (3, 5, 4, 60), (3, 5, 2, 4)]
    assert seen[2].metrics["phase"] == "final"
    assert "member" in NOT_CURVE_KINDS
    assert len(HistoryColumns.from_points(seen + [Progress(kind="epoch", epoch=1, epochs=2, loss=1.0)])) == 1
    done, k, text = ensemble.member_phase(seen[1], ended=False)
    assert (done, k) == (2 + 4 / 60, 5) and text.startswith("Training member 3 of 5")


# ----------------------------------------------------------------------------- real runs (tiny)


def _keras() -> None:
    """Import Keras the way a run does (the backend picked first: importing it bare would take TensorFlow)."""
    import importlib.util

    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras is not installed")
    from seqcore.modeling.training import quiet_tensorflow

    quiet_tensorflow()


def _sequences(n: int = 36, steps: int = 16, seed: int = 0) -> bytes:
    """A wide classification CSV: label, then the values (a sine or a ramp plus noise)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, steps)
    rows = []
    for i in range(n):
        y = i % 2
        base = np.sin(t) if y else np.linspace(-1, 1, steps)
        rows.append([f"c{y}", *(base + rng.normal(0, 0.3, steps)).round(4)])
    return pd.DataFrame(rows, columns=["label", *[f"v{j}" for j in range(steps)]]).to_csv(index=False).encode()


def _classify_spec(members: int, **train) -> RunSpec:
    return RunSpec(data=DataSpec(task="classify", label="label", layout="wide"),
                   model=ModelSpec(units=(4,)),
                   train=TrainSpec(**dict({"epochs": 3, "batch_size": 16, "patience": 0, "seed": 5, "members": members},
                                          **train)))


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """A finished 3-member run with a separate test file: (result, train bytes, test bytes, progress points)."""
    _keras()
    from seqcore.pipeline import run_training

    data, test = _sequences(36), _sequences(20, seed=1)
    points = []
    res = run_training(data, _classify_spec(3), tmp_path_factory.mktemp("ens") / "run", test_data=test,
                       on_progress=points.append)
    return res, data, test, points


def test_three_members_are_trained_kept_and_averaged(three):
    res, _, _, points = three
    m = res.metrics
    ens = m["ensemble"]
    assert ens["members"] == 3 and ens["planned"] == 3 and ens["seeds"] == ensemble.member_seeds(5, 3)
    assert set(ens) >= {"members", "seeds", "per_member", "spread", "seconds", "work", "auto", "stopped"}
    assert len(ens["work"]) == 3 and all(w > 0 for w in ens["work"])
    acc = ens["per_member"]["accuracy"]
    assert len(acc) == 3 and all(0 <= a <= 1 for a in acc)
    assert ens["spread"]["min"] == min(acc) and ens["spread"]["max"] == max(acc)
    assert ens["spread"]["sd"] == pytest.approx(float(np.std(acc, ddof=1)))
    assert any(n.startswith("Seed ensemble: 3 networks") for n in m["notes"])
    assert json.loads((res.bundle_dir.parent / "metrics.json").read_text())["ensemble"]["members"] == 3
    # members 2 and 3 report as kind "member"; member 1 keeps the usual epoch points (the loss chart)
    members = [p for p in points if p.kind == "member"]
    assert {p.epoch for p in members} == {2, 3} and all(p.epochs == 3 for p in members)
    assert max(p.epoch for p in points if p.kind == "epoch") == 3
    first = [p for p in points if p.kind == "epoch"]
    assert all(p.metrics["member"] == 1 and p.metrics["members"] == 3 for p in first)
    assert ensemble.first_member_text(first[0]) == "Member 1 of 3 · "
    # a later member's clock goes on from the members before it (the Train page's time left)
    assert min(p.elapsed for p in members) >= max(p.elapsed for p in first)
    assert [h["epoch"] for h in res.history] == [1, 2, 3]
    # the test metrics are the averaged probabilities': predictions.csv holds them
    pred = pd.read_csv(res.bundle_dir.parent / "predictions.csv")
    assert m["test"]["accuracy"] == pytest.approx(float(pred["correct"].mean()))


def test_bundle_holds_every_member_and_predict_averages_them(three):
    from seqcore.modeling.tasks import classify
    from seqcore.outputs.bundle import load_bundle, read_bundle
    from seqcore.pipeline import predict_from_bundle

    res, _, test, _ = three
    b = read_bundle(res.bundle_dir)
    assert b.model_files == ["model.keras", "member_2.keras", "member_3.keras"]
    assert b.manifest["version"] == 2 and b.manifest["members"] == b.model_files
    b = load_bundle(res.bundle_dir)
    assert len(b.models) == 3 and b.model is b.models[0]
    new = predict_from_bundle(res.bundle_dir, test)
    cols = [c for c in new.columns if c.startswith("p(")]
    # the real predict path gives the mean of the members' own predictions ...
    box = {}

    def capture(x):   # the inputs the predict path builds from the CSV
        box["x"] = x
        return np.full((len(x), 2), 0.5)

    classify.predict_new(b.state, b.spec.data, pd.read_csv(io.BytesIO(test)), capture)
    mean = np.mean([np.asarray(mdl.predict_on_batch(box["x"])) for mdl in b.models], axis=0)
    assert np.allclose(new[cols].to_numpy(), mean, atol=2e-6)
    assert not np.allclose(np.asarray(b.models[0].predict_on_batch(box["x"])),
                           np.asarray(b.models[1].predict_on_batch(box["x"])))
    # ... and what the run scored on the same test file
    run_pred = pd.read_csv(res.bundle_dir.parent / "predictions.csv")
    assert np.allclose(new[cols].to_numpy(), run_pred[cols].to_numpy(), atol=2e-6)


def test_ensemble_bundle_zip_round_trip_and_tampering(three, tmp_path):
    from seqcore.outputs.bundle import BundleError, bundle_zip_bytes, extract_bundle_zip, load_bundle

    res = three[0]
    z = bundle_zip_bytes(res.bundle_dir)
    names = zipfile.ZipFile(io.BytesIO(z)).namelist()
    assert {"member_2.keras", "member_3.keras", "model.keras"} <= set(names)
    dest = extract_bundle_zip(z, tmp_path / "ok")
    assert len(load_bundle(dest).models) == 3

    def rezip(drop=(), add=None, manifest=None) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(z)) as src, zipfile.ZipFile(out, "w") as dst:
            for n in src.namelist():
                if n in drop:
                    continue
                data = src.read(n)
                if n == "manifest.json" and manifest is not None:
                    data = json.dumps(manifest(json.loads(data))).encode()
                dst.writestr(n, data)
            for n, data in (add or {}).items():
                dst.writestr(n, data)
        return out.getvalue()

    member = zipfile.ZipFile(io.BytesIO(z)).read("member_2.keras")
    with pytest.raises(BundleError, match="member models do not match"):      # a member the manifest lacks
        extract_bundle_zip(rezip(add={"member_4.keras": member}), tmp_path / "extra")
    with pytest.raises(BundleError, match="missing member_3.keras"):           # a listed member missing
        extract_bundle_zip(rezip(drop=("member_3.keras",)), tmp_path / "missing")
    with pytest.raises(BundleError, match="list of member models"):
        extract_bundle_zip(rezip(manifest=lambda mf: dict(mf, members=["model.keras", "../x.keras"])),
                           tmp_path / "evil")
    with pytest.raises(BundleError, match="unexpected file"):
        extract_bundle_zip(rezip(add={"member_x.keras": member}), tmp_path / "odd")
    for name in ("extra", "missing", "evil", "odd"):
        assert not (tmp_path / name).exists()


def test_one_network_bundles_keep_the_old_format_and_still_load(tmp_path):
    _keras()
    from seqcore.outputs.bundle import load_bundle, read_bundle
    from seqcore.pipeline import predict_from_bundle, run_training

    data = _sequences(24)
    res = run_training(data, _classify_spec(1, epochs=1), tmp_path / "run")
    assert "ensemble" not in res.metrics
    mf = json.loads((res.bundle_dir / "manifest.json").read_text())
    assert mf["version"] == 1 and "members" not in mf
    assert sorted(p.name for p in res.bundle_dir.glob("*.keras")) == ["model.keras"]
    b = load_bundle(res.bundle_dir)
    assert read_bundle(res.bundle_dir).model_files == ["model.keras"] and len(b.models) == 1
    assert len(predict_from_bundle(res.bundle_dir, data)) == 24


def test_a_stop_during_a_later_member_keeps_the_finished_ones(tmp_path):
    _keras()
    from seqcore.pipeline import run_training

    seen = []
    res = run_training(_sequences(30), _classify_spec(4, epochs=2), tmp_path / "run", on_progress=seen.append,
                       should_stop=lambda: any(p.kind == "member" and p.epoch == 3 for p in seen))
    assert res.status == "stopped"
    ens = res.metrics["ensemble"]
    assert ens["members"] == 2 and ens["planned"] == 4 and ens["stopped"]
    assert len(ens["per_member"]["accuracy"]) == 2
    assert any("Training was stopped during member 3 of 4: the 2 networks finished" in n for n in res.notes)
    from seqcore.outputs.bundle import read_bundle

    assert read_bundle(res.bundle_dir).model_files == ["model.keras", "member_2.keras"]


def test_text_members_each_get_their_final_fit(tmp_path, sample_bytes):
    _keras()
    from seqcore.pipeline import run_training

    df = pd.read_csv(io.BytesIO(sample_bytes("rt_polarity_subset.csv"))).iloc[:240]
    spec = RunSpec(data=DataSpec(task="text", text="text", label="label", max_len=12, max_vocab=500),
                   model=ModelSpec(units=(4,), word_vectors="none", embedding_dim=8, word_pairs=0),
                   train=TrainSpec(epochs=2, batch_size=32, patience=0, final_fit=True, members=2))
    seen = []
    res = run_training(df.to_csv(index=False).encode(), spec, tmp_path / "run", on_progress=seen.append)
    assert res.metrics["ensemble"]["members"] == 2
    assert res.metrics["training"]["final_fit"]["kept"]
    assert any(p.kind == "member" and p.metrics.get("phase") == "final" for p in seen)


def test_forecast_run_with_members_is_refused_before_training(tmp_path, sample_bytes):
    from seqcore.pipeline import run_training

    spec = RunSpec(data=DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=2),
                   model=ModelSpec(units=(4,)), train=TrainSpec(epochs=1, members=3))
    with pytest.raises(SpecError, match="for classification"):
        run_training(sample_bytes("Airline.csv"), spec, tmp_path / "run")
    assert not (tmp_path / "run" / "bundle").exists()


# ----------------------------------------------------------------------------- report, script, CLI


def test_report_and_script_say_what_the_ensemble_did(three):
    from seqcore.outputs.codegen import training_script
    from seqcore.outputs.report import run_report_html

    res = three[0]
    spec = _classify_spec(3)
    html = run_report_html(run_name="r", spec=spec, metrics=res.metrics, history=res.history, predictions=None,
                           forecast=None, created="today", manifest=None)
    assert "Seed spread: the 3 networks " in html
    script = training_script(spec, members=3)
    assert "The app trained 3 networks that differ only in their seed" in script
    assert "this script trains ONE of them" in script
    assert "seed ensemble" not in training_script(spec, members=1)
    assert "seed ensemble" not in training_script(RunSpec(data=DataSpec(task="forecast", targets=("y",))))


def test_cli_members_flag_reaches_the_spec():
    from seqcore.cli.main import build_spec, make_parser
    from seqcore.data.io import read_csv
    from conftest import SAMPLES

    path = SAMPLES / "BasicMotions_TRAIN.csv"
    df = read_csv(path.read_bytes(), name=path.name).df
    for flags, want in (([], 0), (["--members", "3"], 3), (["--members", "1"], 1)):
        args = make_parser().parse_args(["train", str(path), "--task", "classify", *flags])
        assert build_spec(args, df).train.members == want
    with pytest.raises(SpecError, match="members"):
        build_spec(make_parser().parse_args(["train", str(path), "--task", "classify", "--members", "50"]), df)


def test_runs_show_prints_the_seed_spread(three, capsys):
    from seqcore.cli.runs import cmd_show
    from seqcore.runs.store import RunStore
    from seqcore import settings  # noqa: F401 - SEQSTUDIO_HOME from the autouse fixture
    import os
    from pathlib import Path
    from types import SimpleNamespace

    res = three[0]
    store = RunStore(Path(os.environ["SEQSTUDIO_HOME"]))
    rid = store.create_run(spec=_classify_spec(3).to_dict(), dataset_id=None, task="classify", status="running")
    store.finish_run(rid, "finished", summary=dict(res.metrics, best_epoch=res.best_epoch), epochs_run=3)
    assert cmd_show(SimpleNamespace(id=rid, json=False)) == 0
    assert "Seed spread: the 3 networks " in capsys.readouterr().out


# ----------------------------------------------------------------------------- pages


def test_train_page_says_members_are_trained_and_averaged(ensemble_on, monkeypatch):
    # the page hands the worker a prepare hint and would start one: not needed here
    monkeypatch.setattr("seqcore.runs.runner.hint_prepare", lambda *a, **k: None)
    from seqcore.runs.store import RunStore
    import os
    from pathlib import Path

    store = RunStore(Path(os.environ["SEQSTUDIO_HOME"]))
    state = page_state(store, _sequences(40), "seq.csv", _classify_spec(0))
    at = page(TRAIN, state=state)
    info = texts(at.info)
    assert "5 networks are trained one after another and their class probabilities averaged" in info
    assert "small training set (34 sequences)" in info and "less dependent on luck" in info
    one = page(TRAIN, state=dict(state, train_spec=_classify_spec(1).train.to_dict()))
    assert "networks are trained" not in texts(one.info)


def test_results_page_shows_the_seed_spread(three):
    from seqcore.runs.store import RunStore
    import os
    import shutil
    from pathlib import Path

    res, data, _, _ = three
    store = RunStore(Path(os.environ["SEQSTUDIO_HOME"]))
    ds = store.add_dataset(data, "seq.csv")
    rid = store.create_run(spec=_classify_spec(3).to_dict(), dataset_id=ds, task="classify", name="ens",
                           status="running")
    run_dir = store.run_dir(rid)
    for name in ("metrics.json", "predictions.csv"):
        shutil.copy(res.bundle_dir.parent / name, run_dir / name)
    shutil.copytree(res.bundle_dir, run_dir / "bundle")
    store.finish_run(rid, "finished", summary=dict(res.metrics, best_epoch=res.best_epoch), epochs_run=3)
    at = page(RESULTS, query={"run": rid})
    spread = ensemble.spread_sentence(res.metrics)
    assert spread.startswith("Seed spread: the 3 networks ")
    assert spread in _plain(at.info)
    assert "average of 3 networks that differ only in their seed" in _plain(at.caption)
    train = page(TRAIN, state={"current_run_id": rid})
    assert spread in _plain(train.success)


def _plain(elements) -> str:
    """Element texts without the markdown escapes pages add to user-visible text."""
    return texts(elements).replace("\\", "")


def test_train_page_progress_names_the_member():
    import time
    from types import SimpleNamespace

    from pages._ui.live import progress_info

    rec = SimpleNamespace(status="running", started=time.time() - 5, ended=None, spec={"train": {"epochs": 100}},
                          best_val_loss=None)
    first = Progress("batch", 50, 100, batch=1, batches=2, loss=0.3, elapsed=4.0,
                     metrics={"member": 1, "members": 5})
    info = progress_info(rec, [first])
    assert info.text == "Member 1 of 5 · Epoch 50 of 100 · batch 1 of 2"
    assert info.fraction == pytest.approx((49.5 / 100) / 5)      # member 1 is a fifth of the run
    later = ensemble.as_member(lambda p: box.append(p), 3, 5, elapsed=20.0)
    box = []
    later(Progress("epoch", 40, 100, batch=2, batches=2, loss=0.2, elapsed=3.0))
    info = progress_info(rec, [first, box[-1]])
    assert info.text == ("Training member 3 of 5 (the networks are averaged at the end) · epoch 40 of 100")
    assert info.fraction == pytest.approx((2 + 0.4) / 5)
    assert info.remaining == pytest.approx(23.0 * (1 - 0.48) / 0.48)
    done = progress_info(SimpleNamespace(**(vars(rec) | {"status": "finished", "ended": time.time()})), [box[-1]])
    assert done.fraction == 1.0 and done.text == "Member 3 of 5 trained"


def test_model_page_sets_the_number_of_networks_averaged():
    from helpers import APP, app

    at = app()
    at.button(key="home_sample_gunpoint").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception, at.exception
    box = at.number_input(key="model_members")
    assert box.value == 0 and "averages their answers" in box.help and "0 (automatic)" in box.help
    box.set_value(3).run()
    assert not at.exception and at.session_state["train_spec"]["members"] == 3
    # a forecast has no such widget and always trains one network
    at.switch_page(APP).run()
    at.button(key="home_sample_airline").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception, at.exception
    assert not [w for w in at.number_input if w.key == "model_members"]
    assert at.session_state["train_spec"]["members"] in (0, 1)
