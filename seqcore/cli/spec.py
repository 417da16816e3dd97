"""From command-line flags to a :class:`~seqcore.config.RunSpec`: the flags of ``train`` (roles, data, model,
training, output and CSV format; ``sweep`` takes the same ones for its base configuration) and
:func:`build_spec`, which turns them and the data into a validated spec.
"""

from __future__ import annotations

import argparse

from seqcore.cli.common import DATA_FILE_HELP, _add_csv_flags
from seqcore.config import DEFAULT_PRESET, PRESETS, DataSpec, RunSpec, apply_preset


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Every argument of ``train`` (the CSV file, ``--task``, the roles, data, model and training flags,
    ``--out``, ``--detach``, ``--name`` and the flags that say how the file is read), in ``--help`` order."""
    p.add_argument("csv", metavar="FILE", help=DATA_FILE_HELP)
    p.add_argument("--task", required=True, choices=["forecast", "classify", "text"])
    r = p.add_argument_group("column roles (suggested from the data when not given)")
    r.add_argument("--target", nargs="+", help="forecast: column(s) to predict")
    r.add_argument("--features", nargs="+", help="extra numeric input columns / sequence value columns")
    r.add_argument("--time", help="forecast: time column")
    r.add_argument("--time-format", metavar="FORMAT",
                   help="forecast: how the time column is written (detected when not given): text, dayfirst "
                        "(31/01/2024), monthfirst (01/31/2024), yyyymmdd (19580329), unix_s, unix_ms, excel, number, "
                        "or a pattern such as %%d.%%m.%%Y")
    r.add_argument("--time-part", metavar="COLUMN",
                   help="forecast: column with the quarter/month/week when --time holds only the year "
                        "(e.g. --time year --time-part quarter)")
    r.add_argument("--known-future", nargs="+", metavar="COL",
                   help="forecast: columns whose future values you know in advance (holidays, a planned price); "
                        "the model uses their values over the forecast steps, and predict needs them in rows "
                        "after the history with the targets empty")
    r.add_argument("--label", help="classify/text: class label column")
    r.add_argument("--id", help="classify (long layout): sequence id column; forecast: series id column when the "
                                "file holds many series, one row per (series, time) (suggested when the file looks "
                                "like that; --id none: one series)")
    r.add_argument("--order", help="classify (long layout): step order column")
    r.add_argument("--text", help="text: text column")
    r.add_argument("--layout", choices=["auto", "wide", "long"])
    r.add_argument("--test-csv", help="classify/text: a separate test file (e.g. UCR TRAIN/TEST)")
    d = p.add_argument_group("data (not given: fitted to the data, as the app's Data page does)")
    d.add_argument("--window", type=int,
                   help="forecast: past steps the model sees (default: two seasons or 24 steps, shorter when the "
                        "training part would keep fewer than 20 windows)")
    d.add_argument("--horizon", type=int,
                   help="forecast: future steps predicted at once (default: one season when the test part holds "
                        "it, else 1)")
    d.add_argument("--calendar", choices=["auto", "on", "off"],
                   help="forecast: calendar features (time of year, day of week, hour of day) from the time column "
                        "as inputs known in advance (default auto: on when a quick check on the validation part "
                        "says they help)")
    d.add_argument("--missing", choices=["error", "interpolate", "ffill", "drop"], help="missing-value handling")
    d.add_argument("--log", action=argparse.BooleanOptionalAction,
                   help="forecast: log-transform positive targets (default: on when the seasonal swing grows with "
                        "the level)")
    d.add_argument("--season", type=int,
                   help="forecast: seasonal period (default: from the dates, or a cycle in the values)")
    d.add_argument("--backtest", type=int, metavar="K",
                   help="forecast: also train the model K more times (0-20; default 0 = off), each time on the data "
                        "before a later point, and test on what follows: shows how much the score moves "
                        "(metrics.json 'backtest')")
    d.add_argument("--base", choices=["auto", "none", "deseason", "auto_ets", "auto_arima", "auto_theta"],
                   help="forecast: what the network starts from (auto: picked on validation; none: the network "
                        "alone; deseason: season taken out first; auto_ets/auto_arima/auto_theta: the network "
                        "learns what that statistical forecast gets wrong)")
    d.add_argument("--val-fraction", type=float)
    d.add_argument("--test-fraction", type=float)
    d.add_argument("--znorm", action=argparse.BooleanOptionalAction,
                   help="classify: z-normalise each sequence (--no-znorm: never; default: fitted to the data)")
    d.add_argument("--max-steps", type=int, help="classify: cut longer sequences to this many steps")
    d.add_argument("--group-steps", type=int, metavar="K",
                   help="classify: read K time steps at once, so the network loops over fewer, wider steps "
                        "(0 = automatic, the default: the loop runs over at most 30 steps, faster and usually more "
                        "accurate on long sequences; 1 = every step on its own)")
    d.add_argument("--max-len", type=int, help="text: tokens kept per text")
    d.add_argument("--max-vocab", type=int, help="text: vocabulary size")
    m = p.add_argument_group("model")
    m.add_argument("--preset", choices=list(PRESETS),
                   help=f"model and training settings to start from (default: {DEFAULT_PRESET}, as in the app)")
    m.add_argument("--cell", choices=["lstm", "gru"])
    m.add_argument("--units", type=int, nargs="+", help="units per stacked recurrent layer, e.g. 64 32")
    m.add_argument("--bidirectional", action="store_true")
    m.add_argument("--dropout", type=float)
    m.add_argument("--recurrent-dropout", type=float)
    m.add_argument("--dense-units", type=int)
    m.add_argument("--embedding-dim", type=int)
    m.add_argument("--pooling", choices=["last", "mean", "mean+max", "attention"],
                   help="classify/text: what the output layer reads: the last step, the average over the steps, "
                        "the average and the maximum, or an attention-weighted average")
    m.add_argument("--conv", choices=["auto", "off", "on"],
                   help="sequence classification: convolution front end beside the recurrent layer (LSTM-FCN "
                        "style); auto (the balanced preset) tries it by cross-validation on the training part")
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
    t.add_argument("--members", type=int, metavar="K",
                   help="classification: train K networks that differ only in their seed and average their class "
                        "probabilities (0 = automatic, the default: 5 under 300 training sequences, 3 under 3,000, "
                        "3 under 10,000 texts, within about 40 s (sequences) or 90 s (texts) of training; 1 = one "
                        "network). metrics.json 'ensemble' gives each one's score")
    t.add_argument("--augment", choices=["auto", "off", "on"],
                   help="sequence classification: perturb training batches (noise, scaling, window slices); auto "
                        "(the balanced preset) keeps it when it helps on the training part")
    t.add_argument("--max-updates", type=int, metavar="N",
                   help="at most N weight updates (batches) in all: a big training set then runs fewer epochs and a "
                        "proportionally shorter patience (0 = no limit; the classification presets set one)")
    t.add_argument("--xla", action="store_true", help="compile with XLA (faster epochs on large data, slower start)")
    p.add_argument("--out", help="output folder (default: seqstudio-run-<time>)")
    p.add_argument("--detach", action="store_true", help="queue the run in the background and print its id")
    p.add_argument("--name", help="run name (with --detach)")
    _add_csv_flags(p)


def _spec_from_roles(task: str, roles: dict, **data_kw) -> DataSpec:
    def tup(v):
        return tuple(v) if v else ()

    for k in ("time_part", "time_format"):  # suggested with the time column (year + quarter, 19580329, ...)
        if roles.get(k) is not None and k not in data_kw and roles.get("time"):
            data_kw[k] = roles[k]
    return DataSpec(task=task, time=roles.get("time"), targets=tup(roles.get("targets")),
                    features=tup(roles.get("features")), label=roles.get("label"), id=roles.get("id"),
                    order=roles.get("order"), text=roles.get("text"), layout=roles.get("layout") or "auto", **data_kw)


def build_spec(args, df) -> RunSpec:
    """Flags -> RunSpec. Roles and data options not given are suggested and fitted to the data by
    :func:`seqcore.data.defaults.default_data_spec`, as the Data page does; the model and training settings
    start from ``--preset``, else :data:`seqcore.config.DEFAULT_PRESET` (the app's default), and the model and
    training flags go on top. So ``train FILE --task T`` trains what the app's default trains for that file."""
    from seqcore.data import schema
    from seqcore.data.defaults import default_data_spec

    roles = {"time": args.time, "targets": args.target, "features": args.features, "label": args.label,
             "id": args.id, "order": args.order, "text": args.text}
    given: dict = {k: tuple(v) if isinstance(v, list) else v for k, v in roles.items() if v}
    if args.task == "forecast" and args.target and not args.features:
        given["features"] = ()
    if args.task == "forecast" and any(roles.values()) and not args.time and args.target:
        sugg = schema.suggest_roles(df, args.task).get("time")
        given["time"] = sugg if sugg not in args.target else None
    if args.task == "forecast" and (args.id or "").lower() == "none":
        given["id"] = None            # not a panel, although the file looks like one
    elif args.id:
        given["layout"] = "long"
    given.update({k: getattr(args, k) for k in ("window", "horizon", "missing", "val_fraction", "test_fraction",
                                                "season", "max_len", "max_vocab", "max_steps", "group_steps",
                                                "time_format", "time_part", "backtest", "base")
                  if getattr(args, k, None) is not None})
    if args.log is not None:          # --log / --no-log; neither: fitted to the data
        given["log_transform"] = bool(args.log)
    if args.znorm is not None:
        given["znorm"] = bool(args.znorm)
    if args.layout:
        given["layout"] = args.layout
    if getattr(args, "calendar", None):
        given["calendar"] = args.calendar
    data = default_data_spec(df, args.task, **given)
    known = tuple(getattr(args, "known_future", None) or ())
    if known:   # a known-in-advance column is neither a suggested feature nor a suggested target
        data = data.replace(known_future=known, features=tuple(c for c in data.features if c not in known),
                            targets=data.targets if args.target else tuple(c for c in data.targets if c not in known))
    spec = apply_preset(RunSpec(data=data), args.preset or DEFAULT_PRESET)
    mkw = {k: getattr(args, k) for k in ("cell", "dropout", "recurrent_dropout", "dense_units", "embedding_dim",
                                         "pooling", "conv") if getattr(args, k, None) is not None}
    if args.units:
        mkw["units"] = tuple(args.units)
    if args.bidirectional:
        mkw["bidirectional"] = True
    tkw = {k: getattr(args, k) for k in ("epochs", "batch_size", "learning_rate", "seed", "optimizer", "loss",
                                         "patience", "lr_schedule", "clipnorm", "members", "augment",
                                         "max_updates")
           if getattr(args, k, None) is not None}
    if args.xla:
        tkw["jit_compile"] = True
    spec = RunSpec(data=spec.data, model=spec.model.replace(**mkw), train=spec.train.replace(**tkw))
    return spec.validate()
