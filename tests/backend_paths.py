"""The core paths of all three tasks, in one process: run by ``tests/test_backend_tensorflow.py`` as
``python tests/backend_paths.py OUT_DIR`` with ``SEQSTUDIO_BACKEND`` set, because the Keras backend is fixed
for a process once Keras is imported.

For forecast, classify (wide, with a separate test file) and text: train until a stop request in the
first batch (epoch 1 ends there, with a checkpoint), resume from the checkpoint to the last epoch, save
the bundle, then read the bundle back and predict. Prints one JSON object: the backend Keras used and per
task what the runs and the reloaded bundle gave. The test asserts on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec  # noqa: E402
from seqcore.pipeline import predict_from_bundle, run_training  # noqa: E402

EPOCHS = 3
TRAIN = TrainSpec(epochs=EPOCHS, batch_size=16, patience=0, lr_schedule="none", learning_rate=0.01)


def forecast_case():
    rng = np.random.default_rng(0)
    t = np.arange(240)
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=240, freq="D").strftime("%Y-%m-%d"),
                       "y": 10 + np.sin(t / 5) * 3 + rng.normal(0, 0.05, 240), "x": np.cos(t / 5)})
    spec = RunSpec(DataSpec(task="forecast", time="date", targets=("y",), features=("x",), window=12, horizon=3),
                   ModelSpec(units=(8,)), TRAIN)
    return spec, df.to_csv(index=False).encode(), None


def classify_case():
    rng = np.random.default_rng(1)

    def table(n: int) -> bytes:
        labels = np.where(np.arange(n) % 2, "up", "down")
        steps = np.arange(20)
        values = np.array([(1 if lab == "up" else -1) * steps / 10 + rng.normal(0, 0.3, 20) for lab in labels])
        df = pd.DataFrame(values.round(4), columns=[f"v{i}" for i in steps])
        df.insert(0, "label", labels)
        return df.to_csv(index=False).encode()

    spec = RunSpec(DataSpec(task="classify", label="label"), ModelSpec(units=(8,)), TRAIN)
    return spec, table(80), table(30)


def text_case():
    df = pd.read_csv(ROOT / "seqcore" / "samples" / "rt_polarity_subset.csv")
    spec = RunSpec(DataSpec(task="text", text="text", label="label", max_len=24, max_vocab=2000),
                   ModelSpec(units=(8,), embedding_dim=16), TRAIN)
    return spec, df.iloc[:400].to_csv(index=False).encode(), df.iloc[400:500].to_csv(index=False).encode()


def run_case(name: str, spec: RunSpec, data: bytes, test_data: bytes | None, out: Path) -> dict:
    ck = out / name / "checkpoint"
    # Stop pressed at once: polled after every batch, so epoch 1 ends after its first batch, with a checkpoint
    first = run_training(data, spec, out / name / "first", test_data=test_data, should_stop=lambda: True,
                         checkpoint_dir=ck)
    ck_epoch = json.loads((ck / "checkpoint.json").read_text())["epoch"]
    res = run_training(data, spec, out / name / "run", test_data=test_data, checkpoint_dir=ck, resume=True)
    run_dir = out / name / "run"
    if name == "forecast":    # the bundle forecasts the same future as the run wrote
        saved = pd.read_csv(run_dir / "forecast.csv")["y"].to_numpy()
        again = predict_from_bundle(res.bundle_dir, data)["y"].to_numpy()
        same = bool(np.allclose(again, saved, atol=1e-5))
    else:                     # the bundle predicts the test file's classes as the run did
        saved = pd.read_csv(run_dir / "predictions.csv")["predicted"].astype(str).tolist()
        again = predict_from_bundle(res.bundle_dir, test_data)["predicted"].astype(str).tolist()
        same = again == saved
    return {"first_status": first.status, "first_epochs": first.epochs_run, "checkpoint_epoch": ck_epoch,
            "status": res.status, "epochs": [h["epoch"] for h in res.history],
            "losses": [h["loss"] for h in res.history], "test_metrics": sorted(res.metrics["test"]),
            "baselines": sorted(res.metrics["baselines"]), "bundle": str(res.bundle_dir),
            "reloaded_predictions_match": same, "rows_predicted": len(again)}


def main(out: Path) -> None:
    results = {name: run_case(name, *case(), out) for name, case in
               (("forecast", forecast_case), ("classify", classify_case), ("text", text_case))}
    import keras

    from seqcore.modeling.training import backend_name

    print(json.dumps({"keras_backend": keras.backend.backend(), "backend_name": backend_name(),
                      "tensorflow_imported": "tensorflow" in sys.modules, "tasks": results}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
