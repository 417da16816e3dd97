"""CLI commands for sweeps: ``sweep CSV ...`` (start one) and ``sweeps list|show|stop|driver``.

``python -m seqcore sweep CSV --task forecast --vary units=32,64,128 --vary learning_rate=1e-4:1e-2:log
--trials 8 [--method grid|random|tpe] [--detach]`` takes every role, data, model and training flag of
``train`` (the base configuration; :func:`seqcore.cli.spec.build_spec` builds it) plus the sweep's own flags.
Without ``--detach`` it follows the sweep and prints each trial as it ends (Ctrl-C stops the sweep).
Bad flags print one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from seqcore.cli.common import _action, _csv_options, _guard, _home_flag, _print_json, _read_file, _store, run_cli
from seqcore.cli.common import _fmt_num as _fmt
from seqcore.cli.spec import add_train_arguments, build_spec
from seqcore.errors import SpecError


def sweep_config_from_args(args):
    """``--vary`` / ``--method`` / ``--trials`` ... -> a (not yet validated against data) SweepConfig."""
    from seqcore.sweeps import SweepConfig, parse_vary

    params = []
    for text in args.vary or []:
        try:
            params.append(parse_vary(text))
        except SpecError as err:
            raise SpecError(f"--vary {text!r}: {err.message}", hint=err.hint) from None
    if not params:
        raise SpecError("Say what to vary with --vary, e.g. --vary units=32,64,128 --vary learning_rate=1e-4:1e-2:log.")
    return SweepConfig(params=tuple(params), method=args.method, trials=args.trials, metric=args.metric,
                       seed=args.sweep_seed, prune=not args.no_prune, parallel=args.parallel,
                       grid_points=args.grid_points)


# --------------------------------------------------------------------------- commands

@_guard
def cmd_sweep(args) -> int:
    """sweep CSV ...: store the data, start the sweep (and its driver), follow it unless --detach."""
    from seqcore.data import schema
    from seqcore.data.io import read_table
    from seqcore.sweeps import ensure_driver, start_sweep

    if args.trials < 1:
        raise SpecError(f"--trials must be 1 or more; got {args.trials}.")
    cfg = sweep_config_from_args(args)         # flag mistakes first, before reading any file
    data = _read_file(args.csv)
    test_data = _read_file(args.test_csv, "test file") if args.test_csv else None
    opts = _csv_options(args)
    name = Path(args.csv).name
    table = read_table(data, opts, name=name)
    if args.task == "forecast" and not args.target:  # nothing to forecast: say why (an empty column is named)
        schema.require_forecast_target(table.df)
    base = build_spec(args, table.df)
    store = _store(args)
    dataset_id = store.add_dataset(data, name, n_rows=table.n_rows, n_cols=table.n_columns, fmt=table.fmt.to_dict())
    test_id = store.add_dataset(test_data, Path(args.test_csv).name) if test_data is not None else None
    sweep_id = start_sweep(store, base, cfg, dataset_id, test_dataset_id=test_id, csv_options=opts,
                           name=args.name, start=False)
    pid = ensure_driver(store.home)
    print(sweep_id, flush=True)
    sw = cfg.validate(base)
    print(f"sweep {sweep_id}: {sw.method}, {sw.budget()} trial(s) varying {', '.join(sw.names)} "
          f"(driver pid {pid})", file=sys.stderr, flush=True)
    if args.detach:
        print(f"follow it with: python -m seqcore sweeps show {sweep_id}", file=sys.stderr, flush=True)
        return 0
    return follow(store, sweep_id)


def follow(store, sweep_id: str, *, poll: float = 1.0, stream=None) -> int:
    """Print trials as they end until the sweep ends; Ctrl-C stops the sweep. Returns the exit code."""
    from seqcore.sweeps import METRICS, format_params, get_sweep, stop_sweep, sweep_trials

    stream = stream or sys.stderr
    reported: set[str] = set()
    try:
        while True:
            sw = get_sweep(store, sweep_id)
            label = METRICS[sw.cfg.metric][0].lower()
            for t in sweep_trials(store, sw):
                if t.run_status in ("queued", "running") or t.run_id in reported:
                    continue
                reported.add(t.run_id)
                extra = f" at epoch {t.pruned_at_epoch}" if t.pruned_at_epoch else ""
                print(f"trial {t.number + 1:>3}/{sw.cfg.budget()}  {t.status:<8}{extra}  {label} {_fmt(t.value)}  "
                      f"({format_params(t.params)})  run {t.run_id}", file=stream, flush=True)
            if sw.status != "running":
                break
            time.sleep(poll)
    except KeyboardInterrupt:
        print("stopping the sweep ...", file=stream, flush=True)
        stop_sweep(store, sweep_id)
        return 130
    sw = get_sweep(store, sweep_id)
    print(f"sweep {sw.status}" + (f": {sw.error}" if sw.error else ""), file=stream, flush=True)
    if sw.best_run_id:
        best = store.get_run(sw.best_run_id)
        print(f"best: run {best.id} ({format_params(best.tags.get('sweep_params') or {})}) "
              f"{METRICS[sw.cfg.metric][0].lower()} {_fmt(sw.best_value)}", file=stream, flush=True)
    return 0 if sw.status in ("finished", "stopped") else 1


@_guard
def cmd_list(args) -> int:
    """sweeps list: one line per sweep, newest first."""
    from seqcore.sweeps import list_sweeps

    store = _store(args)
    sweeps = list_sweeps(store)
    if args.json:
        return _print_json([s.to_dict() for s in sweeps])
    if not sweeps:
        print(f"no sweeps yet in {store.home} (start one with: python -m seqcore sweep CSV --task ... --vary ...)")
        return 0
    print(f"{'ID':<12} {'STATUS':<9} {'METHOD':<7} {'TRIALS':>7} {'BEST':>9}  NAME")
    for s in sweeps:
        cfg = s.cfg
        print(f"{s.id:<12} {s.status:<9} {cfg.method:<7} {s.n_trials:>3}/{cfg.budget():<3} {_fmt(s.best_value):>9}  "
              f"{s.name}")
    return 0


@_guard
def cmd_show(args) -> int:
    """sweeps show ID: the sweep, its trials and the best one."""
    from seqcore.sweeps import METRICS, format_params, get_sweep, sweep_trials

    store = _store(args)
    sw = get_sweep(store, args.id)
    trials = sweep_trials(store, sw)
    if args.json:
        return _print_json(sw.to_dict() | {"trials": [t.to_dict() for t in trials]})
    cfg = sw.cfg
    print(f"sweep {sw.id}  {sw.name}")
    print(f"  status: {sw.status}   method: {cfg.method}   trials: {sw.n_trials}/{cfg.budget()}   "
          f"metric: {METRICS[cfg.metric][0]} ({cfg.direction})   seed: {cfg.seed}   pruning: {'on' if cfg.prune else 'off'}")
    for p in cfg.params:
        print(f"  vary {p.name}: {p.describe()}")
    if sw.error:
        print(f"  error: {sw.error}")
    for t in trials:
        mark = "*" if t.is_best else " "
        print(f" {mark}trial {t.number + 1:>3}  {t.status:<11} epochs {_fmt(t.epochs_run):>4}  value {_fmt(t.value):>9}  "
              f"{format_params(t.params)}  run {t.run_id}")
    return 0


@_guard
def cmd_stop(args) -> int:
    """sweeps stop ID: no new trials; running ones stop after their current batch."""
    from seqcore.sweeps import stop_sweep

    status = stop_sweep(_store(args), args.id)
    print(f"{args.id}: {'stop requested' if status == 'running' else status}")
    return 0


@_guard
def cmd_delete(args) -> int:
    from seqcore.sweeps import delete_sweep

    delete_sweep(_store(args), args.id, delete_runs=args.runs)
    print(f"{args.id}: deleted")
    return 0


@_guard
def cmd_driver(args) -> int:
    """sweeps driver: move running sweeps forward in the foreground (what the app starts for you)."""
    from seqcore.sweeps import DRIVER_IDLE_EXIT_S, run_driver

    return run_driver(getattr(args, "home", None), idle_exit=DRIVER_IDLE_EXIT_S if args.idle_exit is None
                      else (None if args.idle_exit <= 0 else args.idle_exit))


# --------------------------------------------------------------------------- registration

def _add_sweep_flags(p: argparse.ArgumentParser) -> None:
    from seqcore.sweeps import METHODS, METRICS

    g = p.add_argument_group("sweep")
    g.add_argument("--vary", action="append", metavar="NAME=VALUES",
                   help="a setting to vary: a list (units=32,64,128) or a range (learning_rate=1e-4:1e-2:log, "
                        "dropout=0:0.5:0.1); repeat for several")
    g.add_argument("--trials", type=int, default=10, help="trial budget (default 10; grid: at most its size)")
    g.add_argument("--method", choices=list(METHODS), default="tpe", help="search method (default tpe)")
    g.add_argument("--metric", choices=list(METRICS), default="val_loss", help="what to optimise (default val_loss)")
    g.add_argument("--sweep-seed", type=int, default=0, help="seed of the search (default 0)")
    g.add_argument("--no-prune", action="store_true", help="never stop bad trials early")
    g.add_argument("--parallel", type=int, help="trials at once (default: what the backend runs at once)")
    g.add_argument("--grid-points", type=int, default=3, help="grid: points a range is split into (default 3)")


def add_commands(subparsers) -> None:
    """Register ``sweep`` and ``sweeps`` on ``python -m seqcore``'s subparsers."""
    # The base configuration takes every flag of ``train``: --detach and --name keep their meaning, for the
    # sweep; --out is not used.
    p = subparsers.add_parser("sweep", help="try many settings of one model automatically (hyperparameter sweep)",
                              description="Train many runs of one configuration with some settings varied. "
                                          "--detach starts it in the background and prints its id; --name names it.")
    add_train_arguments(p)
    _add_sweep_flags(p)
    _home_flag(p)
    p.set_defaults(func=cmd_sweep)
    add_sweeps_commands(subparsers)


def add_sweeps_commands(subparsers) -> None:
    """Register ``sweeps list|show|stop|delete|driver``."""
    sweeps = subparsers.add_parser("sweeps", help="list, show, stop or delete sweeps")
    ssub = sweeps.add_subparsers(dest="sweeps_command", metavar="ACTION")
    ssub.required = True
    _action(ssub, "list", cmd_list, "all sweeps, newest first", with_json=True)
    _action(ssub, "show", cmd_show, "a sweep's trials and its best one", takes_id=True, with_json=True)
    _action(ssub, "stop", cmd_stop, "stop a whole sweep", takes_id=True)
    q = _action(ssub, "delete", cmd_delete, "delete a sweep (its trial runs stay unless --runs)", takes_id=True)
    q.add_argument("--runs", action="store_true", help="delete its trial runs too")
    q = _action(ssub, "driver", cmd_driver, "move running sweeps forward in the foreground")
    q.add_argument("--idle-exit", type=float, help="exit after this many seconds without a running sweep (15; 0 = never)")


def main(argv: list[str] | None = None) -> int:
    """``python -m seqcore.cli.sweeps sweeps ...`` (the driver process runs this way; no ``sweep`` here)."""
    return run_cli("python -m seqcore.cli.sweeps", add_sweeps_commands, argv)


if __name__ == "__main__":
    sys.exit(main())
