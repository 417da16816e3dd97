"""AppTest checks of the Train, Results, Runs and Predict pages, with real tiny runs through the worker.

Empty-state tests use the per-test SEQSTUDIO_HOME from conftest. The flow tests share one data
folder (module scope) so the background worker starts once: Start on the Train page -> a real
run -> Results; Stop; the Runs page (table, compare, rename, delete); Predict (a real worker
prediction, and a schema error). Supervisors started here exit after 20 idle seconds and are
stopped at teardown.
"""

from __future__ import annotations

import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from seqcore.runs import runner
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.runs.store import RunStore

from helpers import SAMPLES, page, page_state, set_env, texts, wait_for

TRAIN, RESULTS, RUNS, PREDICT = "pages/3_Train.py", "pages/4_Results.py", "pages/5_Runs.py", "pages/6_Predict.py"

pytestmark = pytest.mark.slow


def sine_csv(n: int) -> bytes:
    rows = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.1 * math.cos(i / 2):.5f}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


# ----------------------------------------------------------------------------- empty state


@pytest.mark.parametrize("path, expected", [
    (TRAIN, "Choose the data first"),
    (RESULTS, "No results yet"),
    (RUNS, "No runs yet"),
    (PREDICT, "No trained model yet"),
])
def test_pages_empty_state(path, expected):
    at = page(path)
    assert expected in texts(at.info)
    assert at.get("page_link"), "an empty state links to the page that fixes it"


def test_results_bad_ids_in_empty_store():
    at = page(RESULTS, query={"run": "../../etc/passwd"})
    assert "not valid" in texts(at.error)


# ----------------------------------------------------------------------------- shared data folder with runs


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("app-runs") / "home"
    old = set_env(SEQSTUDIO_WORKER_IDLE_EXIT="20")
    yield home
    runner.stop_supervisor(home)
    set_env(**old)


@pytest.fixture
def home(shared_home, monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_HOME", str(shared_home))
    monkeypatch.setenv("SEQSTUDIO_WORKER_IDLE_EXIT", "20")
    return shared_home


@pytest.fixture
def store(home) -> RunStore:
    return RunStore(home)


def airline_state(store: RunStore, epochs: int = 3) -> dict:
    """Session state as the Data and Model pages leave it for a tiny Airline forecast."""
    spec = RunSpec(DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3),
                   ModelSpec(units=(8,)), TrainSpec(epochs=epochs, batch_size=16, patience=0))
    return page_state(store, (SAMPLES / "Airline.csv").read_bytes(), "Airline.csv", spec)


@pytest.fixture(scope="module")
def finished_run(shared_home):
    """{"id": a real finished forecast run}: made through the Train page by test_train_start_to_results,
    or directly when that test did not run first."""
    return {}


@pytest.fixture
def a_finished_run(store, finished_run) -> str:
    if "id" not in finished_run:
        st = airline_state(store)
        spec = RunSpec.from_dict({"data": st["data_spec"], "model": st["model_spec"], "train": st["train_spec"]})
        run_id = runner.submit_run(store, spec, st["dataset_id"])
        assert runner.wait_run(store, run_id, timeout=180).status == "finished"
        finished_run["id"] = run_id
    return finished_run["id"]


def test_train_start_to_results(home, store, finished_run):
    at = page(TRAIN, state=airline_state(store))
    start = at.button(key="train_start")
    assert not start.disabled
    start.click().run()
    assert not at.exception
    runs = store.list_runs()
    assert len(runs) == 1
    run_id = runs[0].id
    assert at.session_state["current_run_id"] == run_id
    # reruns and page visits while it is queued or training never submit it again
    for _ in range(3):
        at.run()
        assert not at.exception
    if store.get_run(run_id).status in ("queued", "running"):
        assert at.button(key="train_start").disabled
    assert len(store.list_runs()) == 1
    assert run_id in texts(at.caption)  # the run id is shown

    rec = runner.wait_run(store, run_id, timeout=180)
    assert rec.status == "finished", rec.error
    at.run()
    assert not at.exception
    assert "Finished after 3 epoch" in texts(at.success)
    assert any("results" in (lnk.label or "").lower() for lnk in at.get("page_link"))
    assert [m.label for m in at.metric][:2] == ["Elapsed", "Time left"]
    finished_run["id"] = run_id

    res = page(RESULTS, query={"run": run_id})
    labels = [m.label for m in res.metric]
    assert labels == ["MAE", "RMSE", "MAPE", "MASE"]
    assert all(m.proto.delta_description.startswith("vs ") for m in res.metric)  # the baseline beside each
    assert {b.label for b in res.get("download_button")} == {
        "Predictions (CSV)", "Model bundle (zip)", "Training script (.py)", "Report (HTML)"}
    assert "Forecast past the end of the data" in texts(res.header)


def test_train_reattaches_and_stops(home, store):
    """A fresh session (a refreshed tab) follows the active run; Stop ends it with results kept."""
    ds = store.add_dataset(sine_csv(4000), "sine.csv")
    spec = RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=24),
                   ModelSpec(units=(16,)), TrainSpec(epochs=400, batch_size=32, patience=0))
    run_id = runner.submit_run(store, spec, ds, name="long run")
    wait_for(lambda: store.count_history(run_id) > 0, 120, "the first loss point")
    at = page(TRAIN)
    assert at.session_state["current_run_id"] == run_id
    assert at.session_state["train_live"].points, "the live chart read the history"
    seq1 = at.session_state["train_live"].last_seq
    wait_for(lambda: store.read_history(run_id, after_seq=seq1), 60, "more points")
    at.run()
    assert at.session_state["train_live"].last_seq > seq1  # incremental: only new points are read
    at.button(key="train_stop").click().run()
    assert not at.exception
    assert store.get_run(run_id).stop_requested
    rec = runner.wait_run(store, run_id, timeout=60)
    assert rec.status == "stopped"
    at.run()
    assert not at.exception
    assert "Stopped by you" in texts(at.info)
    assert not _has_key(at, "train_stop"), "no Stop button once the run has ended"


def _has_key(at: AppTest, key: str) -> bool:
    try:
        at.button(key=key)
        return True
    except KeyError:
        return False


def test_results_messages(home, store, a_finished_run):
    for query, message in (({"run": "bad id!"}, "not valid"), ({"run": "AAAAAAAAAAAA"}, "no run AAAAAAAAAAAA")):
        at = page(RESULTS, query=query)
        assert message in texts(at.error)
        assert at.metric, "the newest run is still shown below the message"
    at = page(RESULTS)  # no ?run= : the newest run with results
    assert at.session_state["results_run"] == store.list_runs(kind="train", status=("finished", "stopped"))[0].id
    cov = json.loads((store.run_dir(at.session_state["results_run"]) / "metrics.json").read_text())["intervals"]
    assert (f"95% of the time the true value should fall in the light band; on the test part it did "
            f"{cov['coverage']['95']:.0%} of the time") in texts(at.caption)   # the forecast bands, in plain words


def test_runs_page_table_compare_rename_delete(home, store, a_finished_run):
    finished_run = {"id": a_finished_run}
    if len(store.list_runs()) < 2:
        runner.request_stop(store, runner.rerun(store, a_finished_run, start=False))  # a second (stopped) run
    n = len(store.list_runs())
    at = page(RUNS)
    table = at.dataframe[0].value
    assert len(table) == n
    assert {"status", "task", "cell", "units", "best val loss", "test metric", "duration (s)", "created"} <= set(table)
    assert len(at.multiselect(key="runs_compare").value) == 2
    assert at.dataframe[1].value.shape[1] == 2  # metrics side by side

    at.selectbox(key="runs_manage").set_value(finished_run["id"]).run()
    at.text_input(key="runs_rename_name").set_value("airline <b>tiny</b>").run()
    at.button(key="runs_rename").click().run()
    assert not at.exception
    assert store.get_run(finished_run["id"]).name == "airline <b>tiny</b>"

    victim = runner.rerun(store, finished_run["id"], start=False)
    runner.request_stop(store, victim)  # queued -> stopped at once, never trains
    at.run()
    at.selectbox(key="runs_manage").set_value(victim).run()
    at.button(key="runs_delete").click().run()
    assert "cannot be undone" in texts(at.warning)
    at.button(key="runs_delete_yes").click().run()
    assert not at.exception
    assert victim not in {r.id for r in store.list_runs()}
    assert "Deleted." in texts(at.success)

    stopped = [r for r in store.list_runs(status="stopped") if (store.run_dir(r.id) / "checkpoint").exists()]
    if stopped:  # resume a stopped run from its checkpoint, then stop it again
        rid = stopped[0].id
        attempt = stopped[0].attempt
        at.selectbox(key="runs_manage").set_value(rid).run()
        at.button(key="runs_resume").click().run()
        assert not at.exception
        rec = store.get_run(rid)
        assert rec.attempt == attempt + 1 and rec.status in ("queued", "running", "finished")
        assert "back in the queue" in texts(at.success)
        runner.request_stop(store, rid)
        assert runner.wait_run(store, rid, timeout=120).status in ("stopped", "finished")

    at.selectbox(key="runs_manage").set_value(finished_run["id"]).run()
    at.button(key="runs_open").click().run()
    assert not at.exception
    assert at.session_state["data_spec"]["targets"] == ["Passengers"]
    assert at.session_state["_restored_from"] == finished_run["id"]


def test_predict_with_worker(home, store, a_finished_run):
    run_id = a_finished_run
    at = page(PREDICT, query={"run": run_id})
    assert at.session_state["predict_run"] == run_id
    at.file_uploader(key="predict_upload").set_value(("new.csv", (SAMPLES / "Airline.csv").read_bytes(), "text/csv"))
    at.run()
    at.button(key="predict_go").click().run()
    assert not at.exception
    job_id = at.session_state["predict_job_id"]
    job = runner.wait_run(store, job_id, timeout=120)
    assert job.status == "finished", job.error
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    assert list(df.columns) == ["step", "time", "Passengers", "lower_80", "upper_80", "lower_95", "upper_95"] \
        and len(df) == 3   # with the 80% / 95% bands (issue 13)
    assert (df["lower_95"] <= df["lower_80"]).all() and (df["lower_80"] <= df["Passengers"]).all() \
        and (df["Passengers"] <= df["upper_80"]).all() and (df["upper_80"] <= df["upper_95"]).all()
    assert [b.label for b in at.get("download_button")] == ["Download the predictions (CSV)"]

    bad = "Date,Visitors\n" + "\n".join(f"1960-{m:02d},{100 + m}" for m in range(1, 13)) + "\n"
    at.file_uploader(key="predict_upload").set_value(("bad.csv", bad.encode(), "text/csv"))
    at.run()
    at.button(key="predict_go").click().run()
    job2 = runner.wait_run(store, at.session_state["predict_job_id"], timeout=120)
    assert job2.status == "failed"
    at.run()
    assert not at.exception
    assert "Passengers" in texts(at.error), "the schema error names the missing column"


def test_pages_with_runs_have_no_exception(home, store):
    for path in (TRAIN, RESULTS, RUNS, PREDICT):
        page(path)                                  # runs the page and fails on an exception, naming the page


def test_train_page_gives_the_worker_a_prepare_hint(home, store):
    """Opening the Train page with a runnable setup tells the background worker what will probably be trained
    (exactly what Start submits), so it compiles that model while the user reads the page, and makes sure a
    worker runs; a rerun of the page does not rewrite an unchanged hint."""
    import json

    state = airline_state(store)
    state["model_spec"] = ModelSpec(units=(6,)).to_dict()   # a configuration no other test trains
    at = page(TRAIN, state=state)
    hint = runner.read_prepare_hint(home)
    assert hint is not None and hint["dataset_id"] == state["dataset_id"] and hint["test_dataset_id"] is None
    spec = RunSpec.from_dict({"data": state["data_spec"], "model": state["model_spec"], "train": state["train_spec"]})
    assert RunSpec.from_dict(hint["spec"]) == spec and hint["csv_options"] == {}
    assert hint["key"] == runner.hint_key(json.loads(json.dumps(spec.to_dict())), state["dataset_id"], None, {})
    wait_for(lambda: runner.supervisor_pid(home) is not None, 60, "the worker the page starts")
    at.run()
    assert not at.exception
    assert runner.read_prepare_hint(home)["time"] == hint["time"]


def test_finished_message_says_what_the_final_fit_did(home, store):
    state = airline_state(store)
    rid = store.create_run(spec=RunSpec.from_dict({"data": state["data_spec"], "model": state["model_spec"],
                                                    "train": state["train_spec"]}).to_dict(),
                           dataset_id=state["dataset_id"], task="forecast", name="with a final fit",
                           status="running")            # never queued: no worker picks it up
    training = {"early_stopped": True, "final_fit": {"epochs": 4, "examples": 4136, "seconds": 11.5, "kept": True,
                                                     "reason": None}}
    assert store.finish_run(rid, "finished", summary={"best_epoch": 4, "training": training}, epochs_run=14)
    at = page(TRAIN, state=dict(state, current_run_id=rid))
    msg = texts(at.success)
    assert "the best was epoch 4" in msg and "trained 4 epoch(s) on the training and validation data" in msg
    assert "4,136 examples" in msg


def test_results_lists_the_statistical_baselines(home, store, a_finished_run):
    import json

    at = page(RESULTS, query={"run": a_finished_run})
    assert not at.exception
    table = at.dataframe[0].value
    assert {"AutoETS", "AutoARIMA", "AutoTheta"} <= set(table[""])
    assert any("statistical forecasters" in c for c in texts(at.caption).splitlines())
    comp = json.loads((store.run_dir(a_finished_run) / "metrics.json").read_text())["comparison"]
    label = {"auto_ets": "AutoETS", "auto_arima": "AutoARIMA", "auto_theta": "AutoTheta"}[comp["best_statistical"]]
    verdict = texts(at.success) + texts(at.warning)
    if comp["best_baseline"] == comp["best_statistical"] and not comp["better"]:
        assert f"{label} beats this model on MAE" in verdict
        assert "A statistical model is the better forecaster for this data" in verdict
    elif comp["better"]:
        assert label in verdict


def test_results_page_exports_the_model_for_other_tools(home, store, a_finished_run):
    """Prepare an ONNX export on the Results page: it is converted, checked and offered as a download; a second
    visit offers the kept file at once."""
    at = page(RESULTS, query={"run": a_finished_run})
    assert at.radio(key="results_export_format").value == "onnx"
    at.radio(key="results_export_format").set_value("tflite").run()
    at.button(key="results_export_tflite").click().run(timeout=300)
    assert not at.exception and not at.error
    assert "Download LiteRT / TFLite (zip)" in [b.label for b in at.get("download_button")]
    assert (store.run_dir(a_finished_run) / "exports" / "tflite.zip").is_file()
    again = page(RESULTS, query={"run": a_finished_run})
    again.radio(key="results_export_format").set_value("tflite").run()
    assert "Download LiteRT / TFLite (zip)" in [b.label for b in again.get("download_button")]
