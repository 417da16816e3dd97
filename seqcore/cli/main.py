"""The command line: ``python -m seqcore inspect | train | predict | runs | worker``.

Bad arguments or bad data print one clear line on stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from seqcore.config import PRESETS, DataSpec, ModelSpec, RunSpec, TrainSpec, apply_preset
from seqcore.errors import UserError

EXIT_USER = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(EXIT_USER, f"error: {message} (see '{self.prog} --help')\n")


def _read_file(path: str, what: str = "CSV file") -> bytes:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"The {what} '{path}' does not exist or is not a file.")
    try:
        return p.read_bytes()
    except OSError as err:
        raise UserError(f"The {what} '{path}' cannot be read ({err.strerror}).") from err


def _csv_options(args):
    from seqcore.data.io import CsvOptions

    return CsvOptions(encoding=args.encoding, delimiter=args.delimiter, decimal=args.decimal, thousands=args.thousands)


def _add_csv_flags(p):
    g = p.add_argument_group("CSV format (detected when not given)")
    g.add_argument("--encoding", help="text encoding, e.g. utf-8, utf-16, cp1252")
    g.add_argument("--delimiter", help="field separator: ',' ';' '|' or 'tab'")
    g.add_argument("--decimal", choices=[".", ","], help="decimal mark")
    g.add_argument("--thousands", help="thousands separator, or '' for none")


# ---------------------------------------------------------------- inspect
def cmd_inspect(args) -> int:
    from seqcore.data import schema
    from seqcore.data.io import read_csv

    table = read_csv(_read_file(args.csv), _csv_options(args), name=Path(args.csv).name)
    task = args.task or schema.suggest_task(table.df)
    roles = schema.suggest_roles(table.df, task)
    report = schema.validate(table.df, _spec_from_roles(task, roles))
    if args.json:
        out = {
            "file": Path(args.csv).name, "format": table.fmt.to_dict(), "rows": int(len(table.df)),
            "columns": [c.to_dict() for c in report.columns], "suggested_task": task, "roles": roles,
            "report": report.to_dict(), "notes": table.notes,
        }
        print(json.dumps(out, indent=1, default=str))
        return 0
    print(f"{Path(args.csv).name}: {table.fmt.describe()}; {len(table.df):,} rows x {len(table.df.columns)} columns")
    for n in table.notes:
        print(f"note: {n}")
    print("\ncolumns:")
    for c in report.columns:
        extra = f", {c.n_missing} missing" if c.n_missing else ""
        print(f"  {c.name!s:30} {c.kind:12}{extra}")
    print(f"\nsuggested task: {task}")
    for k, v in roles.items():
        if v:
            print(f"  {k:9} {', '.join(v) if isinstance(v, (list, tuple)) else v}")
    print("\nvalidation report:")
    for line in report.summary_lines():
        print(f"  {line}")
    return 0


def _spec_from_roles(task: str, roles: dict, **data_kw) -> DataSpec:
    def tup(v):
        return tuple(v) if v else ()

    return DataSpec(task=task, time=roles.get("time"), targets=tup(roles.get("targets")),
                    features=tup(roles.get("features")), label=roles.get("label"), id=roles.get("id"),
                    order=roles.get("order"), text=roles.get("text"), layout=roles.get("layout") or "auto", **data_kw)


# ---------------------------------------------------------------- train
def build_spec(args, df) -> RunSpec:
    """Flags -> RunSpec; roles not given are suggested from the data."""
    from seqcore.data import schema

    sugg = schema.suggest_roles(df, args.task)
    given = {"time": args.time, "targets": args.target, "features": args.features, "label": args.label,
             "id": args.id, "order": args.order, "text": args.text}
    explicit = any(v for v in given.values())
    roles = dict(sugg)
    for k, v in given.items():
        if v:
            roles[k] = v
    if args.task == "forecast" and args.target and not args.features:
        roles["features"] = []
    if args.task == "forecast" and explicit and not args.time and args.target:
        roles["time"] = sugg.get("time") if sugg.get("time") not in (args.target or []) else None
    if args.id:
        roles["layout"] = "long"
    data_kw = {k: getattr(args, k) for k in ("window", "horizon", "missing", "val_fraction", "test_fraction",
                                             "season", "max_len", "max_vocab", "max_steps", "group_steps")
               if getattr(args, k) is not None}
    data = _spec_from_roles(args.task, roles, **data_kw)
    if args.log:
        data = data.replace(log_transform=True)
    if args.znorm:
        data = data.replace(znorm=True)
    if args.layout:
        data = data.replace(layout=args.layout)
    spec = RunSpec(data=data)
    if args.preset:
        spec = apply_preset(spec, args.preset)
    mkw = {k: getattr(args, k) for k in ("cell", "dropout", "recurrent_dropout", "dense_units", "embedding_dim")
           if getattr(args, k) is not None}
    if args.units:
        mkw["units"] = tuple(args.units)
    if args.bidirectional:
        mkw["bidirectional"] = True
    tkw = {k: getattr(args, k) for k in ("epochs", "batch_size", "learning_rate", "seed", "optimizer", "loss",
                                         "patience", "lr_schedule", "clipnorm") if getattr(args, k) is not None}
    if args.xla:
        tkw["jit_compile"] = True
    spec = RunSpec(data=spec.data, model=spec.model.replace(**mkw), train=spec.train.replace(**tkw))
    return spec.validate()


def _progress_printer(stream):
    state = {"last": 0.0}

    def show(p):
        if p.kind == "epoch":
            vl = f"  val_loss {p.val_loss:.4f}" if p.val_loss is not None else ""
            print(f"\repoch {p.epoch:>3}/{p.epochs}  loss {p.loss:.4f}{vl}  {p.elapsed:6.1f}s" + " " * 10,
                  file=stream, flush=True)
        elif time.time() - state["last"] > 0.5 and stream.isatty():
            state["last"] = time.time()
            loss = f"{p.loss:.4f}" if p.loss is not None else "-"
            print(f"\repoch {p.epoch:>3}/{p.epochs}  batch {p.batch}/{p.batches}  loss {loss}", end="",
                  file=stream, flush=True)

    return show


def cmd_train(args) -> int:
    from seqcore.data.io import read_csv
    from seqcore.pipeline import run_training

    data = _read_file(args.csv)
    test_data = _read_file(args.test_csv, "test CSV file") if args.test_csv else None
    opts = _csv_options(args)
    table = read_csv(data, opts, name=Path(args.csv).name)
    spec = build_spec(args, table.df)
    if args.detach:
        from seqcore.cli.runs import submit_from_cli

        return submit_from_cli(data=data, spec=spec, csv_options=opts, test_data=test_data,
                               name=Path(args.csv).name, run_name=args.name)
    out = Path(args.out or f"seqstudio-run-{time.strftime('%Y%m%d-%H%M%S')}")
    print(f"training {spec.model.cell.upper()} {list(spec.model.units)} on {Path(args.csv).name} "
          f"({spec.data.task}); writing to {out}", file=sys.stderr)
    result = run_training(data, spec, out, csv_options=opts, test_data=test_data, name=Path(args.csv).name,
                          on_progress=_progress_printer(sys.stderr))
    _print_summary(result)
    return 0


def _fmt(v):
    return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))


def _print_summary(result) -> None:
    m = result.metrics
    cmp_ = m.get("comparison", {})
    metric = cmp_.get("metric")
    print(f"\n{result.status}: {result.epochs_run} epochs, best epoch {result.best_epoch}", file=sys.stderr)
    if metric:
        print(f"test {metric}: model {_fmt(cmp_.get('model'))}", file=sys.stderr)
        for name, b in m.get("baselines", {}).items():
            print(f"  baseline {name:18} {_fmt(b.get(metric))}", file=sys.stderr)
    for n in result.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"bundle: {result.bundle_dir}")


# ---------------------------------------------------------------- predict
def resolve_bundle(path: str, scratch: Path) -> Path:
    from seqcore.outputs.bundle import extract_bundle_zip

    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".zip":
        return extract_bundle_zip(_read_file(path, "bundle zip"), scratch / "bundle")
    if (p / "bundle" / "manifest.json").is_file():
        return p / "bundle"
    if (p / "manifest.json").is_file():
        return p
    raise UserError(f"'{path}' is not a model bundle (no manifest.json).",
                    hint="Give the folder written by 'train --out', its bundle/ folder, or a downloaded bundle zip.")


def cmd_predict(args) -> int:
    import tempfile

    from seqcore.outputs.export import csv_bytes
    from seqcore.pipeline import predict_from_bundle

    data = _read_file(args.csv)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = resolve_bundle(args.bundle, Path(tmp))
        frame = predict_from_bundle(bundle, data, csv_options=_csv_options(args), name=Path(args.csv).name)
    out = csv_bytes(frame)
    if args.out:
        from seqcore.fsutil import atomic_write_bytes

        atomic_write_bytes(args.out, out)
        print(f"wrote {len(frame)} rows to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(out.decode("utf-8"))
    return 0


# ---------------------------------------------------------------- parser
def make_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m seqcore", description="Sequence Studio core: train LSTM/GRU models from CSV files.")
    sub = ap.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("inspect", help="detect the CSV format, column kinds, roles and problems")
    p.add_argument("csv")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--task", choices=["forecast", "classify", "text"], help="task to suggest roles for")
    _add_csv_flags(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("train", help="train a model and write its bundle")
    p.add_argument("csv")
    p.add_argument("--task", required=True, choices=["forecast", "classify", "text"])
    r = p.add_argument_group("column roles (suggested from the data when not given)")
    r.add_argument("--target", nargs="+", help="forecast: column(s) to predict")
    r.add_argument("--features", nargs="+", help="extra numeric input columns / sequence value columns")
    r.add_argument("--time", help="forecast: time column")
    r.add_argument("--label", help="classify/text: class label column")
    r.add_argument("--id", help="classify (long layout): sequence id column")
    r.add_argument("--order", help="classify (long layout): step order column")
    r.add_argument("--text", help="text: text column")
    r.add_argument("--layout", choices=["auto", "wide", "long"])
    r.add_argument("--test-csv", help="classify/text: a separate test file (e.g. UCR TRAIN/TEST)")
    d = p.add_argument_group("data")
    d.add_argument("--window", type=int, help="forecast: past steps the model sees")
    d.add_argument("--horizon", type=int, help="forecast: future steps predicted at once")
    d.add_argument("--missing", choices=["error", "interpolate", "ffill", "drop"], help="missing-value handling")
    d.add_argument("--log", action="store_true", help="forecast: log-transform positive targets")
    d.add_argument("--season", type=int, help="forecast: seasonal period for the seasonal-naive baseline")
    d.add_argument("--val-fraction", type=float)
    d.add_argument("--test-fraction", type=float)
    d.add_argument("--znorm", action="store_true", help="classify: z-normalise each sequence")
    d.add_argument("--max-steps", type=int, help="classify: cut longer sequences to this many steps")
    d.add_argument("--group-steps", type=int, metavar="K",
                   help="classify: read K time steps at once, so the network loops over fewer, wider steps "
                        "(0 = automatic, the default: the loop runs over at most 30 steps, faster and usually more "
                        "accurate on long sequences; 1 = every step on its own)")
    d.add_argument("--max-len", type=int, help="text: tokens kept per text")
    d.add_argument("--max-vocab", type=int, help="text: vocabulary size")
    m = p.add_argument_group("model")
    m.add_argument("--preset", choices=list(PRESETS))
    m.add_argument("--cell", choices=["lstm", "gru"])
    m.add_argument("--units", type=int, nargs="+", help="units per stacked recurrent layer, e.g. 64 32")
    m.add_argument("--bidirectional", action="store_true")
    m.add_argument("--dropout", type=float)
    m.add_argument("--recurrent-dropout", type=float)
    m.add_argument("--dense-units", type=int)
    m.add_argument("--embedding-dim", type=int)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--learning-rate", type=float)
    t.add_argument("--optimizer", choices=["adam", "adamw", "rmsprop", "sgd"])
    t.add_argument("--loss", choices=["mse", "mae", "huber"])
    t.add_argument("--patience", type=int, help="early stopping patience in epochs (0 = off)")
    t.add_argument("--lr-schedule", choices=["none", "plateau", "cosine"])
    t.add_argument("--clipnorm", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--xla", action="store_true", help="compile with XLA (faster epochs on large data, slower start)")
    p.add_argument("--out", help="output folder (default: seqstudio-run-<time>)")
    p.add_argument("--detach", action="store_true", help="queue the run in the background and print its id")
    p.add_argument("--name", help="run name (with --detach)")
    _add_csv_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict on new data with a trained bundle")
    p.add_argument("bundle", help="bundle folder, training --out folder, or bundle zip")
    p.add_argument("csv")
    p.add_argument("--out", help="predictions CSV (default: stdout)")
    _add_csv_flags(p)
    p.set_defaults(func=cmd_predict)

    try:
        from seqcore.cli import runs as cli_runs
    except ImportError:  # pragma: no cover - only while the runs engine is absent
        cli_runs = None
    if cli_runs is not None:
        cli_runs.add_commands(sub)
        from seqcore.cli import sweeps as cli_sweep  # sweep, sweeps (issue 7)
        cli_sweep.add_commands(sub)
    return ap


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = make_parser()
    args = parser.parse_args(argv)
    if getattr(args, "delimiter", None) == "tab":
        args.delimiter = "\t"
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - never a traceback for users; SEQSTUDIO_DEBUG=1 shows it
        if os.environ.get("SEQSTUDIO_DEBUG"):
            raise
        print(f"error: unexpected failure ({type(err).__name__}: {err}); set SEQSTUDIO_DEBUG=1 for details",
              file=sys.stderr)
        return 1
