"""CLI commands of the runs engine: ``runs list|show|stop|delete|resume`` and ``worker``.

:func:`add_commands` registers them on ``python -m seqcore``'s subparsers; each
command returns an exit code (0 ok, 2 user error with one line on stderr).
``python -m seqcore.cli.runs ...`` runs the same commands on their own (this is
what :func:`seqcore.runs.runner.ensure_supervisor` starts, so the supervisor does not
depend on the rest of the CLI). The helpers it shares with :mod:`seqcore.cli.sweeps`
live in :mod:`seqcore.cli.common`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from seqcore.cli.common import _action, _fmt_num, _fmt_time, _guard, _print_json, _store, run_cli
from seqcore.errors import UserError


def _main_metric(summary: dict | None) -> str:
    test = (summary or {}).get("test")
    if not isinstance(test, dict):
        return "-"
    for key in ("rmse", "mae", "accuracy", "macro_f1"):
        if isinstance(test.get(key), (int, float)):
            return f"{key}={test[key]:.4g}"
    return "-"


# --------------------------------------------------------------------------- commands

@_guard
def cmd_list(args) -> int:
    """runs list: one line per run, newest first."""
    store = _store(args)
    runs = store.list_runs(kind=None if args.all else "train")
    if args.json:
        return _print_json([r.to_dict() | {"duration": r.duration} for r in runs])
    if not runs:
        print(f"no runs yet in {store.home} (start one with: python -m seqcore train CSV --task ... --detach)")
        return 0
    print(f"{'ID':<12} {'STATUS':<11} {'CREATED':<16} {'EPOCHS':>6} {'BEST VAL':>9}  {'TEST':<16} NAME")
    for r in runs:
        print(f"{r.id:<12} {r.status:<11} {_fmt_time(r.created):<16} {_fmt_num(r.epochs_run):>6} "
              f"{_fmt_num(r.best_val_loss):>9}  {_main_metric(r.summary):<16} {r.name}")
    return 0


def run_details(store, run_id: str) -> dict:
    """What ``runs show`` prints: the record, history counts, artifact paths and, once the run has TensorBoard
    event files, the command that opens them (beside every other run's)."""
    rec = store.get_run(run_id)
    arts = {k: str(p) for k, p in store.artifacts(run_id).items()}
    return rec.to_dict() | {
        "duration": rec.duration,
        "history_points": store.count_history(run_id),
        "epoch_points": store.count_history(run_id, kind="epoch"),
        "artifacts": arts,
        "tensorboard_command": store.tensorboard_command() if "tensorboard" in arts else None,
    }


@_guard
def cmd_show(args) -> int:
    """runs show ID: status, spec, metrics, history size, artifact paths."""
    store = _store(args)
    d = run_details(store, args.id)
    if args.json:
        return _print_json(d)
    print(f"run {d['id']}  {d['name']}")
    print(f"  kind: {d['kind']}   task: {d['task']}   status: {d['status']}   attempt: {d['attempt']}")
    print(f"  created: {_fmt_time(d['created'])}   started: {_fmt_time(d['started'])}   "
          f"ended: {_fmt_time(d['ended'])}   duration: {_fmt_num(d['duration'])} s")
    if d["error"]:
        print(f"  error: {d['error']}")
    print(f"  epochs run: {_fmt_num(d['epochs_run'])}   best val loss: {_fmt_num(d['best_val_loss'])}   "
          f"history points: {d['history_points']} ({d['epoch_points']} epochs)")
    print(f"  dataset: {d['dataset_id']}" + (f"   test dataset: {d['test_dataset_id']}" if d["test_dataset_id"] else ""))
    print("  spec: " + json.dumps(d["spec"], default=str))
    if d["summary"]:
        from seqcore.modeling.ensemble import spread_sentence

        spread = spread_sentence(d["summary"]) if isinstance(d["summary"], dict) else ""
        if spread:
            print(f"  {spread}")
        print("  metrics: " + json.dumps(d["summary"], default=str))
    for name, path in d["artifacts"].items():
        print(f"  {name}: {path}")
    if d["tensorboard_command"]:
        print(f"  open in TensorBoard (all runs side by side): {d['tensorboard_command']}")
    return 0


@_guard
def cmd_export(args) -> int:
    """runs export --mlflow DIR [ID ...]: write runs (params, metrics per epoch, files) to an MLflow store."""
    from seqcore.outputs.mlflow_log import export_runs, folder_uri

    if not args.mlflow:
        raise UserError("say where to export to: --mlflow DIR (an MLflow store, created if needed).")
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")   # not MLflow's INFO lines about creating its tables
    store = _store(args)
    done = export_runs(store, Path(args.mlflow), args.ids or None)
    if args.json:
        return _print_json(done)
    for d in done:
        what = "exported" if d["created"] else "updated"
        print(f"{d['run_id']}: {what} as MLflow run {d['mlflow_run_id']} ({d['metrics']} new metric values, "
              f"files: {', '.join(d['artifacts']) or 'none'})")
    print(f"read them with: mlflow ui --backend-store-uri {folder_uri(args.mlflow)}", file=sys.stderr)
    return 0


@_guard
def cmd_share(args) -> int:
    """runs share ID [--revoke]: a read-only link to the run's results (a new token each time), or revoke it."""
    store = _store(args)
    if args.revoke:
        store.unshare_run(args.id)
        print(f"{args.id}: share link revoked")
        return 0
    token = store.share_run(args.id)
    print(f"Results?run={args.id}&share={token}")
    print("append this to the app's address; anyone with it can read (not change) this run's results until "
          "you revoke it (runs share ID --revoke)", file=sys.stderr)
    return 0


@_guard
def cmd_stop(args) -> int:
    """runs stop ID: ask a run to stop (a queued run never starts)."""
    from seqcore.runs.runner import request_stop

    store = _store(args)
    status = request_stop(store, args.id)
    print(f"{args.id}: {'stop requested' if status == 'running' else status}")
    return 0


@_guard
def cmd_delete(args) -> int:
    """runs delete ID: delete a run and its artifacts."""
    store = _store(args)
    store.delete_run(args.id)
    print(f"{args.id}: deleted")
    return 0


@_guard
def cmd_resume(args) -> int:
    """runs resume ID: queue an interrupted/failed/stopped run again, from its last checkpoint."""
    from seqcore.runs.runner import resume_run

    store = _store(args)
    resume_run(store, args.id, start=not args.no_start)
    print(args.id)
    return 0


@_guard
def cmd_worker(args) -> int:
    """worker: run the supervisor in the foreground until Ctrl-C / SIGTERM."""
    from seqcore.runs.runner import STOP_GRACE_S, Supervisor

    if args.max_workers is not None and args.max_workers < 1:
        raise UserError(f"--max-workers must be 1 or more; got {args.max_workers}.")
    max_workers = args.max_workers
    if max_workers is None:
        import os

        try:
            max_workers = max(1, int(os.environ.get("SEQSTUDIO_MAX_WORKERS", "1")))
        except ValueError:
            max_workers = 1
    sup = Supervisor(getattr(args, "home", None), max_workers=max_workers, warm=not args.no_warm,
                     stop_grace=STOP_GRACE_S if args.stop_grace is None else args.stop_grace,
                     idle_exit=args.idle_exit)
    print(f"worker supervisor for {sup.home}: {max_workers} training job(s) at a time, "
          f"{sup.threads} thread(s) each (Ctrl-C to stop)", file=sys.stderr, flush=True)
    sup.run_forever()
    return 0


def submit_from_cli(*, data: bytes, spec, csv_options=None, test_data: bytes | None = None,
                    name: str = "data.csv", run_name: str | None = None, test_name: str = "test.csv",
                    home: Path | str | None = None, stream: TextIO | None = None) -> int:
    """``train --detach``: store the data, queue the run, make sure a supervisor runs, print the run id.

    Returns the exit code (0). User errors (bad spec...) propagate as :class:`UserError`.
    """
    from seqcore.runs.runner import ensure_supervisor, submit_run
    from seqcore.runs.store import RunStore

    store = RunStore(home)
    dataset_id = store.add_dataset(data, name)
    test_id = store.add_dataset(test_data, test_name) if test_data is not None else None
    run_id = submit_run(store, spec, dataset_id, test_dataset_id=test_id, csv_options=csv_options, name=run_name,
                        start=False)
    pid = ensure_supervisor(store.home)
    print(run_id, file=stream or sys.stdout, flush=True)
    print(f"queued run {run_id} (worker pid {pid}); follow it with: python -m seqcore runs show {run_id}",
          file=sys.stderr, flush=True)
    return 0


# --------------------------------------------------------------------------- registration

def add_commands(subparsers) -> None:
    """Register ``runs`` (list, show, stop, delete, resume) and ``worker`` on ``subparsers``."""
    runs = subparsers.add_parser("runs", help="list, inspect, stop, delete or resume background runs")
    rsub = runs.add_subparsers(dest="runs_command", metavar="ACTION")
    rsub.required = True

    p = _action(rsub, "list", cmd_list, "all runs, newest first", with_json=True)
    p.add_argument("--all", action="store_true", help="include prediction jobs")
    _action(rsub, "show", cmd_show, "status, spec, metrics, history size and artifact paths of a run",
            takes_id=True, with_json=True)
    _action(rsub, "stop", cmd_stop, "stop a run after its current batch (it keeps its best weights)", takes_id=True)
    _action(rsub, "delete", cmd_delete, "delete a run and its artifacts", takes_id=True)
    p = _action(rsub, "share", cmd_share, "print a read-only link to a run's results (or --revoke it)", takes_id=True)
    p.add_argument("--revoke", action="store_true", help="stop the run's share link from working")
    p = _action(rsub, "export", cmd_export, "write runs to an MLflow store (params, metrics per epoch, files)",
                with_json=True)
    p.add_argument("--mlflow", metavar="DIR", help="the MLflow store's folder (DIR/mlflow.db, DIR/artifacts)")
    p.add_argument("ids", nargs="*", metavar="ID", help="runs to export (default: every training run)")
    p = _action(rsub, "resume", cmd_resume, "continue an interrupted, failed or stopped run from its last checkpoint",
                takes_id=True)
    p.add_argument("--no-start", action="store_true", help="only queue it; do not start a worker")

    p = _action(subparsers, "worker", cmd_worker, "run the background worker supervisor in the foreground")
    p.add_argument("--max-workers", type=int, help="training runs at a time (default $SEQSTUDIO_MAX_WORKERS or 1)")
    p.add_argument("--no-warm", action="store_true", help="do not keep a process with TensorFlow loaded waiting")
    p.add_argument("--stop-grace", type=float, help="seconds a run may take to stop before it is killed (30)")
    p.add_argument("--idle-exit", type=float, help="exit after this many idle seconds (default: never)")


def main(argv: list[str] | None = None) -> int:
    """``python -m seqcore.cli.runs runs ...|worker ...``."""
    return run_cli("python -m seqcore.cli.runs", add_commands, argv)


if __name__ == "__main__":
    sys.exit(main())
