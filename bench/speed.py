"""Speed benchmark: Sequence Studio's training path beside plain Keras and plain PyTorch, plus scale,
first-loss latency and live-chart cost. Prints a table and writes ``bench/out/speed.json``.

Every engine of a workload trains alone: its own process, started, trained for its epochs back to back
and ended before the next one starts, so nothing else of ours runs beside it (an idle engine's thread
pool cannot take time from the one being timed). Engines take turns for several rounds, in alternating
order (:func:`round_order`). Per round an engine's figure is the median of its epochs 2..N (the first
pays start-up and compilation); its figure in the race is the median over rounds, printed with CPU seconds
beside wall seconds and the load average at the start and end of each race. Ratios are the median over
rounds of the two engines' ratio in the same round (:func:`ratios`). PyTorch races twice, with its default
threads and with 1 thread; Figure 2 divides by the faster of the two and prints both.

Usage::

    python bench/speed.py              # everything (about 25 minutes on 2 cores)
    python bench/speed.py --quick      # W1 at 20k windows, W3 at 200k rows, latency, chart (a few minutes)
    python bench/speed.py --only w2 chart --quick --no-torch   # Figure 1 on W2 batch 32 + Figure 5
    python bench/speed.py --only w1 --rounds 5 --epochs 4 --leads --tf-leads   # W1 with the alternatives
    python bench/speed.py --smoke      # the smallest piece, for the test suite (seconds)
    python bench/speed.py --update-results   # the run recorded in bench/RESULTS.md
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
FIG2_TARGET = 1.0    # our default / the best PyTorch engine, every workload and batch size
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


FIG1_PAIR = ("ours (default)", "plain keras fit")   # the engines of Figure 1
DEFAULT_ROUNDS = 3


def round_order(names: list[str], r: int) -> list[str]:
    """The order the engines train in round ``r``: as listed in even rounds, reversed in odd ones, so no
    engine always goes first (after a pause) or always follows the same other engine."""
    return list(names) if r % 2 == 0 else list(reversed(names))


def solo(name: str, cfg: dict, log_dir: Path) -> dict:
    """Train one engine alone: start its process, train its epochs back to back, let it exit. Nothing else
    of ours runs meanwhile. Returns :meth:`Engine.summary` plus the 1-minute load average before and after."""
    load_before = os.getloadavg()[0]
    e = Engine(name, cfg, log_dir)
    try:
        e.ready()
        for _ in range(int(cfg["epochs"])):
            e.epoch()
        e.finish()
    except BaseException:
        e.kill()
        raise
    out = e.summary()
    out["load_avg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return out


def combine(runs: list[dict]) -> dict:
    """One engine's rounds -> its figures: medians over rounds of windows/s, epoch and CPU seconds."""
    med = statistics.median
    out = {"name": runs[0]["name"], "config": runs[0]["config"], "info": runs[0]["info"],
           "rounds": [{k: r.get(k) for k in ("windows_per_s", "median_epoch_s", "median_cpu_s", "epoch_s", "cpu_s",
                                             "load_avg")} for r in runs],
           "windows_per_s": round(med(r["windows_per_s"] for r in runs), 1),
           "median_epoch_s": round(med(r["median_epoch_s"] for r in runs), 3)}
    if all(r.get("median_cpu_s") is not None for r in runs):
        out["median_cpu_s"] = round(med(r["median_cpu_s"] for r in runs), 3)
    return out


def race(title: str, engines: dict[str, dict], epochs: int, rounds: int, log_dir: Path) -> dict:
    """Every engine alone, one after the other (:func:`solo`), for ``rounds`` rounds in alternating order
    (:func:`round_order`). An engine's figure in a round is the median of its epochs 2..N (the first pays
    start-up and compilation); its figure in the race is the median over rounds."""
    print(f"\n[{title}] {', '.join(engines)}: each alone, {epochs} epochs, {rounds} rounds", flush=True)
    load_start = os.getloadavg()
    per: dict[str, list[dict]] = {n: [] for n in engines}
    for r in range(rounds):
        for name in round_order(list(engines), r):
            s = solo(name, dict(engines[name], epochs=epochs), log_dir)
            per[name].append(s)
            cpu = f" (CPU {s['median_cpu_s']:5.2f} s)" if s.get("median_cpu_s") is not None else ""
            print(f"  round {r + 1} {name:<24}{s['windows_per_s']:>9,.0f} windows/s  epoch {s['median_epoch_s']:5.2f} s"
                  f"{cpu}  load {s['load_avg'][0]:.1f} -> {s['load_avg'][1]:.1f}", flush=True)
    return {"title": title, "rounds": rounds, "epochs": epochs, "load_avg_start": list(load_start),
            "load_avg_end": list(os.getloadavg()), "engines": {n: combine(per[n]) for n in engines}}


def w1_cfg(**kw) -> dict:
    return {"cell": "lstm", "features": 1, **kw}


def w2_cfg(**kw) -> dict:
    return {"cell": "gru", "features": 8, **kw}


def race_engines(base: dict, batch: int, *, leads: bool, torch_ok: bool, tensorflow: bool = False
                 ) -> dict[str, dict]:
    """The engines of one workload race: ours (the app's default), plain Keras, PyTorch with its default
    threads and with 1 thread, and (``leads``) alternative configurations of ours: JAX with Keras's
    ``steps_per_execution=8`` and (``tensorflow``) the TensorFlow backend without and with XLA."""
    eng = {
        "ours (default)": dict(base, kind="seqcore", batch=batch),
        "plain keras fit": dict(base, kind="keras", batch=batch),
    }
    if torch_ok:
        eng["pytorch"] = dict(base, kind="torch", batch=batch)
        eng["pytorch 1 thread"] = dict(base, kind="torch", batch=batch, threads=1)
    if leads:
        if have_jax():
            eng["ours jax spe8"] = dict(base, kind="seqcore", batch=batch, backend="jax", spe=8)
        if tensorflow:
            eng["ours tf"] = dict(base, kind="seqcore", batch=batch, backend="tensorflow", jit=False)
            eng["ours tf xla spe16"] = dict(base, kind="seqcore", batch=batch, backend="tensorflow", jit=True, spe=16)
    return eng


def paired_ratio(result: dict, num: str, den: str) -> float | None:
    """Median over rounds of ``num``'s windows/s / ``den``'s in the same round (> 1: ``num`` is faster)."""
    e = result["engines"]
    if num not in e or den not in e:
        return None
    pairs = [(a["windows_per_s"], b["windows_per_s"]) for a, b in zip(e[num]["rounds"], e[den]["rounds"])
             if a.get("windows_per_s") and b.get("windows_per_s")]
    if not pairs:
        return None
    return round(statistics.median(a / b for a, b in pairs), 3)


def ratios(result: dict) -> dict:
    """Figure 1 (ours / plain model.fit) and Figure 2 (ours / the best PyTorch) as throughput ratios, each
    the median over rounds of the two engines' ratio in that round (also kept: the ratio of their medians).
    The best PyTorch is the PyTorch engine (default threads or 1 thread) with the higher median."""
    e = result["engines"]
    ours = e["ours (default)"]["windows_per_s"]
    out: dict = {}
    if "plain keras fit" in e:
        out["fig1_ours_over_plain_fit"] = paired_ratio(result, *FIG1_PAIR)
        out["fig1_ratio_of_medians"] = round(ours / e["plain keras fit"]["windows_per_s"], 3)
    torch_names = [n for n in e if n.startswith("pytorch")]
    if torch_names:
        best = max(torch_names, key=lambda n: e[n]["windows_per_s"])
        out["fig2_pytorch_engine"] = best
        out["fig2_ours_over_pytorch"] = paired_ratio(result, "ours (default)", best)
        out["fig2_ratio_of_medians"] = round(ours / e[best]["windows_per_s"], 3)
        out["fig2_by_engine"] = {n: paired_ratio(result, "ours (default)", n) for n in torch_names}
    return out


def torch_note(race_result: dict) -> str | None:
    """Why a race has no PyTorch engine (stored by :func:`main`), else None."""
    if any(n.startswith("pytorch") for n in race_result["engines"]):
        return None
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
    from seqcore.modeling.device import probe_device

    dev = probe_device()   # without importing a backend in this process (the engines report their own)
    info["gpu"] = f"{dev['name'] or 'GPU'} x {dev['count']}" if dev["kind"] == "GPU" else None
    return info


# --------------------------------------------------------------------------- report

def _fmt_ratio(v, target) -> str:
    if v is None:
        return "-"
    return f"{v:.2f} ({'met' if v >= target else 'MISSED'} >= {target:g})"


def engine_label(e: dict) -> str:
    """The backend column: backend, XLA, steps_per_execution, PyTorch's threads."""
    info, cfg = e["info"], e["config"]
    be = info.get("backend", "?") + (" + XLA" if info.get("jit") and info.get("backend") == "tensorflow" else "")
    spe = cfg.get("spe") or info.get("spe") or 1
    if spe > 1:
        be += f", steps_per_execution {spe}"
    if cfg.get("kind") == "torch":
        be += f", {info.get('threads')} thread(s)"
    if info.get("device") not in (None, "cpu"):
        be += f", on {info['device']}"
    return be


def print_table(res: dict) -> None:
    print("\n" + "=" * 100)
    m = res["machine"]
    print(f"Machine: {m.get('cpu', '?')}, {m['cores']} cores; Keras {m['keras']}, TF {m['tensorflow']}, "
          f"JAX {m['jax']}, torch {m['torch']}; default backend: {m['default_backend']}")
    for r in res.get("races", []):
        print(f"\n{r['title']}: each engine alone, median over {r['rounds']} rounds of epochs 2-{r['epochs']}; "
              f"load average {r['load_avg_start'][0]:.1f} at start, {r['load_avg_end'][0]:.1f} at end")
        print(f"  {'engine':<24}{'windows/s':>11}{'epoch s':>10}{'CPU s':>8}  {'per round (windows/s)':<28}backend")
        for name, e in r["engines"].items():
            cpu = f"{e['median_cpu_s']:>8.2f}" if "median_cpu_s" in e else f"{'-':>8}"
            rounds = ", ".join(f"{x['windows_per_s']:,.0f}" for x in e["rounds"])
            print(f"  {name:<24}{e['windows_per_s']:>11,.0f}{e['median_epoch_s']:>10.2f}{cpu}  {rounds:<28}"
                  f"{engine_label(e)}")
        rt = r.get("ratios", {})
        if rt.get("fig1_ours_over_plain_fit") is not None:
            print(f"  Figure 1 ours / plain model.fit: {_fmt_ratio(rt['fig1_ours_over_plain_fit'], FIG1_TARGET)} "
                  f"(median of per-round ratios; ratio of medians {rt['fig1_ratio_of_medians']:.2f})")
        if rt.get("fig2_ours_over_pytorch") is not None:
            each = "; ".join(f"/ {n}: {v:.2f}" for n, v in rt["fig2_by_engine"].items() if v is not None)
            print(f"  Figure 2 ours / best PyTorch ({rt['fig2_pytorch_engine']}): "
                  f"{_fmt_ratio(rt['fig2_ours_over_pytorch'], FIG2_TARGET)} ({each})")
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
             f"JAX {m['jax']}, PyTorch {m['torch']}, NumPy {m['numpy']}, pandas {m['pandas']}"
             + (f"; GPU: {m['gpu']}" if m.get("gpu") else "; no GPU") + ". Default backend: "
             f"**{m['default_backend']}**. Load average at start {m['load_avg_start'][0]:.1f}, at end "
             f"{m['load_avg_end'][0]:.1f} (other work shares this machine).", ""]
    if res.get("command"):
        lines += [f"Command: `{res['command']}`.", ""]
    for r in res.get("races", []):
        lines += [f"**{r['title']}**: each engine alone in its own process, one after the other, {r['rounds']} rounds "
                  f"in alternating order; per round the median of epochs 2-{r['epochs']}, then the median over rounds. "
                  f"Load average {r['load_avg_start'][0]:.1f} at start, {r['load_avg_end'][0]:.1f} at end.", "",
                  "| engine | backend | windows/s | epoch (s) | CPU (s) | windows/s per round |",
                  "|---|---|---:|---:|---:|---|"]
        for name, e in r["engines"].items():
            cpu = f"{e['median_cpu_s']:.2f}" if "median_cpu_s" in e else "-"
            rounds = ", ".join(f"{x['windows_per_s']:,.0f}" for x in e["rounds"])
            lines.append(f"| {name} | {engine_label(e)} | {e['windows_per_s']:,.0f} | {e['median_epoch_s']:.2f} | "
                         f"{cpu} | {rounds} |")
        rt = r.get("ratios", {})
        fig = []
        if rt.get("fig1_ours_over_plain_fit") is not None:
            fig.append(f"Figure 1, ours / plain model.fit: **{rt['fig1_ours_over_plain_fit']:.2f}** (target >= "
                       f"{FIG1_TARGET}; median of the per-round ratios; ratio of the medians "
                       f"{rt['fig1_ratio_of_medians']:.2f})")
        if rt.get("fig2_ours_over_pytorch") is not None:
            each = ", ".join(f"{n} {v:.2f}" for n, v in rt["fig2_by_engine"].items() if v is not None)
            fig.append(f"Figure 2, ours / best PyTorch ({rt['fig2_pytorch_engine']}): "
                       f"**{rt['fig2_ours_over_pytorch']:.2f}** (target >= {FIG2_TARGET:g}; against each: {each})")
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
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs per engine and round (default 3; the first is left out of the medians)")
    ap.add_argument("--rounds", type=int, default=None, help=f"rounds per race (default {DEFAULT_ROUNDS}; smoke 1)")
    ap.add_argument("--no-torch", action="store_true", help="race without PyTorch (Figure 1 only, faster)")
    ap.add_argument("--rows", type=int, default=None, help="W1/W2 rows (default 50,048)")
    ap.add_argument("--scale-rows", type=int, default=None, help="W3 rows (default 1,000,000)")
    ap.add_argument("--batches", type=int, default=200, help="W3: training batches in the capped epoch")
    ap.add_argument("--leads", action="store_true",
                    help="also race ours with steps_per_execution=8 in every W1/W2 race")
    ap.add_argument("--tf-leads", action="store_true",
                    help="with --leads: also race ours on the TensorFlow backend (without and with XLA)")
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
        rows, scale_rows, epochs, parts = args.rows or 20_048, args.scale_rows or 200_000, args.epochs or 3, \
            args.only or ["w1", "latency", "scale", "chart"]
    else:
        rows, scale_rows, epochs, parts = args.rows or 50_048, args.scale_rows or 1_000_000, args.epochs or 3, \
            args.only or ["w1", "w2", "worker", "latency", "scale", "chart"]
    rounds = args.rounds or (1 if args.smoke else DEFAULT_ROUNDS)
    torch_ok = have_torch() and not (args.smoke or args.no_torch)
    # seqcore's compiled-step cache (JAX) for the engines: kept out of the user's data folder
    os.environ.setdefault("SEQSTUDIO_COMPILE_CACHE", str(args.out.parent / "xla-cache"))
    log_dir = args.out.parent / "logs"
    given = sys.argv[1:] if argv is None else argv
    res: dict = {"command": " ".join(["python bench/speed.py"] + [shlex.quote(a) for a in given
                                                                 if a != "--update-results"]),
                 "mode": "smoke" if args.smoke else ("quick" if args.quick else "full"), "rows": rows,
                 "epochs": epochs, "rounds": rounds, "machine": machine(), "races": [], "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    note = None if torch_ok else ("PyTorch is not installed (pip install -r bench/requirements.txt): column skipped"
                                  if not have_torch() else ("skipped in smoke mode" if args.smoke else "not raced (--no-torch)"))
    t_all = time.perf_counter()
    batches = [32] if (args.quick or args.smoke) else [32, 256]
    for part in ("w1", "w2"):
        if part not in parts:
            continue
        for bs in batches:
            base = dict(w1_cfg() if part == "w1" else w2_cfg(), rows=rows)
            leads = args.leads and not args.smoke
            title = (f"W1 univariate LSTM 64, batch {bs}" if part == "w1" else f"W2 GRU 64, 8 features, batch {bs}") \
                + f" ({rows - 48:,} windows)"
            engines = race_engines(base, bs, leads=leads, torch_ok=torch_ok, tensorflow=args.tf_leads)
            if args.smoke:
                engines = {k: v for k, v in engines.items() if k in FIG1_PAIR}
            r = race(title, engines, epochs, rounds, log_dir)
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
            plain = solo("plain keras fit", dict(w1_cfg(), rows=rows, kind="keras", epochs=3), log_dir)
            before = next((r["engines"]["plain keras fit"] for r in res["races"]
                           if r["workload"] == "w1" and r["batch"] == 32), None)
            plain_wps = statistics.median([plain["windows_per_s"]] + ([before["windows_per_s"]] if before else []))
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
