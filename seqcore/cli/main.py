"""The command line: ``python -m seqcore inspect | train | predict | export | serve | runs | worker | sweep | sweeps``.

This module holds inspect, train and predict and the dispatcher (:func:`make_parser`, :func:`main`); the
other commands come from :mod:`seqcore.cli.serve`, :mod:`seqcore.cli.runs` and :mod:`seqcore.cli.sweeps`, what
they share from :mod:`seqcore.cli.common` and :mod:`seqcore.cli.spec`. Bad arguments or bad data print one clear line on
stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from seqcore.cli import runs as cli_runs
from seqcore.cli import serve as cli_serve
from seqcore.cli import sweeps as cli_sweeps
from seqcore.cli.common import (DATA_FILE_HELP, EXIT_USER, _add_csv_flags, _csv_options, _HelpParser,
                                 _home_flag, _read_file, resolve_bundle)
from seqcore.cli.spec import _spec_from_roles, add_train_arguments, build_spec
from seqcore import settings
from seqcore.errors import UserError


# ---------------------------------------------------------------- inspect
def cmd_inspect(args) -> int:
    from seqcore.data import schema
    from seqcore.data.io import read_table

    table = read_table(_read_file(args.csv), _csv_options(args), name=Path(args.csv).name)
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


# ---------------------------------------------------------------- train
def _progress_printer(stream):
    from seqcore.modeling.base_select import candidate_text

    state = {"last": 0.0}

    def show(p):
        if p.kind == "choose":   # seqcore.modeling.base_select: epoch = candidate, batch = its epoch
            cand = (p.metrics or {}).get("candidate")
            what = candidate_text(cand)
            topic = "design" if str(cand).startswith("arch:") else "base"   # seqcore.modeling.arch_select
            if p.batch == 0:
                print(f"\rchoosing the {topic} {p.epoch}/{p.epochs}: {what}" + " " * 20, file=stream, flush=True)
            elif stream.isatty():
                print(f"\rchoosing the {topic} {p.epoch}/{p.epochs}  epoch {p.batch}/{p.batches}", end="",
                      file=stream, flush=True)
        elif p.kind == "backtest":   # seqcore.modeling.backtest: epoch = fold, batch = the fold's epoch
            if p.batch == 0:
                print(f"\rbacktest fold {p.epoch}/{p.epochs}: training a fresh model" + " " * 20, file=stream,
                      flush=True)
            elif stream.isatty():
                loss = f"  loss {p.loss:.4f}" if p.loss is not None else ""
                print(f"\rbacktest fold {p.epoch}/{p.epochs}  epoch {p.batch}/{p.batches}{loss}", end="",
                      file=stream, flush=True)
        elif p.kind == "member":   # seqcore.modeling.ensemble: epoch = member, batch = its epoch
            if p.batch == 0 and p.batches and state.get("member") != p.epoch:
                state["member"] = p.epoch
                print(f"\rmember {p.epoch}/{p.epochs}: training another network (seed ensemble)" + " " * 20,
                      file=stream, flush=True)
            elif stream.isatty() and time.time() - state["last"] > 0.5:
                state["last"] = time.time()
                print(f"\rmember {p.epoch}/{p.epochs}  epoch {p.batch}/{p.batches}", end="", file=stream, flush=True)
        elif p.kind == "epoch":
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
    from seqcore.data import schema
    from seqcore.data.io import read_table
    from seqcore.pipeline import run_training
    from seqcore.runs.tracking import RunTracker, tee

    data = _read_file(args.csv)
    test_data = _read_file(args.test_csv, "test file") if args.test_csv else None
    opts = _csv_options(args)
    table = read_table(data, opts, name=Path(args.csv).name)
    if args.task == "forecast" and not args.target:  # nothing to forecast: say why (an empty column is named)
        schema.require_forecast_target(table.df)
    spec = build_spec(args, table.df)
    if args.detach:
        return cli_runs.submit_from_cli(data=data, spec=spec, csv_options=opts, test_data=test_data,
                               name=Path(args.csv).name, run_name=args.name)
    out = Path(args.out or f"seqstudio-run-{time.strftime('%Y%m%d-%H%M%S')}")
    print(f"training {spec.model.cell.upper()} {list(spec.model.units)} on {Path(args.csv).name} "
          f"({spec.data.task}); writing to {out}", file=sys.stderr)
    fresh = not out.exists()
    tracker = RunTracker(out, run_id=None, name=out.name, spec=spec.to_dict(),   # TensorBoard files, MLflow
                         warn=lambda message: print(f"warning: {message}", file=sys.stderr)).start()
    try:
        result = run_training(data, spec, out, csv_options=opts, test_data=test_data, name=Path(args.csv).name,
                              on_progress=tee(_progress_printer(sys.stderr), tracker))
    except BaseException:
        tracker.finish("failed", wait=5.0)
        if fresh and out.is_dir() and not any(out.iterdir()):   # a run that failed before writing anything
            out.rmdir()                                           # leaves no empty folder behind
        raise
    tracker.finish(result.status, result.metrics)
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
        from seqcore.modeling.statmodels import LABELS

        for name, b in m.get("baselines", {}).items():
            print(f"  baseline {LABELS.get(name, name):18} {_fmt(b.get(metric))}", file=sys.stderr)
        stat = cmp_.get("best_statistical")
        if stat and cmp_.get("beats_statistical") is False:
            print(f"{LABELS[stat]} beats this model on test {metric}: a statistical model is the better forecaster "
                  "for this data.", file=sys.stderr)
        elif stat and cmp_.get("beats_statistical"):
            print(f"this model beats the best statistical model ({LABELS[stat]}) on test {metric}.", file=sys.stderr)
    _print_backtest(m.get("backtest"))
    from seqcore.modeling.ensemble import spread_sentence

    spread = spread_sentence(m)
    if spread:
        print(spread, file=sys.stderr)
    for n in result.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"bundle: {result.bundle_dir}")


def _print_backtest(bt) -> None:
    """The backtest summary: mean ± sd over the folds for the model and every baseline, and the lead sentence."""
    if not bt:
        return
    from seqcore.modeling.backtest import lead_sentence, table_rows
    from seqcore.modeling.metrics import MAIN_METRIC

    rows = table_rows(bt)
    cols = list(rows[0])
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print(f"backtest over {bt['folds']} fold{'s' if bt['folds'] != 1 else ''} (mean ± sd):", file=sys.stderr)
    for line in [{c: c for c in cols}] + rows:
        print("  " + "  ".join(str(line[c]).ljust(width[c]) for c in cols), file=sys.stderr)
    sentence = lead_sentence(bt, MAIN_METRIC["forecast"])
    if sentence:
        print(f"  {sentence}", file=sys.stderr)


# ---------------------------------------------------------------- predict
def cmd_export(args) -> int:
    import tempfile

    from seqcore.outputs.model_export import FORMATS, check_format, export_model

    fmt = check_format(args.format)
    out = Path(args.out) if args.out else Path(f"seqstudio-export-{fmt}")
    with tempfile.TemporaryDirectory() as tmp:
        bundle = resolve_bundle(args.model, Path(tmp), args.home)
        print(f"exporting to {FORMATS[fmt][0]} (this loads TensorFlow; about 10-30 s)...", file=sys.stderr)
        sig = export_model(bundle, fmt, out)
    par = sig.get("parity") or {}
    print(f"wrote {out}: {FORMATS[fmt][0]}, input {sig['input']['dtype']} {sig['input']['shape']}, output "
          f"{sig['output']['shape']}; matches the Keras model on {par.get('rows')} inputs (largest difference "
          f"{par.get('max_abs_diff', 0):.2g}). See README.md inside.", file=sys.stderr)
    return 0


def cmd_predict(args) -> int:
    import tempfile

    from seqcore.outputs.export import csv_bytes
    from seqcore.pipeline import predict_from_bundle

    data = _read_file(args.csv)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = resolve_bundle(args.bundle, Path(tmp), getattr(args, "home", None))
        frame = predict_from_bundle(bundle, data, csv_options=_csv_options(args), name=Path(args.csv).name,
                                    steps=args.steps)
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
    ap = _HelpParser(prog="python -m seqcore", description="Sequence Studio core: train LSTM/GRU models from CSV, Parquet or Excel files.")
    ap.add_argument("--user", metavar="NAME",
                    help="act as this signed-in user (an e-mail address), with exactly their access: another user's "
                         "runs are 'not found' (default: the local administrator, who sees everything)")
    sub = ap.add_subparsers(dest="command", parser_class=_HelpParser, metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("inspect", help="detect the file's format, column kinds, roles and problems")
    p.add_argument("csv", metavar="FILE", help=DATA_FILE_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--task", choices=["forecast", "classify", "text"], help="task to suggest roles for")
    _add_csv_flags(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("train", help="train a model and write its bundle")
    add_train_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict on new data with a trained bundle")
    p.add_argument("bundle", help="bundle folder, training --out folder, bundle zip, or a run id")
    p.add_argument("csv", metavar="FILE", help="the new data: " + DATA_FILE_HELP.removeprefix("the data: "))
    p.add_argument("--out", help="predictions CSV (default: stdout)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="forecasting models: how many steps past the end of the data to forecast (default: the "
                        "horizon the model was trained for; beyond it the forecast builds on its own predictions)")
    _add_csv_flags(p)
    _home_flag(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="export a trained model to ONNX, TensorFlow SavedModel or LiteRT (TFLite)")
    p.add_argument("model", metavar="RUN_OR_OUT", help="run id, training --out folder, bundle folder or bundle zip")
    p.add_argument("--format", required=True, choices=["onnx", "savedmodel", "tflite"],
                   help="onnx (onnxruntime and most tools), savedmodel (TensorFlow Serving), tflite (LiteRT: "
                        "phones, microcontrollers)")
    p.add_argument("--out", help="output folder, or a file name ending in .zip (default: seqstudio-export-FORMAT)")
    _home_flag(p)
    p.set_defaults(func=cmd_export)

    cli_serve.add_commands(sub)
    cli_runs.add_commands(sub)
    cli_sweeps.add_commands(sub)
    return ap


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = make_parser()
    args = parser.parse_args(argv)
    if getattr(args, "delimiter", None) == "tab":
        args.delimiter = "\t"
    try:
        settings.check()   # a malformed SEQSTUDIO_* variable: one line naming it, exit 2
        from seqcore.auth import normalise
        from seqcore.cli.common import ACTING_USER

        ACTING_USER[0] = None if getattr(args, "user", None) is None else normalise(args.user)
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
