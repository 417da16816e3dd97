"""The prediction service (``python -m seqcore serve``, :mod:`seqcore.serving`).

Three tiny bundles (forecast, sequence classification, text) are trained once for the module. For each, the
service's ``POST /predict`` answers with the same numbers as ``python -m seqcore predict`` on the same rows,
sent as CSV and as JSON in both forms. Bad bodies get a 4xx with the plain message (never a traceback), an
oversized one 413, an unexpected failure a generic 500; a tampered bundle is refused at start-up (exit 2, one
line); and one real server (a subprocess on a free loopback port, serving a run id) answers /health and
concurrent /predict calls.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TRAIN = TrainSpec(epochs=2, batch_size=16, patience=0, lr_schedule="none")


def forecast_csv(n: int = 120) -> bytes:
    t = np.arange(n)
    return pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                         "y": np.round(10 + 3 * np.sin(t / 5) + 0.1 * np.cos(t), 4),
                         "x": np.round(np.cos(t / 5), 4)}).to_csv(index=False).encode()


def classify_csv(n: int = 40, steps: int = 12) -> bytes:
    rows = ["label," + ",".join(f"v{j}" for j in range(steps))]
    for i in range(n):
        sign = 1 if i % 2 else -1
        rows.append(("up" if i % 2 else "down") + "," +
                     ",".join(f"{sign * j / steps + 0.1 * math.sin(i + j):.4f}" for j in range(steps)))
    return ("\n".join(rows) + "\n").encode()


def text_csv() -> bytes:
    rows = [("a truly wonderful , moving film", "fresh"), ("dull , tedious and boring", "rotten"),
            ("it's great fun", "fresh"), ("the plot doesn't work", "rotten")] * 10
    return pd.DataFrame(rows, columns=["text", "label"]).to_csv(index=False).encode()


SPECS = {
    "forecast": (forecast_csv, DataSpec(task="forecast", time="date", targets=("y",), features=("x",), window=8,
                                        horizon=3)),
    "classify": (classify_csv, DataSpec(task="classify", label="label", layout="wide")),
    "text": (text_csv, DataSpec(task="text", text="text", label="label", max_len=8)),
}


def new_rows(task: str) -> bytes:
    """The rows each model is asked to predict on: the training file without its label (classifiers)."""
    data = SPECS[task][0]()
    if task == "forecast":
        return data
    return pd.read_csv(io.BytesIO(data)).drop(columns=["label"]).to_csv(index=False).encode()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict:
    """One tiny trained run folder (``train --out`` layout) per task."""
    from seqcore.pipeline import run_training

    root = tmp_path_factory.mktemp("serve")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEQSTUDIO_STAT_BUDGET", "0")
    try:
        out = {}
        for task, (make, data_spec) in SPECS.items():
            model = ModelSpec(units=(4,), word_vectors="none" if task == "text" else "auto")
            run_training(make(), RunSpec(data=data_spec, model=model, train=TRAIN), root / task)
            out[task] = root / task
        return out
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def clients(bundles) -> dict:
    from fastapi.testclient import TestClient

    from seqcore.predictor import Predictor
    from seqcore.serving.app import create_app

    return {task: TestClient(create_app(Predictor.open(path / "bundle").load(), max_bytes=2**20))
            for task, path in bundles.items()}


def cli(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=timeout, env=env)


def cli_predictions(run: Path, rows: bytes, tmp_path: Path, *flags) -> pd.DataFrame:
    f = tmp_path / "rows.csv"
    f.write_bytes(rows)
    r = cli("predict", run, f, *flags)
    assert r.returncode == 0, r.stderr
    return pd.read_csv(io.StringIO(r.stdout), float_precision="round_trip")


def as_frame(answer: dict) -> pd.DataFrame:
    return pd.DataFrame(answer["predictions"], columns=answer["columns"])


def json_forms(rows: bytes) -> list[dict]:
    """The CSV rows as the two JSON forms: {"rows": [...]} and {"columns": [...], "data": [[...]]}."""
    df = pd.read_csv(io.BytesIO(rows), float_precision="round_trip")
    records = [{c: (None if isinstance(v, float) and math.isnan(v) else v) for c, v in r.items()}
               for r in json.loads(df.to_json(orient="records", double_precision=15))]
    split = {"columns": [str(c) for c in df.columns], "data": [[r[c] for c in df.columns] for r in records]}
    return [{"rows": records}, split]


def assert_same(answer: dict, expected: pd.DataFrame) -> None:
    got = as_frame(answer)
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


# ----------------------------------------------------------------------------- same numbers as seqcore predict


@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
def test_predict_gives_the_numbers_of_seqcore_predict(task, bundles, clients, tmp_path):
    rows = new_rows(task)
    expected = cli_predictions(bundles[task], rows, tmp_path)
    client = clients[task]
    r = client.post("/predict", content=rows, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert_same(r.json(), expected)
    for form in json_forms(rows):
        r = client.post("/predict", json=form)
        assert r.status_code == 200, r.text
        assert_same(r.json(), expected)
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["task"] == task and len(health["bundle_id"]) == 16
    if task == "forecast":   # past the horizon: rows with the feature's future values and empty targets
        future = pd.read_csv(io.BytesIO(forecast_csv(126)))
        future.loc[120:, "y"] = np.nan
        rows = future.to_csv(index=False).encode()
        expected = cli_predictions(bundles[task], rows, tmp_path, "--steps", 7)
        r = client.post("/predict?steps=7", content=rows, headers={"Content-Type": "text/csv; charset=utf-8"})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 7
        assert_same(r.json(), expected)
        r = client.post("/predict?steps=7", json=json_forms(rows)[0])   # the empty targets sent as null
        assert_same(r.json(), expected)
        assert health["horizon"] == 3 and health["columns"] == {"y": "numeric", "x": "numeric", "date": "time"}


def test_predictions_json_has_null_for_missing_values_and_exact_floats():
    from seqcore.serving.rows import frame_json

    frame = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", None]), "y": [0.1 + 0.2, np.nan],
                          "n": [1, 2], "label": ["a", None], "p": np.array([0.5, np.inf], np.float32)})
    out = json.loads(json.dumps(frame_json(frame), allow_nan=False))
    assert out["columns"] == ["time", "y", "n", "label", "p"]
    assert out["predictions"] == [{"time": "2020-01-01", "y": 0.30000000000000004, "n": 1, "label": "a", "p": 0.5},
                                  {"time": None, "y": None, "n": 2, "label": None, "p": None}]


# ----------------------------------------------------------------------------- plain errors


def _error(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and "Traceback" not in r.text and 'File "' not in r.text
    return body["error"]


def test_bad_rows_get_the_plain_message_of_seqcore_predict(bundles, clients, tmp_path):
    client = clients["forecast"]
    csv_header = {"Content-Type": "text/csv"}
    df = pd.read_csv(io.BytesIO(forecast_csv()))
    # a missing column: the message seqcore predict prints
    missing = df.drop(columns=["x"]).to_csv(index=False).encode()
    f = tmp_path / "missing.csv"
    f.write_bytes(missing)
    r_cli = cli("predict", bundles["forecast"], f)
    assert r_cli.returncode == 2
    msg = _error(client.post("/predict", content=missing, headers=csv_header), 422)
    assert "'x'" in msg and r_cli.stderr.strip() == f"error: {msg}"
    # a mistyped cell: named by its CSV line, or by its JSON row
    bad = df.astype({"y": str})
    bad.loc[7, "y"] = "seven"
    msg = _error(client.post("/predict", content=bad.to_csv(index=False).encode(), headers=csv_header), 422)
    assert "'y'" in msg and "line 9" in msg and "'seven'" in msg
    msg = _error(client.post("/predict", json=json_forms(bad.to_csv(index=False).encode())[0]), 422)
    assert "'y'" in msg and "row 8" in msg and "line" not in msg
    # an unreadable CSV, an empty body
    assert "empty" in _error(client.post("/predict", content=b"", headers=csv_header), 422)
    assert "image" in _error(client.post("/predict", content=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
                                         headers=csv_header), 422).lower()
    # steps: checked as seqcore predict checks them, and a classifier has none
    assert "1 or more" in _error(client.post("/predict?steps=0", content=forecast_csv(), headers=csv_header), 422)
    assert "steps" in _error(client.post("/predict?steps=abc", content=b"", headers=csv_header), 422)
    assert "no steps ahead" in _error(clients["classify"].post("/predict?steps=2", content=new_rows("classify"),
                                                               headers=csv_header), 422)


def test_unreadable_bodies_and_wrong_requests(clients):
    client = clients["text"]
    assert "not valid JSON" in _error(client.post("/predict", content=b'{"rows": [', headers={
        "Content-Type": "application/json"}), 400)
    assert "neither form" in _error(client.post("/predict", json={"text": ["a"]}), 400)
    assert "Row 2" in _error(client.post("/predict", json={"rows": [{"text": "a"}, "b"]}), 400)
    assert "list" in _error(client.post("/predict", json={"rows": [{"text": ["a", "b"]}]}), 400)
    assert "Row 1" in _error(client.post("/predict", json={"columns": ["text"], "data": [["a", "b"]]}), 400)
    assert "no rows" in _error(client.post("/predict", json={"rows": []}), 400)
    assert "NaN" in _error(client.post("/predict", content=b'{"rows": [{"text": NaN}]}',
                                       headers={"Content-Type": "application/json"}), 400)
    assert "text/csv" in _error(client.post("/predict", content=b"<x/>", headers={"Content-Type": "application/xml"}),
                                415)
    assert "no Content-Type" in _error(client.post("/predict", content=b"text\nhello\n", headers={
        "Content-Type": ""}), 415)
    assert "/predict" in _error(client.get("/predict"), 405)
    assert "/health" in _error(client.get("/nowhere"), 404)
    r = client.post("/predict", json={"rows": [{"text": "great fun"}, {"text": None}]})   # a missing text: allowed
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2


def test_oversized_bodies_get_413_before_they_are_read(clients):
    client = clients["classify"]
    big = b"v0\n" + b"1\n" * (2**20)
    msg = _error(client.post("/predict", content=big, headers={"Content-Type": "text/csv"}), 413)
    assert "1.0 MB" in msg and "--max-request-mb" in msg
    sent = []

    def chunks():   # no Content-Length: the stream is cut at the limit
        for _ in range(64):
            sent.append(1)
            yield b"1\n" * 32768
    _error(client.post("/predict", content=chunks(), headers={"Content-Type": "text/csv"}), 413)
    assert client.get("/health").json()["max_request_bytes"] == 2**20


def test_an_unexpected_failure_is_a_plain_500_and_logged(bundles, caplog):
    from fastapi.testclient import TestClient

    from seqcore.predictor import Predictor
    from seqcore.serving.app import UNEXPECTED, create_app

    p = Predictor.open(bundles["text"] / "bundle")

    def boom(df, steps=None):
        raise RuntimeError("secret internal detail")

    p.predict = boom
    client = TestClient(create_app(p, max_bytes=2**20))
    with caplog.at_level("ERROR", logger="seqstudio.serve"):
        r = client.post("/predict", content=new_rows("text"), headers={"Content-Type": "text/csv"})
    assert _error(r, 500) == UNEXPECTED and "secret" not in r.text
    assert "secret internal detail" in caplog.text


def test_the_docs_describe_both_request_bodies(clients):
    spec = clients["forecast"].get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"text/csv", "application/json"}
    assert body["text/csv"]["example"].startswith("y,x,date")
    assert {"400", "413", "415", "422", "500"} <= set(spec["paths"]["/predict"]["post"]["responses"])
    assert clients["forecast"].get("/docs").status_code == 200


def test_json_rows_become_the_csv_seqcore_predict_reads():
    from seqcore.predictor import read_table
    from seqcore.serving.rows import BodyError, json_rows_csv, rows_message

    assert json_rows_csv({"rows": [{"a": 1, "b": "x, y"}, {"b": True, "c": None, "a": 0.1}]}) == \
        b'a,b,c\n1,"x, y",\n0.1,True,\n'
    one_column = json_rows_csv({"columns": ["a"], "data": [[1e-300], [None], [2]]})
    assert one_column == b'a\n1e-300\n""\n2\n'    # a row of one missing value is not a blank line
    assert read_table(one_column)["a"].isna().tolist() == [False, True, False]
    with pytest.raises(BodyError, match="twice"):
        json_rows_csv({"columns": ["a", "a"], "data": [[1, 2]]})
    assert rows_message("Row on line 5 is bad; line 1,002 has 'x' (first on line 3); baseline 7") == \
        "Row 4 is bad; row 1,001 has 'x' (first in row 2); baseline 7"


def test_the_command_line_stays_light_until_serve_runs():
    code = ("import sys, seqcore.cli.main, seqcore.predictor, seqcore.serving.rows; print(sorted(m for m in ("
            "'fastapi', 'uvicorn', 'starlette', 'keras', 'tensorflow', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(ROOT))
    assert out.stdout.strip() == "[]"


def test_padded_batches_give_the_same_rows(bundles):
    from seqcore.predictor import BATCH, Predictor, padded_size

    assert [padded_size(n) for n in (1, 2, 3, 5, 200, 256)] == [1, 2, 4, 8, 256, 256]
    p = Predictor.open(bundles["classify"] / "bundle").load()
    x = np.random.default_rng(0).normal(size=(BATCH + 5, *p.bundle.shape.input_shape)).astype(np.float32)
    once = p.predict_array(x)
    assert len(once) == BATCH + 5 and np.array_equal(p.predict_array(x), once)   # the same rows, the same bits
    # the last 5 rows went as a batch of 8: the numbers of an unpadded batch, up to float32 rounding
    plain = np.asarray(p.bundle.model.predict_on_batch(x[BATCH:]))
    assert np.allclose(once[BATCH:], plain, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- the command


def test_a_tampered_bundle_is_refused_at_start_up(bundles, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(bundles["text"], run)
    (run / "bundle" / "preprocess.json").write_text("{}")
    r = cli("serve", run, "--port", "0", timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and "checksum" in line
    r = cli("serve", "no-such-run", "--home", tmp_path / "home", timeout=120)
    assert r.returncode == 2 and "neither a model bundle" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "home").exists()
    r = cli("serve", bundles["text"], "--port", "70000", timeout=120)
    assert r.returncode == 2 and "--port" in r.stderr


def test_a_real_server_serves_a_run_id(bundles, tmp_path):
    """python -m seqcore serve RUN_ID on a free loopback port: /health, then 8 concurrent /predict calls, all
    with seqcore predict's numbers; Ctrl-C (SIGINT) stops it with exit code 0."""
    import asyncio

    import httpx

    from seqcore.outputs.bundle import bundle_zip_bytes, import_bundle_zip
    from seqcore.runs.store import RunStore

    home = tmp_path / "home"
    run_id = import_bundle_zip(RunStore(home), bundle_zip_bytes(bundles["classify"] / "bundle"), "tiny.zip")
    rows = new_rows("classify")
    expected = cli_predictions(bundles["classify"], rows, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "seqcore", "serve", run_id, "--home", str(home), "--port", "0"],
                            cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving "), line + proc.stderr.read() if proc.poll() is not None else line
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        health = httpx.get(f"{url}/health", timeout=30).json()
        assert health["status"] == "ok" and health["task"] == "classify"

        async def many():
            async with httpx.AsyncClient(base_url=url, timeout=60) as c:
                return await asyncio.gather(*[c.post("/predict", content=rows, headers={"Content-Type": "text/csv"})
                                              for _ in range(8)])

        for r in asyncio.run(many()):
            assert r.status_code == 200, r.text
            assert_same(r.json(), expected)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert (home / "logs" / "serve.log").is_file()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
