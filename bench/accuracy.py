"""Accuracy benchmark: the app's default forecaster against statistical models, and the default classifiers.

Forecasting suite (Airline rolling and on its published 36-month protocol, sunspots, elec_equip, PBS_scripts,
Uschange, macrodata, seatbelts, solar): each file gets what the Data page's defaults give it -- task and roles
from :func:`seqcore.data.understand.understand`, season / split / horizon / window / log scale fitted by
:mod:`seqcore.data.defaults`, the default preset (:func:`seqcore.config.default_run_spec`) -- and trains through
:func:`seqcore.pipeline.run_training`. The table (:mod:`bench.accuracy_suite`) gives our MASE (mean ± sd over
the seeds) beside the seasonal naive and AutoETS / AutoARIMA / AutoTheta on the same split and horizon, the
ratio to the best of those, interval coverage, a rolling-origin backtest (first seed) and the base the model
picked, then the issue's goals. Only Airline's split is fixed (its published protocols).

Classification suite (GunPoint, Coffee, PigCVP, BasicMotions and the generated sets of
:mod:`bench.synth_classify`, which stress length, class count and size): roles from
:func:`seqcore.data.schema.suggest_roles`, the preset for the task, the given TRAIN/TEST split. The table
(:func:`bench.accuracy_suite.classify_markdown`) gives our accuracy (mean ± sd over the seeds, and each seed)
beside 1-NN Euclidean, 1-NN DTW (window picked on the training part) and the majority class on the same split,
the balanced preset's fit / wall seconds (first seed), then the goals of issue 14, each marked met / missed.
The text case (movie reviews) is scored against its target and bag-of-words.

Every run also records the time to a good model (:mod:`bench.time_to_good`): seconds from Start (the
``run_training`` call) until the main fit's first epoch whose validation score beats the best baseline on the
validation part; printed per run, and as a table in each block (median over the seeds).

RESULTS.md holds two blocks: the forecasting one (``<!-- accuracy:begin``) and the classification one
(``<!-- accuracy-classify:begin``: the classification suite and the text case); ``--update-results`` replaces
the blocks of the cases it ran and keeps the other.

Usage::

    python bench/accuracy.py --seeds 42 1 2 3 4 --update-results   # the runs recorded in bench/RESULTS.md
    python bench/accuracy.py --only forecast --seeds 42 1 2 3 4     # the forecasting suite only
    python bench/accuracy.py --only classify --seeds 42 1 2 3 4     # the classification suite (and the text case)
    python bench/accuracy.py --only airline_h36 gunpoint --preset quick
    python bench/accuracy.py --quick --only airline_h36 sunspots    # smoke run (seconds)
    python bench/accuracy.py --quick --only classify                # smoke run of the classification suite

Writes ``bench/out/accuracy*.json`` (every metric, per seed) and ``.md`` (the tables; ``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.accuracy_suite import DATASETS, backtest_supported, classify_fields, classify_markdown, \
    suite_fields, suite_markdown, summarise_classify, summarise_suite  # noqa: E402
from bench.synth_classify import STRESSES, write as write_synth  # noqa: E402
from bench.results_block import marked, replace_marked  # noqa: E402
from bench import time_to_good as ttg  # noqa: E402
from bench.time_to_good import EpochClock  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from seqcore.data import schema  # noqa: E402
from seqcore.config import DEFAULT_PRESET, PRESETS, DataSpec, RunSpec, apply_preset, default_run_spec  # noqa: E402
from seqcore.data.io import read_csv  # noqa: E402
from seqcore.errors import UserError  # noqa: E402
from seqcore.modeling.statmodels import DEFAULT_BUDGET_S as STAT_BUDGET_S  # noqa: E402  (the app's budget)

SAMPLES = ROOT / "seqcore" / "samples"
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
SEED = 42
BACKTEST = 3                 # rolling-origin folds for the forecasting suite (first seed)
QUICK_EPOCHS, QUICK_STAT_BUDGET_S = 3, 5.0
DTW_BUDGET_S, QUICK_DTW_BUDGET_S = 600.0, 20.0


@dataclass(frozen=True)
class Case:
    """One benchmark dataset and the protocol it is scored under."""

    key: str
    title: str
    task: str
    train_file: str
    test_file: str | None
    split: dict                      # DataSpec fields the protocol fixes (split; horizon for airline_h36)
    metric: str                      # the metric reported in the table
    higher_is_better: bool
    target: float                    # ours must be >= target (higher is better) or <= target
    target_text: str
    published: dict = field(default_factory=dict)   # name -> figure on the same split
    protocol: str = ""
    scored: bool = True              # False: an extra row for comparison, not one of the targets
    data_dir: Path = SAMPLES         # where the files are (the app's samples or ../shared/datasets)
    suite_role: str = ""             # forecasting suite: "set" (counted in the goals), "protocol" (an extra row)

    def read(self, which: str = "train") -> bytes | None:
        f = self.train_file if which == "train" else self.test_file
        return (self.data_dir / f).read_bytes() if f else None


def _suite(key: str, title: str, file: str, protocol: str) -> Case:
    """A forecasting-suite set: the app's data-fitted defaults (split, horizon, window, season), MASE."""
    return Case(key, title, "forecast", file, None, {}, "mase", False, 1.0, "beat the seasonal naive", {},
                protocol, data_dir=DATASETS, suite_role="set")


def _classify(key: str, title: str, train: str, protocol: str, published: dict, data_dir: Path = DATASETS) -> Case:
    """A classification-suite set: a given TRAIN/TEST pair, accuracy, the app's defaults for the file."""
    test = train.replace("_TRAIN", "_TEST")
    return Case(key, title, "classify", train, test, {}, "accuracy", True, 0.0, "see the goal lines", published,
                protocol, data_dir=data_dir, suite_role="classify")


DEFAULT_SPLIT = "the app's defaults (validation and test 15% each, 10% for a series under 100 rows)"

CASES: dict[str, Case] = {c.key: c for c in (
    Case("airline", "Airline passengers", "forecast", "Airline.csv", None,
         {"test_fraction": 36 / 144}, "mase", False, 1.0, "beat the seasonal naive",
         {"seasonal naive (h=1..36)": 0.132, "AutoARIMA (h=1..36)": 0.0415},
         "last 36 months held out; rolling forecasts from every test origin at the default horizon",
         suite_role="set"),
    Case("airline_h36", "Airline, one 36-month forecast", "forecast", "Airline.csv", None,
         {"test_fraction": 36 / 144, "horizon": 36, "val_fraction": 0.0}, "mape", False, 0.05, "<= 0.05",
         {"seasonal naive (h=1..36)": 0.132, "AutoARIMA (h=1..36)": 0.0415},
         "the published protocol: one forecast of all 36 test months from the end of the training data "
         "(horizon 36; no validation part, since 144 months leave no room for 36-step validation windows)",
         suite_role="protocol"),
    Case("sunspots", "Sunspots (yearly)", "forecast", "sunspots.csv", None,
         {}, "mase", False, 1.0, "beat the seasonal naive", {}, DEFAULT_SPLIT, suite_role="set"),
    _suite("elec_equip", "Electrical equipment (monthly)", "elec_equip.csv", DEFAULT_SPLIT),
    _suite("pbs_scripts", "PBS scripts (monthly)", "PBS_scripts.csv", DEFAULT_SPLIT),
    _suite("uschange", "US change, consumption (quarterly)", "Uschange.csv", DEFAULT_SPLIT),
    _suite("macrodata", "US macro, real GDP (quarterly)", "macrodata.csv", DEFAULT_SPLIT),
    _suite("seatbelts", "Seatbelts, KSI (monthly)", "seatbelts.csv", DEFAULT_SPLIT),
    _suite("solar", "Solar, half-hourly", "solar_halfhourly.csv", DEFAULT_SPLIT),
    _classify("gunpoint", "GunPoint", "GunPoint_TRAIN.csv", "given TRAIN/TEST split (50/150)",
              {"1-NN Euclidean": 0.913, "FCN / InceptionTime": 1.000}, data_dir=SAMPLES),
    _classify("coffee", "Coffee", "Coffee_TRAIN.txt", "given TRAIN/TEST split (28/28), the raw UCR text format",
              {"1-NN Euclidean": 1.000}),
    _classify("pigcvp", "PigCVP", "PigCVP_TRAIN.csv", "given TRAIN/TEST split (104/208; 52 classes)",
              {"1-NN Euclidean": 0.081}),
    _classify("basicmotions", "BasicMotions", "BasicMotions_TRAIN.csv", "given TRAIN/TEST split (40/40)", {},
              data_dir=SAMPLES),
    *(_classify(k, f"Generated: {k.split('_')[1]}", f"{k}_TRAIN.csv", f"generated by bench/synth_classify.py "
                f"(seed 0); stresses {STRESSES[k]}", {}, data_dir=Path("<generated>")) for k in STRESSES),
    Case("reviews", "Movie-review snippets", "text", "rt_polarity_subset.csv", None,
         {"test_fraction": 0.2}, "accuracy", True, 0.75, ">= 0.75 and beat bag-of-words", {},
         "stratified 80/20 split (validation carved out of the 80%)"),
)}
SUITE = [k for k, c in CASES.items() if c.suite_role in ("set", "protocol")]     # the forecasting suite
CLASSIFY = [k for k, c in CASES.items() if c.suite_role == "classify"]          # the classification suite
#: the cases of the classification block of RESULTS.md (the classification suite and the text case)
CLASSIFY_BLOCK = CLASSIFY + [k for k, c in CASES.items() if c.task == "text"]
GROUPS = {"forecast": SUITE, "classify": CLASSIFY_BLOCK}
SYNTH_DIR = Path("<generated>")   # data_dir of the generated sets until main() writes them


def default_data_spec(case: Case) -> DataSpec:
    """The DataSpec the app builds for this file with no user choices, plus the protocol's fixed fields.

    Forecasting: the task and roles :func:`seqcore.data.understand.understand` suggests and the options
    :func:`seqcore.data.defaults.default_data_spec` fits to the data (season, split, horizon, window, log
    scale), around the protocol's fields, as the Data page does. Classification and text: the suggested roles
    with the DataSpec defaults (unchanged here; another issue extends them)."""
    table = read_csv(case.read(), name=case.train_file)
    if case.task == "forecast":
        from seqcore.data.defaults import default_data_spec as fitted
        from seqcore.data.understand import understand

        u = understand(table)
        given = dict(case.split)
        if u.roles.get("id"):           # a panel: the series id (and the time column understand found)
            given.update(id=u.roles["id"], time=u.roles.get("time"))
        return fitted(table, "forecast", **given)
    infos = schema.infer_columns(table.df)
    roles = schema.suggest_roles(table.df, case.task, infos)
    layout = roles.get("layout") or "auto"
    features = tuple(roles["features"])
    if case.task == "classify" and layout == "wide":
        features = ()  # "every numeric column except the label", as the app does
    spec = DataSpec(task=case.task, time=roles["time"], targets=tuple(roles["targets"]), features=features,
                    label=roles["label"], id=roles["id"], order=roles["order"], text=roles["text"],
                    layout=layout if case.task == "classify" else "auto")
    return spec.replace(**case.split)


def run_spec(case: Case, preset: str = DEFAULT_PRESET, seed: int = SEED, *, max_epochs: int | None = None,
             **data) -> RunSpec:
    """The app's default RunSpec for the case (``default_run_spec``; another preset when asked), with the
    seed; ``data``: extra DataSpec fields (``backtest=3``); ``max_epochs`` caps the epochs (smoke runs)."""
    d = default_data_spec(case).replace(**data)
    spec = default_run_spec(d) if preset == DEFAULT_PRESET else apply_preset(RunSpec(data=d), preset)
    train = spec.train.replace(seed=seed)
    if max_epochs:
        train = train.replace(epochs=min(train.epochs, max_epochs), patience=min(train.patience, max_epochs))
    return spec.replace(train=train)


def published_protocol_seasonal_naive(case: Case, prep) -> float | None:
    """Seasonal naive scored like the published Airline figure: one origin at the end of the training
    data, all 36 test months forecast at once (horizon 1..36), so months 13-36 repeat last year's values."""
    from seqcore.modeling.baselines import forecast_baselines
    from seqcore.modeling.metrics import forecast_metrics

    season = prep.state.get("season")
    split = prep.extra["split"]
    series = prep.extra["series"]
    h = split.n - split.val_end
    if not season or h < 1:
        return None
    origin = np.array([split.val_end])
    base = forecast_baselines(series, origin, h, split.val_end, season)
    if "seasonal_naive" not in base:
        return None
    actual = series[origin[:, None] + np.arange(h)[None, :]]
    return forecast_metrics(actual, base["seasonal_naive"])["mape"]


def met_target(case: Case, value: float | None, baselines: dict) -> bool:
    if value is None:
        return False
    if case.higher_is_better:
        ok = value >= case.target
    else:
        ok = value < case.target if case.metric == "mase" else value <= case.target
    if case.suite_role == "classify":  # the suite's bar: both 1-NN baselines (1.000 matches a perfect one)
        bars = [baselines.get(k) for k in ("nearest_neighbour", "nearest_neighbour_dtw")]
        return bool(all(value > b or (b >= 1.0 and value >= 1.0) for b in bars if b is not None))
    if case.suite_role == "set":  # the suite's bar: the seasonal naive on the same split (when there is one)
        bar = baselines.get("seasonal_naive")
        ok = value < bar if bar is not None else ok
    if case.task == "text":  # the bar is the bag-of-words model as well as the fixed target
        ok = ok and value > (baselines.get("bag_of_words") or 0.0)
    return bool(ok)


def run_case(case: Case, preset: str, work: Path, seed: int = SEED, *, backtest: int = 0,
             max_epochs: int | None = None, stat_budget_s: float = 20.0, stat_cache: dict | None = None,
             dtw_budget_s: float = 600.0) -> dict:
    """Train once and return a JSON-ready row with our metric, baselines, published figures and timing;
    forecasting-suite cases add "suite" (statistical baselines, coverage, backtest, base picked).
    ``backtest``: K rolling-origin folds (only where DataSpec has the field)."""
    from seqcore.pipeline import prepare_data, run_training

    extra = {"backtest": backtest} if backtest and case.task == "forecast" and backtest_supported() else {}
    spec = run_spec(case, preset, seed, max_epochs=max_epochs, **extra)
    data = case.read()
    test = case.read("test")
    t0 = time.perf_counter()   # Start: what the user waits through from here counts (bench/time_to_good.py)
    clock = EpochClock(t0)
    res = run_training(data, spec, work / f"{case.key}_{seed}", test_data=test, name=case.train_file,
                       on_progress=clock)
    wall = time.perf_counter() - t0
    m = res.metrics
    from seqcore.modeling.training import backend_name
    ours = m["test"][case.metric]
    base = {k: v.get(case.metric) for k, v in m["baselines"].items()}
    usable = {k: v for k, v in base.items() if v is not None}
    pick = max if case.higher_is_better else min
    best_name = pick(usable, key=usable.get) if usable else None
    row = {
        "key": case.key, "title": case.title, "metric": case.metric, "seed": seed, "ours": ours,
        "baselines": base, "best_baseline": best_name, "best_baseline_value": usable.get(best_name),
        "published": dict(case.published), "target": case.target_text, "scored": case.scored,
        "met": met_target(case, ours, base) if case.scored else None,
        # model.fit time, the final fit's (text presets) included
        "train_seconds": m["training"]["seconds"] + ((m["training"].get("final_fit") or {}).get("seconds") or 0.0),
        "wall_seconds": round(wall, 1),
        "epochs_run": m["training"]["epochs_run"], "best_epoch": m["training"]["best_epoch"],
        "params": m["training"]["params"], "sizes": m["training"]["sizes"],
        "spec": spec.to_dict(), "notes": m.get("notes", []),
        "test_metrics": {k: v for k, v in m["test"].items() if isinstance(v, (int, float)) or v is None},
        "protocol": case.protocol, "backend": backend_name(),
    }
    _, prep, _ = prepare_data(data, spec, test_data=test if case.task != "forecast" else None, name=case.train_file)
    if case.suite_role == "classify":
        key = ("classify", case.key, json.dumps(spec.data.to_dict(), sort_keys=True, default=str))
        row["classify"] = classify_fields(m, prep, budget_s=dtw_budget_s, cache=stat_cache, cache_key=key)
    # seconds from Start until an epoch first beats the best baseline on validation (bench/time_to_good.py)
    try:
        row["time_to_good"] = ttg.for_run(case, spec, data, test, m, prep, clock, wall, stat_budget_s=stat_budget_s,
                                          dtw_budget_s=dtw_budget_s, cache=stat_cache,
                                          dtw_window=(row.get("classify") or {}).get("dtw_window"))
    except Exception as err:  # noqa: BLE001 - a failed side figure must not lose the run's accuracy figures
        print(f"[{case.key}] time to a good model not measured: {err!r}", flush=True)
        row["time_to_good"] = None
    if case.task == "forecast":
        row["season"] = prep.state.get("season")
        row["window"], row["horizon"] = spec.data.window, spec.data.horizon
        row["log_transform"] = spec.data.log_transform
        naive_mae = m["baselines"].get("naive", {}).get("mae")
        row["mae_vs_naive"] = m["test"]["mae"] / naive_mae if naive_mae else None
        row["rows"] = prep.extra["split"].n
        if case.key == "airline":
            row["seasonal_naive_published_protocol"] = published_protocol_seasonal_naive(case, prep)
        if case.suite_role:
            key = (case.key, json.dumps({k: v for k, v in spec.data.to_dict().items() if k != "backtest"},
                                        sort_keys=True, default=str))
            row["suite"] = suite_fields(m, prep, budget_s=stat_budget_s, cache=stat_cache, cache_key=key)
    return row


def summarise(runs: list[dict]) -> dict:
    """The first seed's row, plus the spread of the metric over all seeds."""
    row = dict(runs[0])
    values = [r["ours"] for r in runs if r["ours"] is not None]
    row["seeds"] = {str(r["seed"]): r["ours"] for r in runs}
    if len(runs) > 1 and values:
        row["spread"] = {"min": min(values), "max": max(values), "mean": float(np.mean(values)),
                         "met_all_seeds": all(r["met"] for r in runs) if row["scored"] else None}
    if "classify" in row:
        row["classify"] = summarise_classify(runs)
        row["suite_role"] = "classify"
    if any(r.get("time_to_good") for r in runs):
        row["time_to_good"] = ttg.summarise(runs)
        row["time_to_good_per_seed"] = {str(r["seed"]): r["time_to_good"] for r in runs if r.get("time_to_good")}
    if "suite" in row:
        row["suite_role"] = CASES[row["key"]].suite_role
        row["suite"] = summarise_suite(runs)
        row["suite_per_seed"] = {str(r["seed"]): r["suite"] for r in runs}
    return row


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def versions() -> str:
    """The Keras backend in use and the library versions behind it."""
    import importlib.metadata as md

    from seqcore.modeling.training import backend_name

    backend = backend_name()
    names = ["keras", "jax" if backend == "jax" else "tensorflow", "numpy"]
    found = []
    for n in names:
        try:
            found.append(f"{n} {md.version(n)}")
        except md.PackageNotFoundError:
            pass
    return f"Keras backend {backend} ({', '.join(found)}, Python {platform.python_version()})"


def table_markdown(rows: list[dict], preset: str, seeds: list[int]) -> str:
    """The whole accuracy block: the forecasting suite table (rows with "suite") with its goal lines, then the
    table of the other datasets against their targets, then every case's protocol and baselines."""
    multi = len(seeds) > 1
    suite = [r for r in rows if "suite" in r]
    classify = [r for r in rows if "classify" in r]
    other = [r for r in rows if "suite" not in r and "classify" not in r]
    lines = [
        f"Preset `{preset}`, seeds {' '.join(map(str, seeds))}; forecasting: the app's data-fitted defaults "
        "(`seqcore.data.defaults`, roles from `understand`); classification and text: roles from `suggest_roles`; "
        f"{versions()}; {platform.machine()}, {os.cpu_count()} CPU cores shared with other work "
        "(timings are noisy).",
        "",
    ]
    if suite:
        lines += ["### Forecasting suite", "", suite_markdown(suite), ""]
    if classify:
        lines += ["### Classification suite", "", classify_markdown(classify, preset), ""]
    if other:
        lines += (["### Other datasets", ""] if suite or classify else []) + [
            "| dataset | metric | ours | best baseline (ours, same split) | published | target | met? "
            + ("| seeds " + " / ".join(map(str, seeds)) + " " if multi else "") + "| fit s / wall s | epochs (best) |",
            "|---|---|---|---|---|---|---" + ("|---" if multi else "") + "|---|---|",
        ]
    for r in other:
        pub = "; ".join(f"{k} {v:.3f}" for k, v in r["published"].items()) or "-"
        best = f"{r['best_baseline']} {_fmt(r['best_baseline_value'])}" if r["best_baseline"] else "-"
        if r.get("seasonal_naive_published_protocol") is not None:
            best += f" (seasonal naive, h=1..36 from one origin: {_fmt(r['seasonal_naive_published_protocol'])})"
        met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
        spread = ""
        if multi:
            spread = "| " + " / ".join(_fmt(r["seeds"].get(str(s))) for s in seeds) + " "
        lines.append(f"| {r['title']} | {r['metric'].upper()} | {_fmt(r['ours'])} | {best} | {pub} | "
                     f"{r['target']} | {met} {spread}| {r['train_seconds']:.1f} / {r['wall_seconds']:.0f} | "
                     f"{r['epochs_run']} ({r['best_epoch']}) |")
    if other:
        lines += ["", "fit s: `model.fit` only (both passes when there is a final fit); wall s: the whole "
                  "`run_training` call (parsing, preparing, compiling, training, evaluating, saving the bundle), "
                  "first seed."]
    good = ttg.markdown(rows)
    if good:
        lines += ["", "### Time to a good model", "", good]
    lines += ["", "Protocols and every baseline on the same split (first seed):", ""]
    for r in rows:
        parts = ", ".join(f"{k} {_fmt(v)}" for k, v in r["baselines"].items())
        extra = ""
        if r.get("horizon") is not None:
            extra = (f"; window {r['window']}, horizon {r['horizon']}, season {r['season']}, "
                     f"log scale {'on' if r.get('log_transform') else 'off'}, "
                     f"MAE / naive MAE {_fmt(r.get('mae_vs_naive'))}, fit {r['train_seconds']:.1f} s, "
                     f"wall {r['wall_seconds']:.0f} s")
        lines.append(f"- {r['title']}: {r['protocol']}{extra}. Baselines ({r['metric'].upper()}): {parts}.")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- accuracy:begin (written by bench/accuracy.py --update-results) -->", "<!-- accuracy:end -->"
#: the classification block (the classification suite and the text case), after the forecasting one
CLASSIFY_BEGIN = "<!-- accuracy-classify:begin (written by bench/accuracy.py --update-results) -->"
CLASSIFY_END = "<!-- accuracy-classify:end -->"


def block_of(key: str) -> str:
    """"classify" for the cases of the classification block of RESULTS.md, else "forecast"."""
    return "classify" if key in CLASSIFY_BLOCK else "forecast"


def update_classify_section(markdown: str, path: Path = RESULTS) -> bool:
    """Put ``markdown`` between the classification markers of ``path`` (the rest of the file kept); a first
    block goes right after the forecasting block's end marker. False (nothing changed) without the file or
    either place."""
    if not path.exists():
        return False
    text = path.read_text()
    block = marked(CLASSIFY_BEGIN, CLASSIFY_END, markdown.rstrip())
    replaced = replace_marked(text, CLASSIFY_BEGIN, CLASSIFY_END, block)
    if replaced is None:
        if END not in text:
            return False
        head, rest = text.split(END, 1)
        replaced = head + END + "\n\n" + block + rest
    path.write_text(replaced)
    return True


def update_results_section(markdown: str, path: Path = RESULTS) -> bool:
    """Put ``markdown`` into the "## Accuracy" section of ``path``: between the accuracy markers when
    they are there (the text around them is kept), else in place of the section's body (up to the next
    "## " heading), inside new markers. Returns False (and changes nothing) without the file or heading."""
    if not path.exists():
        return False
    text = path.read_text()
    block = marked(BEGIN, END, markdown.rstrip())
    replaced = replace_marked(text, BEGIN, END, block)
    if replaced is not None:
        path.write_text(replaced)
        return True
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "## Accuracy"), None)
    if start is None:
        return False
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    path.write_text("".join(lines[: start + 1]) + "\n" + block + "\n\n" + "".join(lines[end:]))
    return True


def command_line(args) -> str:
    """The command that reproduces this run (printed under the table)."""
    parts = ["python bench/accuracy.py"]
    if args.only:
        parts.append("--only " + " ".join(args.only))
    if args.quick:
        parts.append("--quick")
    elif args.preset != DEFAULT_PRESET:
        parts.append(f"--preset {args.preset}")
    if args.seeds != [SEED]:
        parts.append("--seeds " + " ".join(map(str, args.seeds)))
    if args.backtest != (0 if args.quick else BACKTEST):
        parts.append(f"--backtest {args.backtest}")
    if args.stat_budget is not None:
        parts.append(f"--stat-budget {args.stat_budget:g}")
    if args.dtw_budget != DTW_BUDGET_S:
        parts.append(f"--dtw-budget {args.dtw_budget:g}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", choices=list(CASES) + list(GROUPS),
                    help="datasets to run (default: all); 'forecast' names the whole forecasting suite, "
                         "'classify' the classification suite and the text case")
    ap.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS),
                    help="training preset (default: the app's default)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help=f"seeds to train with (default {SEED}); the suite reports mean ± sd over them")
    ap.add_argument("--backtest", type=int, default=None,
                    help=f"rolling-origin folds for the forecasting suite, first seed only, where the app "
                         f"supports them (default {BACKTEST}; 0 = off; --quick: 0)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: quick preset, at most {QUICK_EPOCHS} epochs, one seed, no backtest, "
                         f"{QUICK_STAT_BUDGET_S:.0f} s per statistical model (never written to RESULTS.md)")
    ap.add_argument("--stat-budget", type=float, default=None, metavar="S",
                    help=f"seconds each statistical model may take, in the runs and here (default: the app's "
                         f"{STAT_BUDGET_S:g} s; a loaded machine can skip AutoARIMA on a long season within it, "
                         f"which leaves the comparison without it)")
    ap.add_argument("--dtw-budget", type=float, default=DTW_BUDGET_S, metavar="S",
                    help=f"seconds for 1-NN DTW computed here where a run's own was cut or skipped by the app's "
                         f"time budget (default {DTW_BUDGET_S:g}; once per set, not per seed)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for accuracy*.json / .md (default bench/out)")
    ap.add_argument("--threads", type=int, default=None, help="TensorFlow threads (default: all cores)")
    ap.add_argument("--update-results", action="store_true",
                    help='rewrite the "## Accuracy" section of bench/RESULTS.md')
    args = ap.parse_args(argv)
    if args.quick:
        args.preset = "quick"
    args.seeds = args.seeds or [SEED]
    if args.backtest is None:
        args.backtest = 0 if args.quick else BACKTEST
    if args.stat_budget is not None:   # the runs' own baselines (metrics.json) read it from the environment
        os.environ["SEQSTUDIO_STAT_BUDGET"] = f"{args.stat_budget:g}"
    keys = list(dict.fromkeys(k for o in (args.only or list(CASES)) for k in GROUPS.get(o, [o])))
    missing = [str(CASES[k].data_dir / f) for k in keys for f in (CASES[k].train_file, CASES[k].test_file)
               if f and CASES[k].data_dir != SYNTH_DIR and not (CASES[k].data_dir / f).is_file()]
    if missing:
        print(f"error: {len(missing)} data file(s) not found, e.g. {missing[0]}. The forecasting suite reads "
              "../shared/datasets beside the checkout; set SEQSTUDIO_SHARED_DATASETS to that folder elsewhere, "
              "or leave those sets out with --only.", file=sys.stderr)
        return 1
    from seqcore.pipeline import configure_threads

    configure_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    stat_cache: dict = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            case = CASES[key]
            if case.data_dir == SYNTH_DIR:   # a generated set: written (deterministically, seed 0) into tmp
                write_synth(key, Path(tmp) / "synth")
                case = replace(case, data_dir=Path(tmp) / "synth")
            runs = []
            for i, seed in enumerate(args.seeds):
                bt = args.backtest if i == 0 and key in SUITE and backtest_supported() else 0
                print(f"[{case.key}] training ({args.preset}, seed {seed}"
                      + (f", backtest {bt} folds" if bt else "") + ") ...", flush=True)
                kw = dict(max_epochs=QUICK_EPOCHS if args.quick else None, stat_cache=stat_cache,
                          dtw_budget_s=min(args.dtw_budget, QUICK_DTW_BUDGET_S) if args.quick else args.dtw_budget,
                          stat_budget_s=QUICK_STAT_BUDGET_S if args.quick else (args.stat_budget or STAT_BUDGET_S))
                try:
                    r = run_case(case, args.preset, Path(tmp), seed, backtest=bt, **kw)
                except UserError as err:
                    if not bt:
                        raise
                    # the app refuses a backtest here (too short a series): the run without it, and why
                    print(f"[{case.key}] no backtest: {err}", flush=True)
                    r = run_case(case, args.preset, Path(tmp), seed, **kw)
                    r["backtest_note"] = str(err)
                runs.append(r)
                verdict = "" if r["met"] is None else ("target met" if r["met"] else "target MISSED")
                print(f"[{case.key}] {case.metric} {_fmt(r['ours'])} (best baseline {r['best_baseline']} "
                      f"{_fmt(r['best_baseline_value'])}; target {case.target_text}) {verdict}; "
                      f"training {r['train_seconds']:.1f} s ({r['wall_seconds']:.0f} s in all), "
                      f"{r['epochs_run']} epochs (best {r['best_epoch']})", flush=True)
                if "classify" in r:
                    c = r["classify"]
                    print(f"[{case.key}] 1-NN Euclidean {_fmt(c['euclid'])}, 1-NN DTW {_fmt(c['dtw'])} "
                          f"(window {_fmt(c['dtw_window'], 2)}, {c['dtw_source']}), majority {_fmt(c['majority'])}",
                          flush=True)
                if r.get("time_to_good"):
                    print(ttg.line(case.key, r["time_to_good"]), flush=True)
                if "suite" in r:
                    st = {k: v.get("mase") for k, v in r["suite"]["stats"].items()}
                    print(f"[{case.key}] MASE {_fmt(r['suite']['mase'])}; statistical ({r['suite']['stats_source']}): "
                          + (", ".join(f"{k} {_fmt(v)}" for k, v in st.items()) or "none"), flush=True)
            rows.append(summarise(runs))
    wall = time.perf_counter() - t_all
    tail = f"\nTotal wall time {wall:.0f} s. Reproduce: `{command_line(args)}`.\n"
    blocks = {}   # "forecast" / "classify" -> the markdown of that block of RESULTS.md
    for name in ("forecast", "classify"):
        part = [r for r in rows if block_of(r["key"]) == name]
        if part:
            blocks[name] = table_markdown(part, args.preset, args.seeds) + tail
    md = "\n".join(blocks.values())
    print()
    print(md)
    suffix = "" if args.preset == DEFAULT_PRESET and not args.only else f"_{args.preset}" + (
        "_" + "_".join(args.only) if args.only else "")
    meta = {"preset": args.preset, "seeds": args.seeds, "backtest": args.backtest, "quick": args.quick,
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "wall_seconds": round(wall, 1), "command": command_line(args), "rows": rows}
    (args.out / f"accuracy{suffix}.json").write_text(json.dumps(meta, indent=1, default=str))
    (args.out / f"accuracy{suffix}.md").write_text(md)
    if args.update_results:
        if args.quick:
            print("--quick is a smoke run: bench/RESULTS.md was left as it is.")
        else:   # each block replaced on its own: a forecasting-only run keeps the classification rows
            for name, text in blocks.items():
                done = (update_results_section if name == "forecast" else update_classify_section)(text)
                if done:
                    print(f"updated the {name} block of the Accuracy section of {RESULTS}")
                else:
                    print(f"{RESULTS} or its '## Accuracy' heading is missing; the table is in "
                          f"{args.out / f'accuracy{suffix}.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
