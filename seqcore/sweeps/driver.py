"""The sweep driver: :class:`SweepDriver` moves the running sweeps of a store forward (see
:mod:`seqcore.sweeps`), and :func:`run_driver` is the driver process's main loop. It logs to
``<home>/logs/sweeps.log`` (:mod:`seqcore.logs`).
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from seqcore import logs
from seqcore.config import RunSpec
from seqcore.errors import UserError
from seqcore.runs.procs import install_stop_handlers, release_lock, resolve_home, try_lock
from seqcore.runs.store import ACTIVE_STATUSES, RunRecord, RunStore, atomic_write_text
from seqcore.sweeps.config import METRICS, SweepConfig, apply_params, format_params
from seqcore.sweeps.process import DRIVER_IDLE_EXIT_S, DRIVER_LOCK, DRIVER_STATUS, driver_pid
from seqcore.sweeps.search import (best_of, distributions, epoch_value, frozen_trial, load_optuna, make_pruner,
                                   make_sampler)
from seqcore.sweeps.state import (SweepRecord, _finish, _reserve_trial, _set_best, get_sweep, list_sweeps,
                                  trial_runs)

COMPONENT = "sweeps"            # its log file: <home>/logs/sweeps.log
log = logs.get(COMPONENT)
MAX_TRIAL_ATTEMPTS = 3          # an interrupted trial is resumed until it has started this many times


# --------------------------------------------------------------------------- the driver

@dataclass
class _Seen:
    """What the driver has read of one trial run's epoch history."""

    attempt: int
    last_seq: int = 0
    values: dict = field(default_factory=dict)    # epoch -> metric value
    checked: int = 0                              # epochs already put to the pruner


@dataclass
class _Trial:
    number: int
    rec: RunRecord
    params: dict
    seen: _Seen


def backend_slots(home: Path | str) -> int:
    """How many training runs the configured backend runs at once (what a sweep keeps active)."""
    from seqcore.runs.runner import backend_status

    info = backend_status(home)
    for key in ("slots", "max_workers"):
        try:
            if info.get(key):
                return max(1, int(info[key]))
        except (TypeError, ValueError):
            pass
    try:
        return max(1, int(os.environ.get("SEQSTUDIO_MAX_WORKERS", "1")))
    except ValueError:
        return 1


class SweepDriver:
    """Moves the running sweeps of one store forward; see :mod:`seqcore.sweeps`.

    ``start_runs=False`` queues trials without starting a backend (tests drive the queue themselves).
    """

    def __init__(self, store: RunStore, *, start_runs: bool = True, slots: int | None = None):
        self.store = store
        self.start_runs = start_runs
        self.slots = slots
        self._seen: dict[str, _Seen] = {}
        self._errors: dict[str, int] = {}

    # ---- public
    def tick(self) -> int:
        """Drive every running sweep once. Returns how many are still running."""
        running = 0
        for sw in list_sweeps(self.store, status="running"):
            try:
                if self.drive(sw.id).status == "running":
                    running += 1
                self._errors.pop(sw.id, None)
            except UserError as err:   # e.g. the dataset was deleted: the sweep cannot go on
                log.warning("sweep %s: %s", sw.id, err)
                self._stop_trials(sw.id)
                _finish(self.store, sw.id, "failed", error=str(err))
            except Exception as err:  # noqa: BLE001 - keep serving the other sweeps
                n = self._errors[sw.id] = self._errors.get(sw.id, 0) + 1
                log.error("sweep %s: unexpected error (%d in a row): %s: %s", sw.id, n, type(err).__name__, err,
                          exc_info=err)
                running += 1
                if n >= 5:
                    self._stop_trials(sw.id)
                    where = logs.log_file(self.store.home, COMPONENT)
                    _finish(self.store, sw.id, "failed",
                            error=f"The sweep stopped after an unexpected error; details are in {where}.")
        return running

    def drive(self, sweep_id: str) -> SweepRecord:
        """One step of one sweep: stop-all, resume, prune, launch, finish. Returns its record."""
        from seqcore.runs.runner import get_backend, request_stop

        sw = get_sweep(self.store, sweep_id)
        if sw.status != "running":
            return sw
        cfg, base = sw.cfg, sw.spec
        trials, copies = self._trials(sw)
        active = [t for t in trials + copies if t.rec.status in ACTIVE_STATUSES]

        if sw.stop_requested:
            for t in active:
                request_stop(self.store, t.rec.id)
            if not any(self.store.get_run(t.rec.id).status in ACTIVE_STATUSES for t in active):
                self._update_best(sw, trials)
                _finish(self.store, sw.id, "stopped")
            return get_sweep(self.store, sw.id)

        for t in trials:   # a restart interrupted it: continue from its checkpoint
            if t.rec.status == "interrupted" and t.rec.attempt < MAX_TRIAL_ATTEMPTS:
                from seqcore.runs.runner import resume_run

                resume_run(self.store, t.rec.id, start=self.start_runs)
                self.store.append_log(t.rec.id, f"resumed by sweep {sw.id} after an interruption")
                t.rec = self.store.get_run(t.rec.id)
                active.append(t)

        if cfg.prune:
            self._prune(sw, cfg, trials)

        slots = cfg.parallel or self.slots or backend_slots(self.store.home)
        lookahead = 0 if cfg.method == "tpe" else 1      # keep the queue fed when order does not matter
        n_active = sum(1 for t in trials + copies if self.store.get_run(t.rec.id).status in ACTIVE_STATUSES)
        launched = sw.n_trials
        while launched < cfg.budget() and n_active < slots + lookahead:
            if not self._launch(sw, cfg, base, launched):
                break
            launched += 1
            n_active += 1
            trials, copies = self._trials(sw)

        if self.start_runs and any(t.rec.status == "queued" for t in trials):
            get_backend().ensure_started(self.store.home)   # e.g. after the app restarted

        trials, copies = self._trials(sw)
        self._update_best(sw, trials)
        sw = get_sweep(self.store, sw.id)
        if sw.n_trials >= cfg.budget() and not any(t.rec.status in ACTIVE_STATUSES for t in trials + copies):
            if trials and all(t.rec.status in ("failed", "interrupted") for t in trials):
                first = next((t.rec.error for t in trials if t.rec.error), None) or "see the trial logs"
                _finish(self.store, sw.id, "failed", error=f"Every trial failed; the first one said: {first}")
            else:
                _finish(self.store, sw.id, "finished")
        return get_sweep(self.store, sw.id)

    def run_forever(self, *, poll: float = 0.5, idle_exit: float | None = DRIVER_IDLE_EXIT_S,
                    stopping: threading.Event | None = None) -> None:
        """Tick until ``stopping`` is set or no sweep has run for ``idle_exit`` seconds."""
        stopping = stopping or threading.Event()
        idle_since = time.monotonic()
        while not stopping.is_set():
            if self.tick():
                idle_since = time.monotonic()
            elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                log.info("no running sweep for %g s: exiting", idle_exit)
                return
            stopping.wait(poll)

    # ---- the study
    def _trials(self, sw: SweepRecord) -> tuple[list[_Trial], list[_Trial]]:
        """(the first run of each trial number, later copies such as reruns), with their epochs read."""
        cfg = sw.cfg
        trials, copies, numbers = [], [], set()
        for rec in trial_runs(self.store, sw.id):
            number = rec.tags.get("sweep_trial")
            if not isinstance(number, int):
                continue
            seen = self._seen.get(rec.id)
            if seen is None or seen.attempt != rec.attempt:
                seen = self._seen[rec.id] = _Seen(attempt=rec.attempt)
            for seq, p in self.store.read_history(rec.id, seen.last_seq, kind="epoch"):
                seen.last_seq = seq
                v = epoch_value(p, cfg.metric)
                if v is not None:
                    seen.values[int(p.epoch)] = v
            t = _Trial(number, rec, dict(rec.tags.get("sweep_params") or {}), seen)
            (copies if number in numbers else trials).append(t)
            numbers.add(number)
        return trials, copies

    def _study(self, sw: SweepRecord, cfg: SweepConfig, trials: list[_Trial], next_number: int):
        """An in-memory study holding trials 0 .. next_number - 1, ready to sample trial ``next_number``."""
        optuna = load_optuna()
        dists = distributions(cfg)
        study = optuna.create_study(direction=cfg.direction, sampler=make_sampler(cfg, next_number),
                                    pruner=make_pruner(cfg))
        by_number = {t.number: t for t in trials}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(next_number):
                t = by_number.get(k)
                study.add_trial(frozen_trial(cfg, dists, k, None if t is None else t.params,
                                             {} if t is None else t.seen.values, None if t is None else t.rec.status))
        return study, dists

    # ---- steps
    def _launch(self, sw: SweepRecord, cfg: SweepConfig, base: RunSpec, number: int) -> bool:
        from seqcore.runs.runner import submit_run

        trials, _ = self._trials(sw)
        study, dists = self._study(sw, cfg, trials, number)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = study.ask(dists).params
        params = {p.name: params[p.name] for p in cfg.params}
        spec = apply_params(base, params)
        # trials are compared on validation: a backtest (seqcore.modeling.backtest) would only multiply their cost
        spec = spec.replace(data=spec.data.replace(backtest=0))
        if not _reserve_trial(self.store, sw.id, number):
            return False
        ds_name = self.store.get_dataset(sw.dataset_id).name
        name = f"Trial {number + 1} · {format_params(params)} · {ds_name}"
        run_id = submit_run(self.store, spec, sw.dataset_id, test_dataset_id=sw.test_dataset_id,
                            csv_options=sw.csv_options, name=name, sweep_id=sw.id,
                            tags={"sweep_trial": number, "sweep_params": params}, start=self.start_runs,
                            owner=sw.owner)
        self.store.append_log(run_id, f"trial {number + 1} of sweep {sw.id}: {format_params(params)}")
        return True

    def _prune(self, sw: SweepRecord, cfg: SweepConfig, trials: list[_Trial]) -> None:
        from optuna.trial import TrialState, create_trial

        from seqcore.runs.runner import request_stop

        todo = [t for t in trials if t.rec.status == "running" and not t.rec.stop_requested
                and max(t.seen.values, default=0) > t.seen.checked]
        if not todo:
            return
        study, dists = self._study(sw, cfg, trials, sw.n_trials)
        for t in todo:
            for epoch in sorted(e for e in t.seen.values if e > t.seen.checked):
                t.seen.checked = epoch
                iv = {e: v for e, v in t.seen.values.items() if e <= epoch}
                frozen = create_trial(state=TrialState.RUNNING, params=t.params, distributions=dists,
                                      intermediate_values=iv)
                if not study.pruner.prune(study, frozen):
                    continue
                tags = dict(t.rec.tags) | {"pruned": True, "pruned_at_epoch": epoch}
                self.store.set_tags(t.rec.id, tags)
                status = request_stop(self.store, t.rec.id)
                if status not in ("running", "stopped"):   # it ended on its own meanwhile
                    self.store.set_tags(t.rec.id, dict(t.rec.tags))
                    break
                label = METRICS[cfg.metric][0].lower()
                self.store.append_log(t.rec.id, f"pruned by sweep {sw.id} after epoch {epoch}: its {label} "
                                                f"{t.seen.values[epoch]:.4g} is worse than the median of earlier "
                                                "trials at that epoch")
                break

    def _stop_trials(self, sweep_id: str) -> None:
        from seqcore.runs.runner import request_stop

        for r in trial_runs(self.store, sweep_id):
            if r.status in ACTIVE_STATUSES:
                try:
                    request_stop(self.store, r.id)
                except UserError:
                    pass

    def _update_best(self, sw: SweepRecord, trials: list[_Trial]) -> None:
        cfg = sw.cfg
        sign = 1 if cfg.direction == "minimize" else -1

        def pick(cands):
            scored = [(best_of(t.seen.values.values(), cfg.direction), t) for t in cands]
            scored = [(v, t) for v, t in scored if v is not None]
            return min(scored, key=lambda vt: (sign * vt[0], vt[1].number)) if scored else None

        best = pick([t for t in trials if t.rec.status == "finished"]) or pick(trials)
        run_id, value = (best[1].rec.id, best[0]) if best else (None, None)
        if run_id != sw.best_run_id or value != sw.best_value:
            _set_best(self.store, sw.id, run_id, value)


# --------------------------------------------------------------------------- the driver process

def run_driver(home: Path | str | None = None, *, poll: float = 0.5,
               idle_exit: float | None = DRIVER_IDLE_EXIT_S) -> int:
    """The driver process's main loop (``python -m seqcore.cli.sweeps sweeps driver``). Returns an exit code:
    0, also when another driver already serves ``home`` (then it returns at once)."""
    home = resolve_home(home)
    logs.setup(home, COMPONENT)
    store = RunStore(home)
    fd = try_lock(home / DRIVER_LOCK)
    if fd is None:
        log.info("another sweep driver (pid %s) serves %s", driver_pid(home), home)
        return 0
    stopping = threading.Event()
    install_stop_handlers(stopping.set)
    try:
        atomic_write_text(home / DRIVER_STATUS, json.dumps({"pid": os.getpid(), "started": time.time()}))
        log.info("serving sweeps of %s", home)
        SweepDriver(store).run_forever(poll=poll, idle_exit=idle_exit, stopping=stopping)
    finally:
        release_lock(fd)
    return 0
