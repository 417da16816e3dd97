"""The authorisation matrix on the pages (issue 17): two users and an administrator x the Runs, Results, Predict
and Sweeps pages x their own run, another user's and a shared one. The signed-in user is set where the pages ask
for it (``pages._ui.auth.current_principal``); the identity flow itself is tested for real in
tests/test_auth_browser.py."""

from __future__ import annotations

import pytest

from seqcore.auth import principal
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.runs import runner
from seqcore.runs.store import RunStore

from helpers import SAMPLES, page, texts

RUNS, RESULTS, PREDICT, SWEEPS = "pages/5_Runs.py", "pages/4_Results.py", "pages/6_Predict.py", "pages/7_Sweeps.py"
pytestmark = pytest.mark.usefixtures("short_worker_idle")


@pytest.fixture(scope="module")
def ana_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("owners-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEQSTUDIO_HOME", str(home))
    mp.setenv("SEQSTUDIO_ADMINS", "boss@example.org")
    store = RunStore(home).for_user(principal("ana@example.org"))
    ds = store.add_dataset((SAMPLES / "Airline.csv").read_bytes(), "Airline.csv")
    spec = RunSpec(DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3,
                            base="none", calendar="off"), ModelSpec(units=(4,)), TrainSpec(epochs=1, batch_size=16))
    run_id = runner.submit_run(store, spec, ds, name="ana's airline")
    assert runner.wait_run(store, run_id, timeout=240).status == "finished"
    yield home, run_id
    mp.undo()


@pytest.fixture
def as_user(ana_run, monkeypatch):
    home, _ = ana_run
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    monkeypatch.setenv("SEQSTUDIO_ADMINS", "boss@example.org")
    monkeypatch.setenv("SEQSTUDIO_AUTH", "proxy")

    def sign_in(name: str):
        import pages._ui.auth as auth

        monkeypatch.setattr(auth, "current_principal", lambda: principal(name))

    return sign_in


@pytest.mark.parametrize("who,sees", [("ana", True), ("ben", False), ("boss", True)])
def test_runs_page(ana_run, as_user, who, sees):
    _, run_id = ana_run
    as_user(f"{who}@example.org")
    at = page(RUNS)
    listed = run_id in texts(at.caption) or any(run_id in str(d.value) for d in at.dataframe)
    if sees:
        assert any(run_id in list(d.value.get("id", [])) for d in at.dataframe)
        assert ("owner" in at.dataframe[0].value.columns) == (who == "boss")   # owners shown to the admin
    else:
        assert not listed
        assert "No runs yet" in texts(at.info)
    assert f"Signed in as {who}" in texts(at.caption)


@pytest.mark.parametrize("who", ["ana", "ben", "boss"])
def test_results_page(ana_run, as_user, who):
    _, run_id = ana_run
    as_user(f"{who}@example.org")
    at = page(RESULTS, query={"run": run_id})
    if who == "ben":
        assert f"There is no run {run_id}" in texts(at.error)
        assert "ana's airline" not in texts(at.header)
    else:
        assert "ana's airline" in texts(at.header)
        assert at.button(key="results_reuse")


def test_results_share_link_is_read_only_and_revocable(ana_run, as_user):
    home, run_id = ana_run
    as_user("ana@example.org")
    at = page(RESULTS, query={"run": run_id})
    at.button(key="results_share").click().run()
    token = RunStore(home).get_run(run_id).share_token
    assert token and f"share={token}" in "".join(c.value for c in at.code)

    as_user("ben@example.org")
    ben = page(RESULTS, query={"run": run_id, "share": token})
    assert "ana's airline" in texts(ben.header)
    assert "shared with you" in texts(ben.info)
    for key in ("results_reuse", "results_share", "results_export_onnx"):
        with pytest.raises(KeyError):
            ben.button(key=key)
    assert {b.label for b in ben.get("download_button")} >= {"Predictions (CSV)", "Report (HTML)"}
    wrong = page(RESULTS, query={"run": run_id, "share": token[:-2] + "xx"})
    assert f"There is no run {run_id}" in texts(wrong.error)

    as_user("ana@example.org")
    at = page(RESULTS, query={"run": run_id})
    at.button(key="results_unshare").click().run()
    assert RunStore(home).get_run(run_id).share_token is None
    as_user("ben@example.org")
    gone = page(RESULTS, query={"run": run_id, "share": token})
    assert f"There is no run {run_id}" in texts(gone.error)


@pytest.mark.parametrize("who,sees", [("ana", True), ("ben", False), ("boss", True)])
def test_predict_and_sweeps_pages(ana_run, as_user, who, sees):
    _, run_id = ana_run
    as_user(f"{who}@example.org")
    at = page(PREDICT, query={"run": run_id})
    options = at.selectbox(key="predict_run").options if sees else []
    assert any(run_id in o for o in options) == sees
    if not sees:
        assert run_id not in texts(at.selectbox) if at.selectbox else True
    sw = page(SWEEPS)
    assert not sw.exception
