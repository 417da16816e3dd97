"""Training engines for the speed benchmark, each run alone in its own process.

``python bench/speed_engines.py '<json config>'`` builds one engine, prints ``READY {...}`` and then,
for every ``go`` line it reads on stdin, trains one epoch and prints ``EPOCH {"seconds": ...,
"cpu_seconds": ...}``. The parent (:mod:`bench.speed`) starts one engine at a time, sends ``go`` again as
soon as an epoch is reported, and waits for the process to end before it starts the next engine, so
nothing else of ours runs while an engine is timed.

Engines (``kind``):
  seqcore  the app's path: ``seqcore.modeling.models.build_model`` + ``seqcore.modeling.training.fit`` (PyDataset feeder
           gathering windows by index, the Stream callback), progress written into a RunStore through
           the worker's ``HistoryWriter`` and ``StopFlag``;
  keras    plain ``model.fit`` on materialised NumPy arrays, what a user would write by hand, with the
           same settings as ours (checked for Figure 1): the same cell with Keras's defaults (GRU
           ``reset_after=True``, ``use_cudnn="auto"``), float32, Adam 1e-3 with ``clipnorm=1.0``, MSE,
           metrics ``["mae"]``, XLA under JAX, shuffled batches. Ours adds only what the app needs:
           ReduceLROnPlateau (once an epoch), the Stream progress callback and the store writes;
  torch    a plain PyTorch ``nn.LSTM`` / ``nn.GRU`` loop over shuffled index batches of the same arrays.

Data: a seeded synthetic series of ``rows`` rows x ``features`` columns (sines plus noise), scaled;
windows of ``window`` steps predict the next step of column 0, relative to its last value (the app's
default). Every engine trains on exactly the same windows.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULTS = {
    "kind": "seqcore", "backend": "auto", "cell": "lstm", "units": 64, "rows": 50_048, "features": 1,
    "window": 48, "batch": 32, "epochs": 5, "jit": None, "spe": 1, "threads": None, "seed": 0,
    "store": True, "val_rows": 0,
}


def make_series(rows: int, features: int, seed: int = 0) -> np.ndarray:
    """(rows, features) float32 standardised series: a few sines with noise per column."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)[:, None]
    periods = rng.uniform(8, 200, size=(1, features))
    x = np.sin(2 * np.pi * t / periods) + 0.5 * np.sin(2 * np.pi * t / (periods * 3.7)) \
        + 0.2 * rng.standard_normal((rows, features))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x.astype(np.float32)


def make_sources(cfg: dict):
    """(train, val or None) WindowSources over the synthetic series; val = the last ``val_rows`` origins."""
    from seqcore.data.windows import WindowSource

    series = make_series(cfg["rows"], cfg["features"], cfg["seed"])
    starts = np.arange(cfg["window"], cfg["rows"], dtype=np.int64)
    train = WindowSource(series, series[:, :1], starts, cfg["window"], 1, relative=True)
    val = None
    if cfg["val_rows"]:
        val = WindowSource(series, series[:, :1], starts[-cfg["val_rows"]:], cfg["window"], 1, relative=True)
    return train, val


def _say(tag: str, payload: dict) -> None:
    sys.stdout.write(f"{tag} {json.dumps(payload)}\n")
    sys.stdout.flush()


def _wait_go() -> bool:
    line = sys.stdin.readline()
    return line.strip() == "go"


def _rss_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Pacer:
    """Times epochs between ``go`` commands and reports them: wall seconds, and the CPU seconds of this
    process (all its threads) in the same span, which other work on a shared machine disturbs less."""

    def __init__(self):
        self.t_go = 0.0
        self.cpu_go = 0.0
        self.epoch = 0

    def start(self) -> bool:
        if not _wait_go():
            return False
        self.t_go = time.perf_counter()
        self.cpu_go = time.process_time()
        return True

    def report(self, extra: dict | None = None) -> None:
        """Report the epoch just finished (without waiting for the next ``go``)."""
        self.epoch += 1
        _say("EPOCH", {"epoch": self.epoch, "seconds": time.perf_counter() - self.t_go,
                       "cpu_seconds": time.process_time() - self.cpu_go, **(extra or {})})

    def epoch_done(self, extra: dict | None = None) -> bool:
        """Report the epoch just finished; block for the next ``go`` (False: told to quit)."""
        self.report(extra)
        return self.start()


# --------------------------------------------------------------------------- engines

def _keras_device() -> str:
    """"cpu", or the GPU's name, where the Keras backend of this process trains."""
    from seqcore.modeling.device import describe_device

    d = describe_device()
    return "cpu" if d["kind"] == "CPU" else str(d["name"] or d["kind"])


def run_seqcore(cfg: dict) -> dict:
    from seqcore.config import ModelSpec, TrainSpec
    from seqcore.modeling.models import ModelShape, build_model
    from seqcore.modeling.training import fit, quiet_tensorflow, set_seed

    quiet_tensorflow()
    import keras

    train, val = make_sources(cfg)
    tkw = {"epochs": cfg["epochs"], "batch_size": cfg["batch"], "patience": 0, "seed": cfg["seed"]}
    if cfg["jit"] is not None:
        tkw["jit_compile"] = bool(cfg["jit"])
    tspec = TrainSpec(**tkw)
    mspec = ModelSpec(cell=cfg["cell"], units=(cfg["units"],))
    shape = ModelShape(task="forecast", input_shape=(cfg["window"], cfg["features"]), output_shape=(1, 1))
    set_seed(cfg["seed"], strict=False)
    model = build_model(mspec, tspec, shape, steps_per_execution=cfg["spe"])
    pacer = Pacer()
    writer = stop = None
    tmp = None
    if cfg["store"]:
        from seqcore.runs.store import RunStore
        from seqcore.runs.worker import HistoryWriter, StopFlag

        tmp = tempfile.TemporaryDirectory(prefix="seqbench-")
        store = RunStore(Path(tmp.name) / "home")
        run_id = store.create_run(spec={"bench": True}, dataset_id=None, task="forecast", status="running")
        writer, stop = HistoryWriter(store, run_id), StopFlag(store, run_id)
    quit_flag = {"quit": False}

    def on_progress(point) -> None:
        if writer is not None:
            writer(point)
        if point.kind == "epoch" and not quit_flag["quit"] and point.epoch < cfg["epochs"]:
            if not pacer.epoch_done():
                quit_flag["quit"] = True

    def should_stop() -> bool:
        return quit_flag["quit"] or (stop() if stop is not None else False)

    info = {"backend": keras.backend.backend(), "jit": bool(getattr(model, "jit_compile", False)),
            "windows": len(train), "spe": int(model.steps_per_execution), "device": _keras_device()}
    _say("READY", info)
    if not pacer.start():
        return info
    fit(model, train, val, tspec, on_progress=on_progress, should_stop=should_stop)
    if not quit_flag["quit"]:
        pacer.report()
    if writer is not None:
        writer.flush()
        info["points_written"] = writer.written
    return info


def run_keras(cfg: dict) -> dict:
    # a plain process: none of seqcore's start-up (no compile cache, no TensorFlow avoidance)
    from seqcore.modeling.training import backend_name

    os.environ["KERAS_BACKEND"] = backend_name() if cfg["backend"] == "auto" else cfg["backend"]
    import keras

    backend = keras.backend.backend()
    train, val = make_sources(cfg)
    x, y = train.gather(np.arange(len(train)))
    val_data = val.gather(np.arange(len(val))) if val is not None else None
    keras.utils.set_random_seed(cfg["seed"])
    cell = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cfg["cell"]]
    model = keras.Sequential([
        keras.Input((cfg["window"], cfg["features"])),
        cell(cfg["units"]),
        keras.layers.Dense(1),
        keras.layers.Reshape((1, 1)),
    ])
    jit = "auto" if cfg["jit"] is None else bool(cfg["jit"])
    if backend == "jax":
        jit = True
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="mse", metrics=["mae"],
                  jit_compile=jit, steps_per_execution=cfg["spe"])
    pacer = Pacer()

    class Gate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 < cfg["epochs"] and not pacer.epoch_done():
                self.model.stop_training = True

    info = {"backend": backend, "jit": bool(model.jit_compile), "windows": len(train), "device": _keras_device()}
    _say("READY", info)
    if not pacer.start():
        return info
    model.fit(x, y, batch_size=cfg["batch"], epochs=cfg["epochs"], shuffle=True, validation_data=val_data,
              callbacks=[Gate()], verbose=0)
    pacer.report()
    return info


def run_torch(cfg: dict) -> dict:
    import torch

    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    torch.manual_seed(cfg["seed"])
    # on a machine with a CUDA GPU PyTorch trains there (nn.LSTM / nn.GRU take cuDNN), as JAX does for ours
    dev = torch.device(cfg.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    train, val = make_sources(cfg)
    x, y = train.gather(np.arange(len(train)))
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y.reshape(len(y), -1)).to(dev)
    vx = vy = None
    if val is not None:
        a, b = val.gather(np.arange(len(val)))
        vx, vy = torch.from_numpy(a).to(dev), torch.from_numpy(b.reshape(len(b), -1)).to(dev)
    rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg["cell"]]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn_cls(cfg["features"], cfg["units"], batch_first=True)
            self.head = torch.nn.Linear(cfg["units"], 1)

        def forward(self, inp):
            out, _ = self.rnn(inp)
            return self.head(out[:, -1])

    net = Net().to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    info = {"backend": f"torch {torch.__version__}", "threads": torch.get_num_threads(), "windows": len(train),
            "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev)}
    _say("READY", info)
    pacer = Pacer()
    if not pacer.start():
        return info
    g = torch.Generator().manual_seed(cfg["seed"])
    bs = cfg["batch"]
    for epoch in range(cfg["epochs"]):
        net.train()
        order = torch.randperm(len(xt), generator=g).to(dev)
        total = 0.0
        for i in range(0, len(xt), bs):
            idx = order[i:i + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)  # the same clipping as the Keras engines
            opt.step()
            total += float(loss.detach()) * len(idx)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        extra = {"loss": total / len(xt)}
        if vx is not None:
            net.eval()
            with torch.no_grad():
                extra["val_loss"] = float(sum(loss_fn(net(vx[i:i + bs]), vy[i:i + bs]) * len(vx[i:i + bs])
                                              for i in range(0, len(vx), bs)) / len(vx))
        if epoch + 1 < cfg["epochs"]:
            if not pacer.epoch_done(extra):
                break
        else:
            pacer.report(extra)
    return info


ENGINES = {"seqcore": run_seqcore, "keras": run_keras, "torch": run_torch}


def main(argv: list[str]) -> int:
    cfg = dict(DEFAULTS)
    cfg.update(json.loads(argv[0]))
    if cfg["kind"] != "torch" and cfg["backend"] != "auto":
        os.environ["SEQSTUDIO_BACKEND"] = cfg["backend"]
        os.environ["KERAS_BACKEND"] = cfg["backend"]
    if cfg["threads"] and cfg["kind"] != "torch":
        from seqcore.modeling.training import configure_threads

        configure_threads(int(cfg["threads"]))
    info = ENGINES[cfg["kind"]](cfg)
    _say("DONE", {**info, "peak_rss_mb": round(_rss_peak_mb(), 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
