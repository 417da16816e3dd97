"""One training run end to end: CSV bytes + RunSpec -> trained bundle, metrics, predictions.

Used by the CLI (foreground) and by worker processes (background runs). Everything a user can
fix comes out as a :class:`~seqcore.errors.UserError`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from seqcore.config import RunSpec
from seqcore.errors import UserError
from seqcore.fsutil import atomic_write_bytes, atomic_write_text
from seqcore.modeling.device import run_note as device_note
from seqcore.modeling.progress import Progress
from seqcore.modeling.training import configure_threads, quiet_tensorflow  # noqa: F401 - re-exported for workers


def _vocabulary_words(prep) -> list[str] | None:
    """The text vocabulary's words (word i has id i + 2), for pretrained word vectors; None for other tasks."""
    vocab = prep.state.get("vocab") if isinstance(prep.state, dict) else None
    return list(vocab["words"]) if vocab else None


def _note_word_vectors(spec: RunSpec, prep) -> None:
    """Tell the user which word vectors a text model starts from, and why."""
    if prep.task != "text":
        return
    from seqcore.modeling.models import word_vectors

    name, _ = word_vectors(spec.model, prep.shape)
    cov = prep.shape.vector_coverage
    if name != "none":
        prep.notes.append(f"Word vectors start from pretrained GloVe (English); it knows {cov:.0%} of the words "
                          "in the training texts. They are fine-tuned while training.")
    elif spec.model.word_vectors == "auto" and cov is not None:
        prep.notes.append(f"Word vectors are learned from scratch: the pretrained English table knows only "
                          f"{cov:.0%} of the words in these texts.")


@dataclass
class RunResult:
    status: str            # "finished" | "stopped"
    metrics: dict          # {"test": {...}, "baselines": {name: {...}}, "comparison": {...}, ...}
    bundle_dir: Path
    epochs_run: int
    best_epoch: int | None
    history: list[dict]
    notes: list[str]


def warm_up() -> None:
    """What a warm worker does while it waits: import the Keras backend (JAX or TensorFlow, see
    :func:`seqcore.modeling.training.backend_name`) and Keras; under JAX also train a tiny network for one step,
    which sets up the XLA compiler (about a second saved on the next run's first compilation)."""
    quiet_tensorflow()
    import keras

    if keras.backend.backend() != "jax":
        return
    try:
        x = np.zeros((2, 3, 1), np.float32)
        net = keras.Sequential([keras.Input((3, 1)), keras.layers.LSTM(2), keras.layers.Dense(1)])
        net.compile(optimizer="adam", loss="mse")
        net.train_on_batch(x, np.zeros((2, 1), np.float32))
    except Exception:  # noqa: BLE001 - only a head start; the run itself reports real problems
        pass
    finally:
        keras.backend.clear_session(free_memory=False)  # the run starts from Keras's blank state, as in a CLI run


def load_tables(data: bytes, spec: RunSpec, csv_options=None, test_data: bytes | None = None, name: str = "data.csv"):
    from seqcore.data.io import read_table

    table = read_table(data, csv_options, name=name)
    test_table = None
    if test_data is not None:   # a separate test file that is a workbook is read from its first sheet
        test_options = replace(csv_options, sheet=None) if csv_options is not None else None
        test_table = read_table(test_data, test_options, name="test.csv")
    return table, test_table


def prepare_data(data: bytes, spec: RunSpec, *, csv_options=None, test_data: bytes | None = None,
                 name: str = "data.csv"):
    """Parse and prepare without touching TensorFlow (also used by the app for a dry run / estimate)."""
    from seqcore.modeling.tasks import get_task

    spec.validate()
    table, test_table = load_tables(data, spec, csv_options, test_data, name)
    task = get_task(spec.data.task)
    prep = task.prepare(table.df, spec.data, test_df=None if test_table is None else test_table.df,
                        seed=spec.train.seed)
    return task, prep, table


# --------------------------------------------------------------------------- prewarm (a worker waiting for a job)

#: Data prepared by :func:`prewarm` for the run expected next: {key: (task module, Prepared)}. At most one
#: entry; :func:`run_training` takes it (or drops it) so it is used once, by the one run a worker executes.
_PREPARED: dict[str, tuple] = {}


def prepared_key(data: bytes, spec: RunSpec, *, csv_options=None, test_data: bytes | None = None,
                 name: str = "data.csv") -> str:
    """What the prepared data depends on: both files' bytes, the data spec, the seed (the split shuffle),
    the CSV options and the file name (used in messages). Same key, same ``prepare_data`` result."""
    h = hashlib.sha256()
    h.update(hashlib.sha256(data).digest())
    h.update(b"-" if test_data is None else hashlib.sha256(test_data).digest())
    opts = None if csv_options is None else (csv_options if isinstance(csv_options, dict) else csv_options.to_dict())
    h.update(json.dumps({"data": spec.data.to_dict(), "seed": spec.train.seed, "csv": opts, "name": name},
                        sort_keys=True, default=str).encode())
    return h.hexdigest()


def _take_prepared(key: str):
    """The data :func:`prewarm` prepared under ``key`` (or None); forgets every entry either way."""
    found = _PREPARED.pop(key, None)
    _PREPARED.clear()
    return found


@dataclass
class PrewarmReport:
    """What :func:`prewarm` did: seconds per stage, in order, and whether it got through all of them.

    With ``defer_rest=True`` the stages a run needs only after its first steps are left for
    :meth:`finish` (``pending`` names them), which a worker runs in a background thread.
    """

    stages: dict[str, float] = field(default_factory=dict)
    timing: dict | None = None     # the ``measure`` stage's result, with its ``key`` (seqcore.modeling.timing)
    complete: bool = False
    reason: str | None = None      # "interrupted" (stopped early), or "backend" (TensorFlow: the data only)
    _rest: list = field(default_factory=list, repr=False)

    @property
    def pending(self) -> list[str]:
        return [name for name, _ in self._rest]

    def finish(self, interrupted: Callable[[], bool] | None = None) -> "PrewarmReport":
        """Run the deferred stages (checking ``interrupted()`` before each), then drop the throwaway model.

        Safe in a background thread while this process trains a run: these stages only use the throwaway
        model and never draw from Python's, NumPy's or Keras's global random state (batches are not shuffled),
        nor reset Keras's global state."""
        interrupted = interrupted or (lambda: False)
        try:
            while self._rest:
                name, work = self._rest[0]
                if interrupted():
                    self.reason = "interrupted"
                    return self
                t0 = time.perf_counter()
                work()
                self.stages[name] = round(time.perf_counter() - t0, 3)
                self._rest.pop(0)
            self.complete = True
            return self
        finally:
            self._rest.clear()   # releases the throwaway model

    def to_dict(self) -> dict:
        return {"stages": dict(self.stages), "complete": self.complete, "reason": self.reason,
                "pending": self.pending, "seconds": round(sum(self.stages.values()), 3)}


class _Subset:
    """The first ``n`` examples of a batch source (a :class:`~seqcore.data.windows.Source`)."""

    def __init__(self, src, n: int):
        self.src, self.n = src, int(n)

    def __len__(self) -> int:
        return self.n

    def gather(self, idx):
        return self.src.gather(np.asarray(idx))

    def inputs(self, idx):
        return self.src.inputs(np.asarray(idx))


def _batch_sizes(n: int, batch_size: int) -> list[int]:
    """The distinct batch sizes a pass over ``n`` examples in batches of ``batch_size`` uses, full first."""
    if n <= 0:
        return []
    sizes = [min(n, batch_size)]
    if n > batch_size and n % batch_size:
        sizes.append(n % batch_size)
    return sizes


def prewarm(data: bytes, spec: RunSpec, *, csv_options=None, test_data: bytes | None = None,
            name: str = "data.csv", interrupted: Callable[[], bool] | None = None,
            defer_rest: bool = False, measure_time: bool = True) -> PrewarmReport:
    """Do ahead what a run of ``spec`` on ``data`` spends before its first loss point, while nobody waits.

    A warm worker calls this when the app says which run is probably next (the Train page is open).
    Stages, each skipped once ``interrupted()`` is true (checked between stages, never inside one, so a
    job that arrives waits at most for the stage in progress):

    1. ``prepare``: parse and prepare the data; kept for :func:`run_training` of the same data and spec;
    2. ``build``: build the model (JAX compiles each weight initialiser for its shape, cached in-process);
    3. ``train_step``: train a throwaway model on one full batch (32 where the run will train 16 steps per
       compiled call, :mod:`seqcore.modeling.data_parallel`): the XLA programs of the first steps,
       kept in the persistent compilation cache (the run's own model then only traces and loads it);
    4. ``train_last_batch`` / ``evaluate`` / ``predict``: the run's remaining shapes (the last, smaller
       batch of an epoch, validation and test batches), so the run never stops to compile; and, with
       ``measure_time``, ``measure``: a few timed training and validation batches of the compiled model
       (``report.timing``, see :mod:`seqcore.modeling.timing`: the Model page's time per epoch). With
       ``defer_rest`` these are left to :meth:`PrewarmReport.finish`.

    Only the JAX backend compiles ahead (TensorFlow keeps no cache across models); the data is
    prepared for either. A configuration too large to train raises :class:`SpecError` before anything
    is built, bad data its ``DataError``. Keras's global state is cleared before returning and the
    throwaway model never touches the global random state, so the run trains exactly as without.
    """
    from seqcore.modeling.models import build_model, check_fits
    from seqcore.modeling.training import make_feeder

    interrupted = interrupted or (lambda: False)
    report = PrewarmReport()
    quiet_tensorflow()
    spec.validate()
    t0 = time.perf_counter()
    key = prepared_key(data, spec, csv_options=csv_options, test_data=test_data, name=name)
    _PREPARED.clear()
    task, prep, _ = prepare_data(data, spec, csv_options=csv_options, test_data=test_data, name=name)
    check_fits(spec.model, spec.train, prep.shape)  # too large: refused here, as the run would be
    _PREPARED[key] = (task, prep)
    report.stages["prepare"] = round(time.perf_counter() - t0, 3)
    import keras

    if keras.backend.backend() != "jax":
        report.complete, report.reason = True, "backend"   # nothing to compile ahead: the data is all
        return report
    bs = spec.train.batch_size
    box: dict = {}   # the throwaway model, dropped with the last stage

    def feeder(src, n: int):
        return make_feeder(_Subset(src, n), bs, shuffle=False, seed=0)

    def build() -> None:
        box["model"] = build_model(spec.model, spec.train, prep.shape, vocabulary=_vocabulary_words(prep))

    def fit_on(src, n: int) -> None:
        box["model"].fit(feeder(src, n), epochs=1, verbose=0, shuffle=False)

    def evaluate_on(src) -> None:
        for n in _batch_sizes(len(src), bs):
            box["model"].evaluate(feeder(src, n), verbose=0)

    def predict_shapes() -> None:
        for n in _batch_sizes(len(prep.test), max(256, bs)):
            box["model"].predict_on_batch(prep.test.inputs(np.arange(n)))
        if prep.task == "forecast":
            from seqcore.modeling.tasks.forecast import future_inputs

            box["model"].predict_on_batch(future_inputs(prep)[0])
        box.clear()

    def first_steps() -> None:   # the first steps' programs (with 16 steps per call where the run will scan)
        from seqcore.modeling.data_parallel import warm_batches

        k = warm_batches(box["model"], -(-len(prep.train) // bs))
        fit_on(prep.train, min(len(prep.train), k * bs))

    first = [("build", build), ("train_step", first_steps)]
    rest = []
    last = _batch_sizes(len(prep.train), bs)[1:]
    if last:
        rest.append(("train_last_batch", lambda: fit_on(prep.train, last[0])))
    if prep.val is not None and len(prep.val):
        rest.append(("evaluate", lambda: evaluate_on(prep.val)))

    def measure() -> None:   # a few timed epochs of this model on a few batches: the Model page's time per epoch
        import tempfile

        from seqcore.modeling import timing
        from seqcore.modeling.training import backend_name, fit

        val = prep.val if prep.val is not None and len(prep.val) else None
        train_spec = spec.train.replace(patience=0, final_fit=False)

        def first(src, k: int) -> _Subset:   # the first k batches (the last one smaller when they are all)
            return _Subset(src, min(len(src), k * bs))

        def train_epochs(k: int, kv: int, epochs: int) -> list[float]:
            ends: list[float] = []
            with tempfile.TemporaryDirectory(prefix="seqstudio-measure-") as tmp:   # a run checkpoints every epoch
                fit(box["model"], first(prep.train, k), first(val, kv) if kv else None,
                    train_spec.replace(epochs=epochs), checkpoint_dir=Path(tmp),
                    on_progress=lambda p: ends.append(p.elapsed) if p.kind == "epoch" else None)
            return [b - a for a, b in zip([0.0] + ends, ends)]

        result = timing.measure(train_epochs,
                                None if val is None else (lambda k: box["model"].evaluate(
                                    make_feeder(first(val, k), bs, shuffle=False, seed=0), verbose=0)),
                                train_batches=-(-len(prep.train) // bs),
                                val_batches=0 if val is None else -(-len(val) // bs))
        result.update(key=timing.timing_key(spec.model.to_dict(), spec.train.to_dict(), prep.shape.to_dict(),
                                            backend_name()), sizes=prep.sizes(), batch_size=bs)
        report.timing = result

    if measure_time:
        rest.append(("measure", measure))
    rest.append(("predict", predict_shapes))
    report._rest = first
    try:
        report.finish(interrupted)
    finally:
        keras.backend.clear_session(free_memory=False)  # the run starts from the same blank state as without
    if not report.complete:
        return report
    report.complete = False
    report._rest = rest
    if not defer_rest:
        report.finish(interrupted)
    return report


_HEADLINE = ("accuracy", "balanced_accuracy", "mape", "mase", "mae", "rmse")


def _headline(metrics: dict | None) -> dict:
    """The headline test figures of an evaluation (for comparing the picked and the final model)."""
    test = (metrics or {}).get("test")
    return {k: test[k] for k in _HEADLINE if isinstance(test, dict) and isinstance(test.get(k), (int, float))}


def _capped_note(train, capped: tuple[int, int], n_train: int) -> str:
    """Plain words for a schedule that ``TrainSpec.max_updates`` shortened (training.capped_schedule)."""
    from seqcore.modeling.training import batches_per_epoch

    epochs, patience = capped
    batches = batches_per_epoch(n_train, train.batch_size)
    text = (f"Training ran at most {epochs:,} epoch{'s' if epochs != 1 else ''}, not {train.epochs:,}: with "
            f"{n_train:,} training examples an epoch is {batches:,} weight updates, and 'Most weight updates' "
            f"allows {train.max_updates:,} in all")
    if train.patience and patience != train.patience:
        text += f"; early stopping waited {patience} epochs instead of {train.patience}, in proportion"
    return text + ". Raise that setting (0 = no limit) to train longer."


def _final_fit_note(final, best_epoch: int, picked: dict | None) -> str:
    """The run's note on the final fit, in plain words."""
    if not final.kept:
        return (f"The final fit on the training and validation data was not kept ({final.reason}); the model "
                f"of epoch {best_epoch}, picked on the validation data, is the one saved and scored.")
    head = _headline(picked)
    before = ""
    if head:
        k, v = next(iter(head.items()))
        before = f" (the model picked on validation scored {k.replace('_', ' ')} {v:.3g} on the same test data)"
    return (f"Final fit: validation picked epoch {best_epoch}, so a fresh model was trained on the training and "
            f"validation data together ({final.examples:,} examples) for {final.epochs} epoch"
            f"{'s' if final.epochs != 1 else ''}; it is the model saved and scored on the test data{before}. "
            "The test data played no part in any choice.")


def _plan_backtest(data: bytes, spec: RunSpec, csv_options, name: str):
    """The run's backtest folds (:mod:`seqcore.modeling.backtest`), or None when it has none."""
    if not spec.data.backtest or spec.data.task != "forecast":
        return None
    from seqcore.data.io import read_table
    from seqcore.modeling.backtest import plan

    return plan(read_table(data, csv_options, name=name).df, spec)


def plan_members(spec: RunSpec, prep):
    """How many networks the run trains (:mod:`seqcore.modeling.ensemble`): ``TrainSpec.members`` resolved for
    the task and the examples the networks learn from (training + validation parts)."""
    from seqcore.modeling import ensemble

    n = len(prep.train) + (len(prep.val) if prep.val is not None else 0)
    return ensemble.plan(prep.task, spec.train.members, n)


def _first_work(prep, outcome, final) -> int:
    """Member 1's training work (:func:`seqcore.modeling.ensemble.member_work`): its epochs over the training part,
    and its final fit's over training + validation."""
    from seqcore.modeling.ensemble import member_work

    steps = int(prep.shape.input_shape[0])
    work = member_work(outcome.epochs_run, len(prep.train), steps)
    if final is not None and final.kept:
        work += member_work(final.epochs, final.examples, steps)
    return work


def _wants_final_fit(train_spec, prep, outcome) -> bool:
    """Whether a network that ``fit`` trained (``outcome``) gets its final fit (``TrainSpec.final_fit``): there is a
    validation part, it picked an epoch, and nobody stopped the run. The run's network and every member alike."""
    return bool(train_spec.final_fit and prep.val is not None and len(prep.val) and outcome.best_epoch
                and not outcome.stopped)


def train_members(task, prep, spec: RunSpec, members_plan, first_model, first_outputs, *, first_seconds: float,
                  first_work: int, build: Callable, on_progress=None, should_stop=None):
    """Members 2..K of a seed ensemble, each trained as member 1 was (fit with the same validation rule, then
    the final fit when the run has one) with its own seed, after member 1 (``first_model``, its test outputs
    ``first_outputs``, its training seconds and work, :func:`seqcore.modeling.ensemble.member_work`). A stop request ends the member in progress: the members
    finished before it are kept and averaged. Returns (the models, the averaged test outputs, the
    ``metrics["ensemble"]`` block with ``stopped`` set when a stop ended it)."""
    from seqcore.modeling import ensemble
    from seqcore.modeling.training import final_fit, fit, predict, set_seed

    should_stop = should_stop or (lambda: False)
    k = ensemble.members_after_first(members_plan, int(first_work))   # fixed now: member 1's work is known
    seeds = ensemble.member_seeds(spec.train.seed, members_plan.members)
    batch = max(256, spec.train.batch_size)
    models, outputs, seconds = [first_model], [np.asarray(first_outputs)], [float(first_seconds)]
    steps = int(prep.shape.input_shape[0])
    work = [int(first_work)]
    tests = [task.evaluate(prep, first_outputs)[0]["test"]]
    stopped = False
    while ensemble.keep_adding(members_plan, len(models), work):
        i = len(models) + 1
        if should_stop():
            stopped = True
            break
        train_spec = spec.train.replace(seed=seeds[i - 1])
        progress = ensemble.as_member(on_progress, i, k, elapsed=sum(seconds))
        t0 = time.perf_counter()
        set_seed(train_spec.seed, strict=not train_spec.jit_compile)
        model = build(train_spec)
        out = fit(model, prep.train, prep.val, train_spec, on_progress=progress, should_stop=should_stop)
        if out.stopped:
            stopped = True
            break
        done = ensemble.member_work(out.epochs_run, len(prep.train), steps)
        if _wants_final_fit(train_spec, prep, out):
            retrained, ff = final_fit(lambda: build(train_spec), prep.train, prep.val, train_spec, out.best_epoch,
                                      on_progress=progress, should_stop=should_stop)
            if ff.stopped:
                stopped = True
                break
            if retrained is not None:
                model = retrained
                done += ensemble.member_work(ff.epochs, ff.examples, steps)
        seconds.append(time.perf_counter() - t0)
        work.append(done)
        out_i = predict(model, prep.test, batch_size=batch)
        models.append(model)
        outputs.append(np.asarray(out_i))
        tests.append(task.evaluate(prep, out_i)[0]["test"])
    ens = ensemble.summary(members_plan, seeds, tests, seconds, work)
    ens["planned"], ens["stopped"] = k, stopped
    return models, ensemble.average(outputs) if len(outputs) > 1 else outputs[0], ens


def run_training(
    data: bytes,
    spec: RunSpec,
    out_dir,
    *,
    csv_options=None,
    test_data: bytes | None = None,
    name: str = "data.csv",
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> RunResult:
    """Train, evaluate against baselines, and save the bundle + predictions into ``out_dir``.

    Writes ``out_dir/bundle/``, ``out_dir/metrics.json``, ``out_dir/predictions.csv`` and, for forecasts,
    ``out_dir/forecast.csv`` (the next H steps past the end of the data).
    """
    from seqcore.outputs.bundle import save_bundle
    from seqcore.outputs.export import csv_bytes
    from seqcore.modeling.models import build_model, check_fits
    from seqcore.modeling.training import final_fit, fit, load_checkpoint_state, predict, set_seed

    quiet_tensorflow()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ready = _take_prepared(prepared_key(data, spec, csv_options=csv_options, test_data=test_data, name=name)) \
        if _PREPARED else None
    if ready is not None:  # prepared by prewarm() from the same bytes and spec while the worker waited
        spec.validate()
        task, prep = ready
    else:
        task, prep, _ = prepare_data(data, spec, csv_options=csv_options, test_data=test_data, name=name)
    estimate = check_fits(spec.model, spec.train, prep.shape)
    members_plan = plan_members(spec, prep)   # refused here (members > 1 on a forecast), before anything trains
    backtest_plan = _plan_backtest(data, spec, csv_options, name)   # refused here, before anything trains
    if prep.task == "forecast" and spec.data.base == "auto" and not spec.data.id:   # the base, by validation
        from seqcore.modeling.base_select import choose

        prep = choose(load_tables(data, spec, csv_options, None, name)[0].df, spec, prep, should_stop=should_stop,
                      checkpoint_dir=checkpoint_dir, resume=resume, on_progress=on_progress)
        if backtest_plan is not None:   # the folds test what the run picked, not a search of their own
            backtest_plan.use_base(prep.state["base"]["name"], prep.state["base"].get("correction", True),
                                   calendar=prep.extra["model_choice"].get("calendar"))
    from seqcore.modeling import arch_select

    if arch_select.pending(spec):   # classify: the design left on "auto", picked on the training part
        spec, prep = arch_select.choose(spec, prep, should_stop=should_stop, on_progress=on_progress,
                                        checkpoint_dir=checkpoint_dir, resume=resume)
        estimate = check_fits(spec.model, spec.train, prep.shape)
    import keras

    set_seed(spec.train.seed, strict=not spec.train.jit_compile)
    words = _vocabulary_words(prep)
    resume_state = load_checkpoint_state(checkpoint_dir) if (resume and checkpoint_dir) else None
    if resume_state is not None:
        from seqcore.outputs.bundle import check_model_config, inspect_keras_file  # noqa: F401 - same checks as bundles

        inspect_keras_file(Path(checkpoint_dir) / "checkpoint.keras")
        model = keras.saving.load_model(str(Path(checkpoint_dir) / "checkpoint.keras"), safe_mode=True)
    else:
        model = build_model(spec.model, spec.train, prep.shape, vocabulary=words)
    _note_word_vectors(spec, prep)
    t0 = time.perf_counter()
    first_progress = on_progress
    if members_plan.on:
        from seqcore.modeling.ensemble import as_first

        first_progress = as_first(on_progress, members_plan.members)
    outcome = fit(model, prep.train, prep.val, spec.train, on_progress=first_progress, should_stop=should_stop,
                  checkpoint_dir=checkpoint_dir, resume_state=resume_state)
    train_seconds = time.perf_counter() - t0
    batch = max(256, spec.train.batch_size)
    calib = None
    if prep.task == "forecast":   # forecast bands: sized on the validation errors of the model validation kept,
        from seqcore.modeling import intervals   # before any final fit (which trains on the validation data too)

        calib = intervals.calibrate_run(prep, lambda src: predict(model, src, batch_size=batch))
    final, picked_test = None, None
    if _wants_final_fit(spec.train, prep, outcome):
        picked_test, _ = task.evaluate(prep, predict(model, prep.test, batch_size=batch))
        retrained, final = final_fit(
            lambda: build_model(spec.model, spec.train, prep.shape, vocabulary=words),
            prep.train, prep.val, spec.train, outcome.best_epoch, on_progress=first_progress, should_stop=should_stop)
        if retrained is not None:
            model = retrained
    outputs = predict(model, prep.test, batch_size=batch)
    models, ens = [model], None
    if members_plan.on and not outcome.stopped and not (final is not None and final.stopped):
        models, outputs, ens = train_members(
            task, prep, spec, members_plan, model, outputs,
            first_seconds=train_seconds + (final.seconds if final is not None and final.kept else 0.0),
            first_work=_first_work(prep, outcome, final),
            build=lambda train_spec: build_model(spec.model, train_spec, prep.shape, vocabulary=words),
            on_progress=on_progress, should_stop=should_stop)
    metrics, predictions = task.evaluate(prep, outputs)
    if prep.task == "classify" and "model_choice" in prep.extra:
        metrics["model_choice"] = dict(prep.extra["model_choice"])
    if calib is not None:
        predictions = intervals.apply_to_run(prep, calib, predictions, metrics)   # state, columns, coverage
    metrics["training"] = {
        "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
        "best_val_loss": next((h.get("val_loss") for h in outcome.history if h.get("epoch") == outcome.best_epoch),
                              None) if outcome.monitor != "loss" else None,
        "selected_by": outcome.monitor, "best_value": outcome.best_value,
        "stopped_by_user": outcome.stopped, "early_stopped": outcome.early_stopped,
        "seconds": round(train_seconds, 3), "params": estimate.params, "sizes": prep.sizes(),
    }
    metrics["notes"] = list(prep.notes) + list(metrics["test"].get("notes", []) if isinstance(metrics["test"], dict) else [])
    metrics["training"]["device"] = _device(spec, prep)
    metrics["notes"].append(device_note(metrics["training"]["device"]))
    if outcome.capped is not None:
        metrics["training"]["capped"] = {"epochs": outcome.capped[0], "patience": outcome.capped[1],
                                         "max_updates": spec.train.max_updates}
        metrics["notes"].append(_capped_note(spec.train, outcome.capped, len(prep.train)))
    if ens is not None:
        from seqcore.modeling import ensemble

        metrics["notes"].append(ensemble.run_note(ens, members_plan))
        if ens["members"] > 1:
            metrics["ensemble"] = ens
    if final is not None:
        metrics["training"]["final_fit"] = dict(final.to_dict(), picked_model_test=_headline(picked_test))
        metrics["notes"].append(_final_fit_note(final, outcome.best_epoch, picked_test))
    if prep.task == "forecast":
        from seqcore.modeling.tasks.forecast import future_frame, future_inputs

        times = prep.extra["times"]
        x_future, last = future_inputs(prep)
        fut = future_frame(prep.state, np.asarray(model.predict_on_batch(x_future)),
                           None if times is None else times[-1], last)
        atomic_write_bytes(out_dir / "forecast.csv", csv_bytes(fut))
    atomic_write_bytes(out_dir / "predictions.csv", csv_bytes(predictions))
    bt_stopped = False
    if backtest_plan is not None and not outcome.stopped and not (final is not None and final.stopped):
        from seqcore.modeling.backtest import run_backtest

        bt = run_backtest(backtest_plan, on_progress=on_progress, should_stop=should_stop)
        if bt.result is not None:
            metrics["backtest"] = bt.result
        metrics["training"]["backtest_seconds"] = bt.seconds
        metrics["notes"] += bt.notes
        bt_stopped = bt.stopped
    bundle_dir = save_bundle(out_dir / "bundle", models, spec, prep.state, prep.shape, metrics, outcome.history)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=1, default=str, allow_nan=False))
    stopped = outcome.stopped or (final is not None and final.stopped) or bt_stopped or bool(ens and ens.get("stopped"))
    return RunResult(status="stopped" if stopped else "finished", metrics=metrics, bundle_dir=bundle_dir,
                     epochs_run=outcome.epochs_run, best_epoch=outcome.best_epoch, history=outcome.history,
                     notes=metrics["notes"])


def _device(spec: RunSpec, prep) -> dict:
    """The device this run trained on (:func:`seqcore.modeling.device.describe_device`), with, on a GPU,
    whether its recurrent layers got the fused cuDNN kernel."""
    from seqcore.modeling.device import describe_device, recurrent_kernel

    device = describe_device()
    if device["kind"] == "GPU":
        device["cudnn"], device["kernel"] = recurrent_kernel(
            device["backend"], spec.model.cell, recurrent_dropout=spec.model.recurrent_dropout,
            masked=bool(prep.shape.masking) or prep.task == "text")
    return device


def predict_from_bundle(bundle_dir, data: bytes, *, csv_options=None, name: str = "new.csv",
                        steps: int | None = None):
    """Predictions for new raw CSV bytes with the same columns as the training data.

    forecast: the next ``steps`` steps (default: the trained horizon H) after the end of the uploaded history;
    past H the forecast rolls forward on the trained horizon. classify/text: a class per sequence/text
    (``steps`` must then be None). The schema is checked first: a missing or mistyped column is a clear DataError.
    One code path with the HTTP service: :class:`seqcore.predictor.Predictor`.
    """
    from seqcore.predictor import Predictor, read_table

    df = read_table(data, csv_options, name=name)
    # the bundle's JSON only: a wrong upload fails in open/check, before Keras is even imported
    return Predictor.open(bundle_dir).predict(df, steps=steps)


__all__ = ["RunResult", "run_training", "predict_from_bundle", "prepare_data", "prewarm", "PrewarmReport",
           "prepared_key", "warm_up", "configure_threads", "UserError"]
