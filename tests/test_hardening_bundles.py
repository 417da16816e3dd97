"""Hardening, unsafe files: only the app's own bundle format is accepted, checked before anything loads.

A real bundle is trained once (tiny, in this process). Hostile variants of it (a Lambda layer with a
payload, a config that turns safe mode off, a layer that reads a local file, custom module paths, a
truncated zip, ``../../x``, a zip bomb, a symlink, an oversized file, ...) are re-signed the way an
attacker would (fresh manifest checksums) and must each be refused with a clear message, with nothing
written outside the destination and nothing executed. The Predict page's "Import a model bundle"
goes through the same checks. Also: no pickle anywhere in the code, run ids from the URL validated,
prediction CSVs with a missing or mistyped column refused with the column's name.

Figures printed (``pytest -s``): hostile bundles tried / refused.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import marshal
import math
import re
import sys
import types
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from seqcore.outputs import bundle as bundle_mod
from seqcore.outputs.bundle import (
    ALL_FILES,
    BundleError,
    bundle_zip_bytes,
    extract_bundle_zip,
    import_bundle_zip,
    inspect_keras_file,
    load_bundle,
    read_bundle,
)
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import DataError
from seqcore.runs.store import RunNotFound, RunStore

from helpers import ROOT, page, texts

PREDICT, RESULTS_PAGE = "pages/6_Predict.py", "pages/4_Results.py"
REFUSED: dict[str, str] = {}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("short_worker_idle")]


@pytest.fixture(scope="module", autouse=True)
def _totals():
    yield
    if REFUSED:
        ok = sum(1 for v in REFUSED.values() if v == "refused")
        print(f"\n[hardening bundles] hostile bundles tried: {len(REFUSED)}, refused cleanly before any loading: {ok}")


def wide_csv(n: int = 40, steps: int = 12) -> bytes:
    rows = ["label," + ",".join(f"v{j}" for j in range(steps))]
    for i in range(n):
        cls = "up" if i % 2 else "down"
        sign = 1 if cls == "up" else -1
        rows.append(cls + "," + ",".join(f"{sign * j / steps + 0.1 * math.sin(i + j):.4f}" for j in range(steps)))
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict:
    """A real bundle: a tiny wide-layout sequence classifier trained here (TensorFlow in this process)."""
    from seqcore.pipeline import run_training

    out = tmp_path_factory.mktemp("real") / "run"
    spec = RunSpec(DataSpec(task="classify", label="label", layout="wide"), ModelSpec(units=(4,)),
                   TrainSpec(epochs=1, batch_size=16, patience=0))
    res = run_training(wide_csv(), spec, out)
    files = {name: (res.bundle_dir / name).read_bytes() for name in ALL_FILES}
    return {"dir": res.bundle_dir, "zip": bundle_zip_bytes(res.bundle_dir), "files": files}


# ----------------------------------------------------------------------------- building hostile bundles


def keras_config(files: dict) -> dict:
    with zipfile.ZipFile(io.BytesIO(files["model.keras"])) as z:
        return json.loads(z.read("config.json"))


def keras_bytes(files: dict, config: dict | None = None, extra: dict | None = None) -> bytes:
    """model.keras rebuilt with another config.json and/or extra members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(files["model.keras"])) as src, zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json" and config is not None:
                data = json.dumps(config).encode()
            out.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return buf.getvalue()


def resign(files: dict) -> dict:
    """Recompute the manifest's checksums, as an attacker who edits a bundle would."""
    files = dict(files)
    manifest = json.loads(files["manifest.json"])
    manifest["files"] = {n: hashlib.sha256(files[n]).hexdigest() for n in ALL_FILES if n != "manifest.json"}
    files["manifest.json"] = json.dumps(manifest).encode()
    return files


def zip_of(files: dict, *, infos: list | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        for info, data in infos or []:
            z.writestr(info, data)
    return buf.getvalue()


def with_config(files: dict, mutate) -> bytes:
    cfg = keras_config(files)
    mutate(cfg)
    return zip_of(resign({**files, "model.keras": keras_bytes(files, cfg)}))


def sentinel_lambda(path: Path) -> dict:
    """A Keras Lambda layer config whose function would create ``path`` if it were ever deserialised and run."""
    module = compile(f"def payload(x):\n    open({str(path)!r}, 'w').write('pwned')\n    return x\n", "<payload>",
                     "exec")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "name": "innocent",
            "config": {"name": "innocent", "trainable": True, "dtype": "float32",
                       "function": {"class_name": "__lambda__",
                                    "config": {"code": base64.b64encode(marshal.dumps(code)).decode("ascii"),
                                               "defaults": None, "closure": None}},
                       "arguments": {}}}


def add_layer(layer: dict):
    def mutate(cfg):
        cfg["config"]["layers"].append(layer)
    return mutate


def _symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    info.create_system = 3
    return info


def _bomb(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            if name != "history.json":
                z.writestr(name, data)
        with z.open("history.json", "w", force_zip64=True) as w:
            block = b"\0" * 2**20
            for _ in range(64):            # 64 MB of zeros, ~64 KB packed
                w.write(block)
    return buf.getvalue()


def _encrypted(files: dict) -> bytes:
    data = bytearray(zip_of(files))
    # set the "encrypted" flag bit of every member (local headers and central directory)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for m in re.finditer(re.escape(sig), bytes(data)):
            data[m.start() + off] |= 0x1
    return bytes(data)


def _dup(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr("spec.json", b"{}")
    return buf.getvalue()


def hostile_cases(files: dict, sentinel: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (zip bytes, a word the refusal must contain)."""
    f = files
    manifest = json.loads(f["manifest.json"])
    return {
        "Lambda layer with a payload": (with_config(f, add_layer(sentinel_lambda(sentinel))), "not allowed"),
        "config turning safe mode off": (with_config(f, lambda c: c.update(safe_mode=False)), "forbidden"),
        "safe_mode hidden inside a layer": (
            with_config(f, lambda c: c["config"]["layers"][-1]["config"].update(safe_mode=False)), "forbidden"),
        "layer reading a local file (TextVectorization vocabulary)": (with_config(f, add_layer(
            {"module": "keras.layers", "class_name": "TextVectorization", "registered_name": None,
             "config": {"vocabulary": "/etc/passwd", "name": "tv"}})), "TextVectorization"),
        "layer reading a local file (StringLookup)": (with_config(f, add_layer(
            {"module": "keras.layers", "class_name": "StringLookup", "registered_name": None,
             "config": {"vocabulary": "/etc/shadow"}})), "not allowed"),
        "custom class from a module path": (with_config(f, add_layer(
            {"module": "os", "class_name": "system", "registered_name": None, "config": {"command": "id"}})),
            "not allowed"),
        "custom registered object": (with_config(f, add_layer(
            {"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense", "config": {}})),
            "not allowed"),
        "module name prefix trick": (with_config(f, add_layer(
            {"module": "keras.initializers_evil.os", "class_name": "system", "config": {}})), "not allowed"),
        "python function object": (with_config(f, lambda c: c["config"]["layers"][-1]["config"].update(
            activation={"module": "builtins", "class_name": "function", "config": "eval"})), "not allowed"),
        "extra file inside model.keras": (zip_of(resign({**f, "model.keras": keras_bytes(
            f, extra={"assets/run.py": b"import os; os.system('id')"})})), "unexpected contents"),
        "truncated zip": (files_zip(f)[: len(files_zip(f)) // 2], "damaged or truncated"),
        "path ../../x": (zip_of(f, infos=[(zipfile.ZipInfo("../../x"), b"pwned")]), "not allowed"),
        "absolute path": (zip_of(f, infos=[(zipfile.ZipInfo("/tmp/seqstudio-pwned"), b"x")]), "not allowed"),
        "windows path ..\\x": (zip_of(f, infos=[(zipfile.ZipInfo("..\\x"), b"x")]), "not allowed"),
        "file in a sub-folder": (zip_of(f, infos=[(zipfile.ZipInfo("bundle/spec.json"), b"{}")]), "not allowed"),
        "zip bomb (64 MB of zeros)": (_bomb(f), "zip bomb"),
        "symlink member": (zip_of({k: v for k, v in f.items() if k != "spec.json"},
                                  infos=[(_symlink_info("spec.json"), b"/etc/passwd")]), "symbolic link"),
        "unexpected extra file": (zip_of({**f, "run.py": b"print('x')"}), "unexpected file"),
        "a file missing": (zip_of({k: v for k, v in f.items() if k != "preprocess.json"}), "missing"),
        "the same name twice": (_dup(f), "twice"),
        "password-protected": (_encrypted(f), "password"),
        "tampered model, checksums not updated": (
            zip_of({**f, "model.keras": keras_bytes(f, extra={"metadata2.json": b"{}"})}), "checksum"),
        "not a zip (an image)": (b"\x89PNG\r\n\x1a\n" + bytes(300), "not a model bundle"),
        "manifest version not a number": (zip_of(resign({**f, "manifest.json": json.dumps(
            {**manifest, "version": "1; rm -rf /"}).encode()})), "damaged"),
        "spec that is a list": (zip_of(resign({**f, "spec.json": b"[1, 2, 3]"})), "damaged"),
        "newer bundle format": (zip_of({**f, "manifest.json": json.dumps({**manifest, "version": 99}).encode()}),
                                "newer"),
    }


def files_zip(files: dict) -> bytes:
    return zip_of(files)


@pytest.fixture(scope="module")
def hostile(real, tmp_path_factory) -> dict:
    sentinel = tmp_path_factory.mktemp("sentinel") / "PWNED"
    return {"cases": hostile_cases(real["files"], sentinel), "sentinel": sentinel}


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# ----------------------------------------------------------------------------- the real bundle passes


def test_real_bundle_passes_every_check_and_imports_as_a_finished_run(real, tmp_path):
    dest = extract_bundle_zip(real["zip"], tmp_path / "x" / "bundle")
    assert tree(tmp_path / "x") == ["bundle", *[f"bundle/{n}" for n in sorted(ALL_FILES)]]
    assert read_bundle(dest).spec.data.task == "classify"
    store = RunStore(tmp_path / "home")
    run_id = import_bundle_zip(store, real["zip"], "../../models/my model.zip")
    rec = store.get_run(run_id)
    assert (rec.kind, rec.status, rec.dataset_id) == ("train", "finished", None)
    assert rec.tags["imported"] is True and rec.tags["source_file"] == "my model.zip"
    assert rec.summary["test"] and (store.run_dir(run_id) / "metrics.json").exists()
    assert tree(store.run_dir(run_id)) == ["bundle", *[f"bundle/{n}" for n in sorted(ALL_FILES)], "metrics.json"]
    assert not [p for p in store.runs_dir.iterdir() if p.name.startswith(".")]   # no staging left behind


# ----------------------------------------------------------------------------- hostile bundles are refused


@pytest.mark.parametrize("name", [
    "Lambda layer with a payload", "config turning safe mode off", "safe_mode hidden inside a layer",
    "layer reading a local file (TextVectorization vocabulary)", "layer reading a local file (StringLookup)",
    "custom class from a module path", "custom registered object", "module name prefix trick",
    "python function object", "extra file inside model.keras", "truncated zip", "path ../../x", "absolute path",
    "windows path ..\\x", "file in a sub-folder", "zip bomb (64 MB of zeros)", "symlink member",
    "unexpected extra file", "a file missing", "the same name twice", "password-protected",
    "tampered model, checksums not updated", "not a zip (an image)", "manifest version not a number",
    "spec that is a list", "newer bundle format",
])
def test_hostile_bundle_is_refused_before_anything_loads(name, hostile, tmp_path, monkeypatch):
    data, needle = hostile["cases"][name]
    REFUSED[name] = "tried"
    loads = _forbid_keras_loading(monkeypatch)
    root = tmp_path / "area"
    root.mkdir()
    # 1) the archive checks (what the Predict page's import runs)
    with pytest.raises(BundleError) as err:
        extract_bundle_zip(data, root / "dest")
    msg = str(err.value)
    assert needle.lower() in msg.lower(), msg
    assert "Traceback" not in msg and len(msg) < 400
    assert tree(root) == [], "nothing may be written, not even inside the destination"
    # 2) importing into a store: no run, no folder, no staging left
    store = RunStore(tmp_path / "home")
    with pytest.raises(BundleError):
        import_bundle_zip(store, data, "x.zip")
    assert store.list_runs(kind=None) == [] and tree(store.runs_dir) == []
    # 3) nothing outside: no payload ran, no traversal target exists
    assert not hostile["sentinel"].exists()
    assert not (tmp_path.parent / "x").exists() and not Path("/tmp/seqstudio-pwned").exists()
    assert loads == []
    REFUSED[name] = "refused"


def _forbid_keras_loading(monkeypatch) -> list:
    """Replace keras.saving.load_model with a recorder: a refused bundle must never reach it."""
    calls: list = []
    fake = types.ModuleType("keras")
    fake.saving = types.SimpleNamespace(load_model=lambda *a, **k: calls.append((a, k)))
    fake.__version__ = "fake"
    monkeypatch.setitem(sys.modules, "keras", fake)
    return calls


@pytest.mark.parametrize("name", ["Lambda layer with a payload", "config turning safe mode off",
                                  "layer reading a local file (TextVectorization vocabulary)",
                                  "custom class from a module path", "extra file inside model.keras"])
def test_load_bundle_refuses_a_hostile_folder_before_keras_sees_it(name, hostile, real, tmp_path, monkeypatch):
    """A hostile bundle put straight into a run folder (not through an import) is still refused by the
    worker's load_bundle before keras.saving.load_model is called."""
    data, needle = hostile["cases"][name]
    folder = tmp_path / "bundle"
    folder.mkdir()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            (folder / info.filename).write_bytes(z.read(info))
    loads = _forbid_keras_loading(monkeypatch)
    with pytest.raises(BundleError, match=re.escape(needle) if needle != "not allowed" else "not allowed"):
        load_bundle(folder)
    assert loads == [] and not hostile["sentinel"].exists()


def test_oversized_bundle_is_refused_before_it_is_opened(real, tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_mod, "MAX_BUNDLE_BYTES", len(real["zip"]) - 1)
    REFUSED["oversized file"] = "tried"
    with pytest.raises(BundleError, match="larger than"):
        extract_bundle_zip(real["zip"], tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    REFUSED["oversized file"] = "refused"


def test_a_huge_config_inside_model_keras_is_refused(real, tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_mod, "MAX_JSON_BYTES", 1000)
    REFUSED["huge config.json inside model.keras"] = "tried"
    with pytest.raises(BundleError, match="too large"):
        inspect_keras_file(real["dir"] / "model.keras")
    REFUSED["huge config.json inside model.keras"] = "refused"


def test_model_config_allow_list_takes_only_exact_modules():
    ok = {"module": "keras.initializers", "class_name": "GlorotUniform", "registered_name": None}
    bundle_mod.check_model_config(ok)
    bundle_mod.check_model_config({"module": "keras.optimizers.schedules", "class_name": "CosineDecay"})
    for bad in ("keras.initializers_evil", "keras.initializersx.os", "keras.lossesos", "os", None):
        with pytest.raises(BundleError, match="not allowed"):
            bundle_mod.check_model_config({**ok, "module": bad})


# ----------------------------------------------------------------------------- through the Predict page


def _import(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="predict_import_upload").set_value((name, data, "application/zip"))
    at.run()
    at.button(key="predict_import_go").click().run()
    return at


@pytest.mark.parametrize("name", ["Lambda layer with a payload", "path ../../x", "truncated zip",
                                  "zip bomb (64 MB of zeros)", "symlink member", "config turning safe mode off"])
def test_predict_page_import_refuses_hostile_bundles_plainly(name, hostile, _isolated_home, monkeypatch):
    data, needle = hostile["cases"][name]
    loads = _forbid_keras_loading(monkeypatch)
    at = _import(page(PREDICT), "model.zip", data)
    assert not at.exception
    assert len(at.error) == 1 and needle.lower() in at.error[0].value.lower(), texts(at.error)
    assert "Nothing was imported" in texts(at.caption)
    store = RunStore()
    assert store.list_runs(kind=None) == [] and tree(store.runs_dir) == []
    assert loads == [] and not hostile["sentinel"].exists()


def test_predict_page_imports_a_real_bundle_without_loading_it(real, _isolated_home, monkeypatch):
    loads = _forbid_keras_loading(monkeypatch)
    at = _import(page(PREDICT), "<img src=x onerror=alert(1)>.zip", real["zip"])
    assert not at.exception and not at.error, texts(at.error)
    store = RunStore()
    [rec] = store.list_runs()
    assert rec.status == "finished" and rec.tags["imported"] is True
    assert at.session_state["predict_run"] == rec.id and "Imported the model" in texts(at.success)
    assert loads == [], "the server never loads the model: a worker does, when a prediction is asked for"
    # the imported run shows on every page without errors (no dataset behind it)
    for path, query in ((RESULTS_PAGE, {"run": rec.id}), ("pages/5_Runs.py", {}), ("pages/3_Train.py", {}),
                        (PREDICT, {"run": rec.id})):
        other = page(path, query=query)
        assert not other.exception and not other.error, (path, texts(other.error))


# ----------------------------------------------------------------------------- prediction CSVs


def test_prediction_csv_with_a_missing_or_mistyped_column_names_it(real):
    df = pd.read_csv(io.BytesIO(wide_csv()))
    from seqcore.pipeline import predict_from_bundle

    out = predict_from_bundle(real["dir"], df.drop(columns=["label"]).to_csv(index=False).encode())
    assert len(out) == 40 and "predicted" in out.columns
    with pytest.raises(DataError, match="'v3'") as err:
        predict_from_bundle(real["dir"], df.drop(columns=["v3"]).to_csv(index=False).encode())
    assert "no column" in str(err.value)
    bad = df.astype({"v5": str})
    bad.loc[7, "v5"] = "seven"
    with pytest.raises(DataError, match="'v5'") as err:
        predict_from_bundle(real["dir"], bad.to_csv(index=False).encode())
    assert "numbers" in str(err.value) and "line 9" in str(err.value)
    with pytest.raises(DataError, match="empty"):
        predict_from_bundle(real["dir"], b"")


# ----------------------------------------------------------------------------- code and URL checks

CODE_FILES = sorted(p for p in ROOT.rglob("*.py") if "tests" not in p.relative_to(ROOT).parts
                    and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
                    and "test-artifacts" not in p.relative_to(ROOT).parts)


def test_no_pickle_anywhere_in_the_code():
    banned = [
        (r"^\s*(import|from)\s+(pickle|cPickle|_pickle|joblib|dill|cloudpickle|shelve|marshal)\b", "pickle-like import"),
        (r"allow_pickle\s*=\s*True", "np.load(allow_pickle=True)"),
        (r"\bread_pickle\s*\(|\.to_pickle\s*\(", "pandas pickle"),
        (r"safe_mode\s*=\s*False", "Keras safe_mode=False"),
        (r"enable_unsafe_deserialization", "Keras unsafe deserialisation"),
        (r"torch\.load\s*\(", "torch.load (pickle)"),
        (r"yaml\.load\s*\((?![^)]*SafeLoader)", "yaml.load without SafeLoader"),
    ]
    offenders = []
    for path in CODE_FILES:
        src = path.read_text(encoding="utf-8", errors="replace")
        for pattern, what in banned:
            for m in re.finditer(pattern, src, flags=re.M):
                line = src.count("\n", 0, m.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not offenders, offenders
    assert len(CODE_FILES) >= 30 and any(p.name == "bundle.py" for p in CODE_FILES)
    # the load path keeps safe mode on
    assert "safe_mode=True" in (ROOT / "seqcore" / "outputs" / "bundle.py").read_text()


@pytest.mark.parametrize("bad", ["../x", "../../etc/passwd", "<script>alert(1)</script>", "x" * 300, "a b",
                                 "%2e%2e%2fx", "run\x00id"])
def test_run_ids_from_the_url_are_validated(bad, real, _isolated_home):
    store = RunStore()
    good = import_bundle_zip(store, real["zip"], "m.zip")
    with pytest.raises(RunNotFound):
        store.get_run(bad)
    with pytest.raises(RunNotFound):
        store.run_dir(bad)
    at = page(RESULTS_PAGE, query={"run": bad})
    assert "not valid" in texts(at.error)
    assert at.session_state["results_run"] == good          # the page falls back to a real run
    at = page(PREDICT, query={"run": bad})
    assert at.session_state["predict_run"] == good and not at.error
    assert tree(_isolated_home).count("x") == 0 and not (_isolated_home.parent / "x").exists()


def test_runs_cli_refuses_bad_ids(_isolated_home, capsys):
    from seqcore.cli import runs as cli_runs

    assert cli_runs.main(["runs", "show", "../../etc/passwd", "--home", str(_isolated_home)]) == 2
    assert "not a valid run id" in capsys.readouterr().err
