"""Speed benchmark: Sequence Studio's training path beside plain Keras and plain PyTorch, plus scale,
first-loss latency and live-chart cost. Prints a table and writes ``bench/out/speed.json``.

This machine is small and shared, so every ratio is measured side by side in one run: the engines of a
workload each live in their own process and train their epochs in turn, one at a time, round by round
(the two Figure 1 engines first, back to back, swapping places every round; see :func:`round_order`).
Medians leave out the first epoch (it pays start-up and compilation); Figure 1 is the median of the
per-round ratios of the two engines' back-to-back epochs (see :func:`ratios`).

Usage::

    python bench/speed.py              # everything (about 15-20 minutes on 2 cores)
    python bench/speed.py --quick      # W1 at 20k windows, W3 at 200k rows, latency, chart (a few minutes)
    python bench/speed.py --only w2 chart --quick --no-torch   # Figure 1 on W2 batch 32 + Figure 5 (~2 min)
    python bench/speed.py --only w1 latency --epochs 4
    python bench/speed.py --smoke      # the smallest piece, for the test suite (seconds)
    python bench/speed.py --no-leads --update-results   # the run recorded in bench/RESULTS.md
    python bench/speed.py --from-json bench/out/speed.json --update-results   # re-render a recorded run

Workloads: W1 univariate forecasting (50,048 rows -> 50,000 windows, window 48, LSTM 64 -> Dense, Adam,
MSE, batch 32 and 256); W2 the same with GRU and 8 input features; W3 a 1,000,000 x 8 CSV parsed,
validated, windowed and trained one capped epoch. PyTorch is optional (``pip install -r
bench/requirements.txt``); without it the PyTorch column is skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.results_block import marked, replace_marked  # noqa: E402

OUT = HERE / "out"
ENGINE = HERE / "speed_engines.py"

FIG1_TARGET = 0.95   # app path / plain model.fit
FIG2_TARGET = 1.0    # our default / plain PyTorch, batch 32
FIG3_TARGET = 2.0    # seconds to the first loss point, warm worker
FIG4_SECONDS, FIG4_RSS_MB = 10.0, 2048.0


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def have_jax() -> bool:
    return importlib.util.find_spec("jax") is not None and importlib.util.find_spec("jaxlib") is not None


# --------------------------------------------------------------------------- epoch races

class Engine:
    """One engine process of a race (see ``speed_engines.py``)."""

    def __init__(self, name: str, cfg: dict, log_dir: Path):
        self.name, self.cfg = name, cfg
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(log_dir / f"{name.replace(' ', '_').replace('/', '_')}.log", "w")
        self.proc = subprocess.Popen([sys.executable, str(ENGINE), json.dumps(cfg)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1,
                                     cwd=str(ROOT))
        self.info: dict = {}
        self.epochs: list[float] = []
        self.cpu: list[float | None] = []     # CPU seconds of the engine process per epoch (all threads)
        self.extra: list[dict] = []

    def _read(self, tag: str) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(5)
                raise RuntimeError(f"engine {self.name!r} exited (code {self.proc.returncode}); "
                                   f"see {self.log.name}")
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1:])

    def ready(self) -> None:
        self.info = self._read("READY")

    def epoch(self) -> float:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        msg = self._read("EPOCH")
        self.epochs.append(msg["seconds"])
        self.cpu.append(msg.get("cpu_seconds"))
        self.extra.append(msg)
        return msg["seconds"]

    def finish(self) -> None:
        try:
            self.info.update(self._read("DONE"))
        finally:
            self.proc.wait(60)
            self.log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()

    def summary(self) -> dict:
        later = self.epochs[1:] or self.epochs
        med = statistics.median(later)
        out = {"name": self.name, "config": self.cfg, "info": self.info, "epoch_s": [round(e, 3) for e in self.epochs],
               "median_epoch_s": round(med, 3), "windows_per_s": round(self.info.get("windows", 0) / med, 1)}
        if self.cpu and all(c is not None for c in self.cpu):
            out["cpu_s"] = [round(c, 3) for c in self.cpu]
            out["median_cpu_s"] = round(statistics.median(self.cpu[1:] or self.cpu), 3)
        return out


PAIR = ("ours (default)", "plain keras fit")   # the engines of Figure 1


def round_order(names: list[str], r: int, pair: tuple[str, str] = PAIR) -> list[str]:
    """The order engines train in round ``r``. The two Figure 1 engines go first, back to back, and swap
    places every round (A B | B A | A B ...), so each follows the other as often as it follows a third
    engine and the ratio of their adjacent epochs sees the same machine load; the other engines follow,
    rotating among themselves. Without the pair in ``names``, all engines rotate."""
    if not all(n in names for n in pair):
        k = r % len(names)
        return names[k:] + names[:k]
    first = list(pair) if r % 2 == 0 else list(pair[::-1])
    rest = [n for n in names if n not in pair]
    if rest:
        k = r % len(rest)
        rest = rest[k:] + rest[:k]
    return first + rest


def race(title: str, engines: dict[str, dict], epochs: int, log_dir: Path) -> dict:
    """Start every engine, then run epoch 1 of each in turn, epoch 2 of each, ... (see :func:`round_order`).
    Returns per-engine epochs (wall and CPU seconds) and medians of epochs 2..N."""
    print(f"\n[{title}] {', '.join(engines)}: {epochs} epochs each, interleaved", flush=True)
    started: list[Engine] = []
    try:
        for name, cfg in engines.items():
            started.append(Engine(name, dict(cfg, epochs=epochs), log_dir))
        for e in started:
            e.ready()
        by_name = {e.name: e for e in started}
        for r in range(epochs):
            for name in round_order(list(by_name), r):
                e = by_name[name]
                sec = e.epoch()
                cpu = e.cpu[-1]
                print(f"  epoch {r + 1} {e.name:<28} {sec:7.2f} s" + (f"  (CPU {cpu:6.2f} s)" if cpu is not None else ""),
                      flush=True)
        for e in started:
            e.finish()
    except BaseException:
        for e in started:
            e.kill()
        raise
    return {"title": title, "engines": {e.name: e.summary() for e in started}}


def w1_cfg(**kw) -> dict:
    return {"cell": "lstm", "features": 1, **kw}


def w2_cfg(**kw) -> dict:
    return {"cell": "gru", "features": 8, **kw}


def race_engines(base: dict, batch: int, *, leads: bool, torch_ok: bool, torch_default: bool = True
                 ) -> dict[str, dict]:
    """The engines of one workload race: ours (the app's default), plain Keras, PyTorch, and the leads."""
    eng = {
        "ours (default)": dict(base, kind="seqcore", batch=batch),
        "plain keras fit": dict(base, kind="keras", batch=batch),
    }
    if torch_ok:
        if torch_default:
            eng["pytorch"] = dict(base, kind="torch", batch=batch)
        eng["pytorch 1 thread"] = dict(base, kind="torch", batch=batch, threads=1)
    if leads:
        eng["ours tf"] = dict(base, kind="seqcore", batch=batch, backend="tensorflow", jit=False)
        eng["ours tf xla"] = dict(base, kind="seqcore", batch=batch, backend="tensorflow", jit=True)
        eng["ours tf xla spe16"] = dict(base, kind="seqcore", batch=batch, backend="tensorflow", jit=True, spe=16)
        if have_jax():
            eng["ours jax spe8"] = dict(base, kind="seqcore", batch=batch, backend="jax", spe=8)
    return eng


def paired_ratio(slow: list[float], fast: list[float]) -> float | None:
    """Median over epochs 2..N of ``slow[i] / fast[i]`` (epochs of the same round, run back to back)."""
    pairs = [(a, b) for a, b in list(zip(slow, fast))[1:] if a is not None and b]
    if not pairs:
        return None
    return round(statistics.median(a / b for a, b in pairs), 3)


def ratios(result: dict) -> dict:
    """Figure 1 (ours / plain fit) and Figure 2 (ours / fastest PyTorch) as throughput ratios.

    Figure 1 is the median of the per-round ratios of the two engines' adjacent epochs (plain fit's
    epoch / ours, rounds 2..N): on a shared machine the load drifts between rounds, and a ratio of two
    medians can pair one engine's calm round with the other's busy one. Also kept: the ratio of the
    medians (``fig1_ratio_of_medians``, the definition before) and the same paired ratio in CPU seconds of
    the engine processes (``fig1_cpu``: what each engine spent, less disturbed by other work)."""
    e = result["engines"]
    out = {}
    ours = e["ours (default)"]["median_epoch_s"]
    plain = e["plain keras fit"]
    out["fig1_ratio_of_medians"] = round(plain["median_epoch_s"] / ours, 3)
    paired = paired_ratio(plain["epoch_s"], e["ours (default)"]["epoch_s"])
    out["fig1_ours_over_plain_fit"] = paired if paired is not None else out["fig1_ratio_of_medians"]
    if "cpu_s" in plain and "cpu_s" in e["ours (default)"]:
        out["fig1_cpu"] = paired_ratio(plain["cpu_s"], e["ours (default)"]["cpu_s"])
    torch_names = [n for n in e if n.startswith("pytorch")]
    if torch_names:
        best = min(torch_names, key=lambda n: e[n]["median_epoch_s"])
        out["fig2_ours_over_pytorch"] = round(e[best]["median_epoch_s"] / ours, 3)
        out["fig2_pytorch_engine"] = best
        if "pytorch" in e:
            out["fig2_ours_over_pytorch_default_threads"] = round(e["pytorch"]["median_epoch_s"] / ours, 3)
    return out


TORCH_DEFAULT_NOT_RACED = "PyTorch with its default threads not raced (it races only with --torch-default-threads)"


def torch_note(race_result: dict) -> str | None:
    """What a race says about the PyTorch engines it lacks: the default-threads engine when only the
    1-thread one raced, else why PyTorch did not race at all (stored by :func:`main`)."""
    names = race_result["engines"]
    if any(n.startswith("pytorch") for n in names):
        return None if "pytorch" in names else TORCH_DEFAULT_NOT_RACED
    return race_result.get("torch_note")


# --------------------------------------------------------------------------- environment

def machine() -> dict:
    import psutil

    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "load_avg_start": os.getloadavg()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("tensorflow", "keras", "jax", "jaxlib", "torch", "numpy", "pandas", "plotly"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = None
    from seqcore.modeling.training import backend_name

    info["default_backend"] = backend_name()
    return info


# --------------------------------------------------------------------------- report

def _fmt_ratio(v, target) -> str:
    if v is None:
        return "-"
    return f"{v:.2f} ({'met' if v >= target else 'MISSED'} >= {target:g})"


def print_table(res: dict) -> None:
    print("\n" + "=" * 100)
    m = res["machine"]
    print(f"Machine: {m.get('cpu', '?')}, {m['cores']} cores; Keras {m['keras']}, TF {m['tensorflow']}, "
          f"JAX {m['jax']}, torch {m['torch']}; default backend: {m['default_backend']}")
    for r in res.get("races", []):
        print(f"\n{r['title']}")
        print(f"  {'engine':<28}{'median epoch s':>16}{'median CPU s':>14}{'windows/s':>12}  backend")
        for name, s in r["engines"].items():
            info = s["info"]
            be = info.get("backend", "?") + (" +xla" if info.get("jit") and info.get("backend") == "tensorflow" else "")
            if s["config"].get("spe", 1) > 1:
                be += f" spe{s['config']['spe']}"
            cpu = f"{s['median_cpu_s']:>14.3f}" if "median_cpu_s" in s else f"{'-':>14}"
            print(f"  {name:<28}{s['median_epoch_s']:>16.3f}{cpu}{s['windows_per_s']:>12.0f}  {be}")
        rt = r.get("ratios", {})
        print(f"  Figure 1 ours / plain model.fit: {_fmt_ratio(rt.get('fig1_ours_over_plain_fit'), FIG1_TARGET)} "
              f"(median of per-round ratios); ratio of medians {rt.get('fig1_ratio_of_medians', float('nan')):.2f}"
              + (f"; in CPU seconds {rt['fig1_cpu']:.2f}" if rt.get("fig1_cpu") is not None else ""))
        if "fig2_ours_over_pytorch" in rt:
            dflt = rt.get("fig2_ours_over_pytorch_default_threads")
            print(f"  Figure 2 ours / fastest PyTorch ({rt['fig2_pytorch_engine']}): "
                  f"{_fmt_ratio(rt['fig2_ours_over_pytorch'], FIG2_TARGET)}"
                  + (f"; / PyTorch default threads: {dflt:.2f}" if dflt is not None else ""))
        if torch_note(r):
            print(f"  Note: {torch_note(r)}")
    if "worker" in res:
        w = res["worker"]
        print(f"\nFigure 1 through a real worker process (W1, progress into the store): "
              f"{w['windows_per_s']:.0f} windows/s vs plain model.fit {w['plain_windows_per_s']:.0f} windows/s "
              f"-> {w['ratio']:.2f} (runs one after the other, not interleaved)")
    if "latency" in res:
        lat = res["latency"]
        print(f"\nFigure 3 first loss point after submit (medians; warm = a worker with the backend imported):\n"
              f"  warm, new shapes, no prepare hint   {lat['warm_median_s']:6.2f} s  runs {lat['warm_s']}\n"
              f"  warm, new shapes, hint {lat.get('hint_gap_s', 0):g} s before  "
              f"{lat.get('warm_hint_median_s', float('nan')):6.2f} s  runs {lat.get('warm_hint_s')} "
              f"(prewarm at submit: {lat.get('warm_hint_prewarm')})\n"
              f"  warm, new shapes, hint done before  {lat.get('warm_hint_ready_median_s', float('nan')):6.2f} s  "
              f"runs {lat.get('warm_hint_ready_s')}\n"
              f"  warm, rerun of a spec seen before   {lat['warm_rerun_median_s']:6.2f} s  runs {lat['warm_rerun_s']}\n"
              f"  cold (supervisor + worker start)    {lat['cold_s']:6.2f} s\n"
              f"  target warm <= {FIG3_TARGET:g} s: "
              + ", ".join(f"{label} {'met' if lat.get(k, float('inf')) <= FIG3_TARGET else 'MISSED'}"
                          for label, k in (("new shapes", "warm_median_s"), ("with hint", "warm_hint_median_s"),
                                           ("rerun", "warm_rerun_median_s"))))
    if "scale" in res:
        s = res["scale"]
        print(f"\nW3 scale: {s['rows']:,} rows x {s['columns']} columns ({s['csv_mb']} MB), backend {s.get('backend', '-')}")
        for k, v in s["stages"].items():
            print(f"  {k:<14}{v['seconds']:>9.2f} s   peak RSS {v['peak_rss_mb']:>8.0f} MB")
        ok = s["parse_validate_window_s"] <= FIG4_SECONDS and s["parse_validate_window_peak_rss_mb"] <= FIG4_RSS_MB
        train = (f"; {s['train_batches']} training batches in {s['stages']['train_capped']['seconds']:.1f} s "
                 "(incl. backend import, build and compile)") if "train_capped" in s["stages"] else ""
        print(f"  Figure 4 parse+validate+window {s['parse_validate_window_s']:.2f} s, peak RSS "
              f"{s['parse_validate_window_peak_rss_mb']:.0f} MB (targets <= {FIG4_SECONDS:g} s, <= {FIG4_RSS_MB:g} MB): "
              f"{'met' if ok else 'MISSED'}{train}")
    if "chart" in res:
        print("\nFigure 5 live chart: read history + loss_figure + to_json per redraw")
        for c in res["chart"]:
            cpu = f" (CPU {c['cpu_ms_per_redraw']:6.1f} ms)" if "cpu_ms_per_redraw" in c else ""
            print(f"  {c['points']:>7,} points, {c.get('read', 'whole history'):<34} {c['mode']:<28}"
                  f"{c['ms_per_redraw']:>8.1f} ms{cpu} {c['bytes'] / 1024:>9.0f} KB")
    print("=" * 100)


# --------------------------------------------------------------------------- RESULTS.md

RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- speed:begin (written by bench/speed.py --update-results) -->", "<!-- speed:end -->"


def results_markdown(res: dict) -> str:
    """The measured part of RESULTS.md's speed section, as markdown tables."""
    m = res["machine"]
    lines = [f"Run {res['started']} ({res['mode']} mode, {res['seconds']:.0f} s): {m.get('cpu', '?')}, {m['cores']} cores, "
             f"{m['memory_gb']} GB; Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}, "
             f"JAX {m['jax']}, PyTorch {m['torch']}, NumPy {m['numpy']}, pandas {m['pandas']}. Default backend: "
             f"**{m['default_backend']}**. Load average at start {m['load_avg_start'][0]:.1f}, at end "
             f"{m['load_avg_end'][0]:.1f} (other work shares this machine).", ""]
    if res.get("command"):
        lines += [f"Command: `{res['command']}`.", ""]
    for r in res.get("races", []):
        lines += [f"**{r['title']}**, median of epochs 2-{res['epochs']}, engines interleaved epoch by epoch:", "",
                  "| engine | backend | median epoch (s) | median CPU (s) | windows/s | epochs (s) |",
                  "|---|---|---:|---:|---:|---|"]
        for name, e in r["engines"].items():
            info = e["info"]
            be = info.get("backend", "?") + (" + XLA" if info.get("jit") and info.get("backend") == "tensorflow" else "")
            if e["config"].get("spe", 1) > 1:
                be += f", steps_per_execution {e['config']['spe']}"
            if e["config"].get("kind") == "torch":
                be += f", {info.get('threads')} thread(s)"
            cpu = f"{e['median_cpu_s']:.2f}" if "median_cpu_s" in e else "-"
            lines.append(f"| {name} | {be} | {e['median_epoch_s']:.2f} | {cpu} | {e['windows_per_s']:,.0f} | "
                         f"{', '.join(f'{x:.2f}' for x in e['epoch_s'])} |")
        rt = r.get("ratios", {})
        fig = [f"Figure 1, ours / plain model.fit: **{rt['fig1_ours_over_plain_fit']:.2f}** (target >= {FIG1_TARGET}; "
               "median of the per-round ratios of back-to-back epochs"
               + (f"; ratio of the medians {rt['fig1_ratio_of_medians']:.2f}" if "fig1_ratio_of_medians" in rt else "")
               + (f"; in CPU seconds {rt['fig1_cpu']:.2f}" if rt.get("fig1_cpu") is not None else "") + ")"]
        if "fig2_ours_over_pytorch" in rt:
            fig.append(f"Figure 2, ours / fastest PyTorch ({rt['fig2_pytorch_engine']}): "
                       f"**{rt['fig2_ours_over_pytorch']:.2f}** (target >= {FIG2_TARGET:g} at batch 32)")
        lines += ["", "; ".join(fig) + "." + (f" {torch_note(r)}." if torch_note(r) else ""), ""]
    if "worker" in res:
        w = res["worker"]
        lines += [f"**Figure 1 through a real worker** (W1 submitted to the runner, progress streamed into the store, "
                  f"{w['batch_points']} batch points): {w['windows_per_s']:,.0f} windows/s (epochs "
                  f"{', '.join(f'{x:.2f}' for x in w['epoch_s'])} s over {w['windows']:,} windows) vs plain model.fit "
                  f"{w['plain_windows_per_s']:,.0f} windows/s: **{w['ratio']:.2f}** (not interleaved).", ""]
    if "latency" in res:
        lat = res["latency"]
        lines += [f"**Figure 3, submit -> first loss point in the store** (medians of {len(lat['warm_s'])} runs; warm = "
                  f"a worker with the backend imported; target warm <= {FIG3_TARGET:g} s):", "",
                  "| case | first loss point | runs | submit -> finished |", "|---|---:|---|---|",
                  f"| warm, new shapes, no prepare hint | **{lat['warm_median_s']:.2f} s** | {lat['warm_s']} | "
                  f"{lat.get('warm_total_s')} |",
                  f"| warm, new shapes, the app's prepare hint {lat.get('hint_gap_s', 0):g} s before Start | "
                  f"**{lat.get('warm_hint_median_s', float('nan')):.2f} s** | {lat.get('warm_hint_s')} | "
                  f"{lat.get('warm_hint_total_s')} |",
                  f"| warm, new shapes, hint long enough before (prewarm done) | "
                  f"**{lat.get('warm_hint_ready_median_s', float('nan')):.2f} s** | {lat.get('warm_hint_ready_s')} | "
                  f"{lat.get('warm_hint_ready_total_s')} |",
                  f"| warm, rerun of a spec seen before (no hint) | **{lat['warm_rerun_median_s']:.2f} s** | "
                  f"{lat['warm_rerun_s']} | {lat.get('warm_rerun_total_s')} |",
                  f"| cold (supervisor + worker start) | {lat['cold_s']:.2f} s | | |", "",
                  f"Prewarm state when Start was pressed {lat.get('hint_gap_s', 0):g} s after the hint: "
                  f"{lat.get('warm_hint_prewarm')}.", ""]
    if "scale" in res:
        sc = res["scale"]
        lines += [f"**W3 / Figure 4**: {sc['rows']:,} rows x {sc['columns']} columns ({sc['csv_mb']} MB CSV), "
                  f"{sc['windows']['train']:,} training windows; backend {sc.get('backend', '-')}.", "",
                  "| stage | seconds | peak RSS (MB) |", "|---|---:|---:|"]
        for k, v in sc["stages"].items():
            lines.append(f"| {k} | {v['seconds']:.2f} | {v['peak_rss_mb']:,.0f} |")
        lines += ["", f"Parse + validate + window: **{sc['parse_validate_window_s']:.2f} s**, peak RSS "
                      f"**{sc['parse_validate_window_peak_rss_mb']:,.0f} MB** (targets <= {FIG4_SECONDS:g} s, "
                      f"<= {FIG4_RSS_MB:,.0f} MB)." + (f" The capped epoch ({sc['train_batches']} batches) includes the "
                                                        "backend import, model build and compilation."
                                                        if "train_capped" in sc["stages"] else ""), ""]
    if "chart" in res:
        lines += ["**Figure 5, live chart** (per redraw: read history from the store + `loss_figure` + `to_json`; "
                  "live redraw: one new point written, then `RunStore.history_columns` reads only the new points; "
                  "first draw: the whole history read as columns; Progress objects: `read_history`, everything "
                  "again each time):", "",
                  "| points in the run | history read | curves | ms per redraw | CPU ms | bytes sent |",
                  "|---:|---|---|---:|---:|---:|"]
        for c in res["chart"]:
            cpu = f"{c['cpu_ms_per_redraw']:.1f}" if "cpu_ms_per_redraw" in c else "-"
            lines.append(f"| {c['points']:,} | {c.get('read', 'whole history')} | {c['mode']} | "
                         f"{c['ms_per_redraw']:.1f} | {cpu} | {c['bytes']:,} |")
        lines.append("")
    return "\n".join(lines)


def update_results(res: dict, path: Path = RESULTS) -> None:
    """Replace the generated block of RESULTS.md (between the speed markers); everything else is kept."""
    text = path.read_text() if path.exists() else ""
    block = marked(BEGIN, END, results_markdown(res))
    replaced = replace_marked(text, BEGIN, END, block)
    if replaced is not None:
        text = replaced
    elif "## Accuracy" in text:
        head, tail = text.split("## Accuracy", 1)
        text = head + block + "\n\n## Accuracy" + tail
    else:
        text = text + "\n" + block + "\n\n## Accuracy\n"
    path.write_text(text)


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="races at batch 32 over 20,000 windows, 5 epochs; W3 at 200k rows (a few minutes)")
    ap.add_argument("--smoke", action="store_true", help="the smallest piece: a tiny race, W3 at 20k rows, chart")
    ap.add_argument("--only", nargs="*", choices=["w1", "w2", "worker", "latency", "scale", "chart"])
    ap.add_argument("--epochs", type=int, default=None, help="epochs per engine in a race (default 5; quick 5)")
    ap.add_argument("--no-torch", action="store_true", help="race without PyTorch (Figure 1 only, faster)")
    ap.add_argument("--rows", type=int, default=None, help="W1/W2 rows (default 50,048)")
    ap.add_argument("--scale-rows", type=int, default=None, help="W3 rows (default 1,000,000)")
    ap.add_argument("--batches", type=int, default=200, help="W3: training batches in the capped epoch")
    ap.add_argument("--no-leads", action="store_true", help="skip the alternative configurations in W1 batch 32")
    ap.add_argument("--torch-default-threads", action="store_true",
                    help="race PyTorch with its default threads even on a busy machine")
    ap.add_argument("--update-results", action="store_true", help="rewrite the measured block of bench/RESULTS.md")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="only print the table (and --update-results) from a speed.json written before")
    ap.add_argument("--out", type=Path, default=OUT / "speed.json")
    args = ap.parse_args(argv)
    if args.from_json:
        res = json.loads(args.from_json.read_text())
        print_table(res)
        if args.update_results:
            update_results(res)
        return 0

    if args.smoke:
        rows, scale_rows, epochs, parts = args.rows or 1_048, args.scale_rows or 20_000, args.epochs or 2, \
            args.only or ["w1", "scale", "chart"]
    elif args.quick:
        rows, scale_rows, epochs, parts = args.rows or 20_048, args.scale_rows or 200_000, args.epochs or 5, \
            args.only or ["w1", "latency", "scale", "chart"]
    else:
        rows, scale_rows, epochs, parts = args.rows or 50_048, args.scale_rows or 1_000_000, args.epochs or 5, \
            args.only or ["w1", "w2", "worker", "latency", "scale", "chart"]
    torch_ok = have_torch() and not (args.smoke or args.no_torch)
    # seqcore's compiled-step cache (JAX) for the engines: kept out of the user's data folder
    os.environ.setdefault("SEQSTUDIO_COMPILE_CACHE", str(args.out.parent / "xla-cache"))
    log_dir = args.out.parent / "logs"
    given = sys.argv[1:] if argv is None else argv
    res: dict = {"command": " ".join(["python bench/speed.py"] + [shlex.quote(a) for a in given
                                                                 if a != "--update-results"]),
                 "mode": "smoke" if args.smoke else ("quick" if args.quick else "full"), "rows": rows,
                 "epochs": epochs, "machine": machine(), "races": [], "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    note = None if torch_ok else ("PyTorch is not installed (pip install -r bench/requirements.txt): column skipped"
                                  if not have_torch() else ("skipped in smoke mode" if args.smoke else "not raced (--no-torch)"))
    t_all = time.perf_counter()
    batches = [32] if (args.quick or args.smoke) else [32, 256]
    for part in ("w1", "w2"):
        if part not in parts:
            continue
        for bs in batches:
            base = dict(w1_cfg() if part == "w1" else w2_cfg(), rows=rows)
            leads = part == "w1" and bs == 32 and not (args.no_leads or args.smoke or args.quick)
            title = (f"W1 univariate LSTM 64, batch {bs}" if part == "w1" else f"W2 GRU 64, 8 features, batch {bs}") \
                + f" ({rows - 48:,} windows)"
            # PyTorch's default OpenMP threads spin-wait on a busy machine, so that engine races only when
            # asked (--torch-default-threads), whatever the load
            torch_default = torch_ok and args.torch_default_threads
            engines = race_engines(base, bs, leads=leads, torch_ok=torch_ok, torch_default=torch_default)
            if args.smoke:
                engines = {k: v for k, v in engines.items() if k in ("ours (default)", "plain keras fit")}
            r = race(title, engines, epochs, log_dir)
            r["workload"], r["batch"] = part, bs
            r["ratios"] = ratios(r)
            if note:
                r["torch_note"] = note
            res["races"].append(r)
    if "worker" in parts or "latency" in parts:
        from speed_stages import measure_latency

        print("\n[latency] cold and warm first-loss latency through the runner" +
              (" + a W1 run in a real worker" if "worker" in parts else ""), flush=True)
        lat = measure_latency(warm_runs=1 if args.quick else 3, w1_rows=rows if "worker" in parts else 0)
        if "latency" in parts:
            res["latency"] = {k: v for k, v in lat.items() if k != "worker_w1"}
        if "worker_w1" in lat:
            w = lat["worker_w1"]
            later = w["epoch_s"][1:] or w["epoch_s"]
            wps = w["windows"] / statistics.median(later)
            plain = race("W1 plain model.fit after the worker run", {"plain keras fit": dict(w1_cfg(), rows=rows,
                                                                                             kind="keras")},
                         3, log_dir)
            p = plain["engines"]["plain keras fit"]
            before = next((r["engines"]["plain keras fit"] for r in res["races"]
                           if r["workload"] == "w1" and r["batch"] == 32), None)
            plain_wps = statistics.median([p["windows_per_s"]] + ([before["windows_per_s"]] if before else []))
            res["worker"] = {**w, "windows_per_s": round(wps, 1), "plain_windows_per_s": round(plain_wps, 1),
                             "ratio": round(wps / plain_wps, 3)}
    if "scale" in parts:
        from speed_stages import measure_scale

        print(f"\n[scale] W3: {scale_rows:,} rows x 8 columns", flush=True)
        res["scale"] = measure_scale(scale_rows, args.batches if not args.smoke else 0, args.out.parent)
    if "chart" in parts:
        from speed_stages import measure_chart

        print("\n[chart] live chart redraw cost", flush=True)
        sizes = ((20, 24), (200, 24)) if args.smoke else ((20, 24), (200, 24), (2000, 24))
        res["chart"] = measure_chart(sizes, repeats=3 if args.smoke else 5)
    res["seconds"] = round(time.perf_counter() - t_all, 1)
    res["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print_table(res)
    if args.update_results:
        update_results(res)
    print(f"wrote {args.out} in {res['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
