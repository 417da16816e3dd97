"""Load test of the prediction service: N concurrent clients against ``python -m seqcore serve`` on loopback.

A small model is trained first through the command line (``seqcore train``, a few epochs: the workload is the
service, not the model), or ``--bundle`` names one. For each ``--threads`` value the real server starts as a
subprocess on a free loopback port (``serve OUT --port 0 --threads T``); for each ``--clients`` value, N
asyncio clients (httpx, one keep-alive connection each) send ``--requests`` POST /predict calls in all, as
fast as the answers come back. Every answer must be HTTP 200 with exactly the predictions of the first one
(``seqcore predict``'s numbers, checked in tests/test_serve.py); anything else is an error, and a request
that got no answer at all (a refused or dropped connection, a timeout) is counted as dropped. Both must be 0.

Per row: latency p50 / p90 / p99 / max (ms, from sending the request to the whole answer read) and requests
per second (answers / wall seconds). The clients run in this process on the same cores as the server, so the
figures are for the pair; the load average is printed with them.

Workloads (``--workload``): ``forecast`` (the whole Airline file, 144 rows, as CSV; the 12-month forecast with
its intervals back: the default), ``classify`` (10 GunPoint test sequences of 150 steps as CSV), ``text``
(20 movie-review snippets as JSON rows).

Usage: ``python bench/serve_load.py [--workload forecast] [--clients 1 8 32] [--requests 400] [--threads 2]
[--update-results]``; ``--smoke`` is the seconds-long run of tests/test_bench_smoke.py (never recorded).
Writes ``bench/out/serve_load.json``; ``--update-results`` puts the table into bench/RESULTS.md between its
``serve_load`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_block import table_lines, write_block  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SAMPLES = ROOT / "seqcore" / "samples"
BEGIN = "<!-- serve_load:begin (written by bench/serve_load.py --update-results) -->"
END = "<!-- serve_load:end -->"
HEADING = "## Prediction service under load (seqcore serve)"
HEADER = ("server threads", "clients", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms", "requests/s", "errors",
          "dropped")


def _tail_rows(path: Path, n: int, drop: str | None = None) -> bytes:
    import pandas as pd

    df = pd.read_csv(path).head(n)
    return (df.drop(columns=[drop]) if drop else df).to_csv(index=False).encode()


WORKLOADS = {
    # name: (training file, train flags, request builder -> (content type, body), what a request holds)
    "forecast": ("Airline.csv", ["--task", "forecast", "--window", "24", "--horizon", "12", "--units", "32"],
                 lambda: ("text/csv", (SAMPLES / "Airline.csv").read_bytes()),
                 "the whole Airline file (144 monthly rows) as CSV; answer: 12 steps with 80%/95% intervals"),
    "classify": ("GunPoint_TRAIN.csv", ["--task", "classify", "--units", "32"],
                 lambda: ("text/csv", _tail_rows(SAMPLES / "GunPoint_TEST.csv", 10, drop="label")),
                 "10 GunPoint test sequences (150 steps each) as CSV; answer: a class and its probabilities each"),
    "text": ("rt_polarity_subset.csv", ["--task", "text", "--units", "16", "--word-vectors", "none"],
             lambda: ("application/json", json.dumps({"rows": [{"text": t} for t in __import__("pandas").read_csv(
                 SAMPLES / "rt_polarity_subset.csv")["text"].head(20)]}).encode()),
             "20 movie-review snippets as JSON rows; answer: a label and its probabilities each"),
}


def train(workload: str, out: Path, epochs: int) -> Path:
    """A small model for ``workload`` trained with ``python -m seqcore train`` into ``out``."""
    file, flags, _, _ = WORKLOADS[workload]
    env = dict(os.environ, SEQSTUDIO_BASE_SEARCH="0", SEQSTUDIO_STAT_BUDGET="0", SEQSTUDIO_ENSEMBLE="0",
               SEQSTUDIO_ARCH_SEARCH="0")
    cmd = [sys.executable, "-m", "seqcore", "train", str(SAMPLES / file), *flags, "--epochs", str(epochs),
           "--patience", "0", "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), env=env)
    if r.returncode:
        raise SystemExit(f"error: training the {workload} model failed: {r.stderr.strip()[-500:]}")
    return out


class Server:
    """``python -m seqcore serve SOURCE --port 0 --threads T`` as a subprocess; ``url`` once it listens."""

    def __init__(self, source: Path, threads: int, home: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "seqcore", "serve", str(source), "--port", "0",
                                      "--threads", str(threads), "--home", str(home)],
                                     cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("serving "):
            self.stop()
            raise SystemExit(f"error: the server did not start: {line}{self.proc.stderr.read()[-1000:]}")
        self.url = line.split(" at ", 1)[1].split()[0]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(2)   # Ctrl-C: the normal stop
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between the closest ranks (numpy's default)."""
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


async def load(url: str, content_type: str, body: bytes, clients: int, requests: int, timeout: float) -> dict:
    """``requests`` POST /predict calls from ``clients`` concurrent clients; latencies and outcomes."""
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=timeout) as probe:
        first = await probe.post("/predict", content=body, headers={"Content-Type": content_type})
    if first.status_code != 200:
        raise SystemExit(f"error: the first request failed: HTTP {first.status_code} {first.text[:500]}")
    expected = first.json()
    latencies: list[float] = []
    errors: list[str] = []
    dropped: list[str] = []
    issued = 0

    async def client() -> None:
        nonlocal issued
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as c:
            while issued < requests:
                issued += 1
                t0 = time.perf_counter()
                try:
                    r = await c.post("/predict", content=body, headers={"Content-Type": content_type})
                    answer = r.json() if r.status_code == 200 else None
                except (httpx.TransportError, httpx.TimeoutException) as err:   # no answer: dropped
                    dropped.append(f"{type(err).__name__}: {err}")
                    continue
                latencies.append(time.perf_counter() - t0)
                if answer != expected:
                    errors.append(f"HTTP {r.status_code}: {r.text[:200]}")

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    ms = [x * 1000 for x in latencies]
    return {"clients": clients, "requests": requests, "answered": len(latencies), "wall_s": round(wall, 3),
            "answer_rows": len(expected["predictions"]),
            "requests_per_s": round(len(latencies) / wall, 1) if wall else None,
            "p50_ms": round(percentile(ms, 50), 1), "p90_ms": round(percentile(ms, 90), 1),
            "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1) if ms else None,
            "errors": len(errors), "dropped": len(dropped), "error_samples": (errors + dropped)[:3],
            "load_avg": [round(x, 2) for x in os.getloadavg()]}


def to_markdown(meta: dict, rows: list[dict]) -> str:
    lines = [f"Workload `{meta['workload']}`: {meta['what']}. {meta['request_bytes']:,} bytes a request, answer "
             f"{meta['answer_rows']} rows. Model: {meta['model']} ({meta['epochs']} epochs; `seqcore train "
             f"{meta['train']}`). {meta['when']}, {meta['cores']} cores, load {meta['load']} at the start; clients and "
             f"server on the same machine (loopback); Python {meta['python']}, FastAPI {meta['fastapi']}, uvicorn "
             f"{meta['uvicorn']}, Keras backend {meta['backend']}.", ""]
    lines += table_lines(HEADER, [[str(r["threads"]), str(r["clients"]), f"{r['requests']:,}", f"{r['p50_ms']:.1f}",
                                   f"{r['p90_ms']:.1f}", f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}",
                                   f"{r['requests_per_s']:.1f}", str(r["errors"]), str(r["dropped"])] for r in rows])
    total = sum(r["errors"] + r["dropped"] for r in rows)
    lines += ["", f"Every answer was HTTP 200 with the same predictions as the first: {'yes' if not total else 'NO'} "
                  f"({total} errors or dropped requests in {sum(r['requests'] for r in rows):,}). Latency: from "
                  "sending a request to reading its whole answer; requests/s: answers over the wall time of the "
                  "row. The network runs one request at a time (Predictor's lock); server threads parse the CSV/JSON "
                  f"and build the answers. Reproduce: `{meta['command']}`."]
    return "\n".join(lines)


def _shown(argv: list[str]) -> list[str]:
    """The arguments that reproduce the figures: without --update-results and --results FILE."""
    out, skip = [], False
    for a in argv:
        if skip or a == "--update-results" or a.startswith("--results="):
            skip = False
            continue
        if a == "--results":
            skip = True
            continue
        out.append(a)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="forecast")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients, one row each")
    ap.add_argument("--requests", type=int, default=400, help="requests per row (after one warm-up request)")
    ap.add_argument("--threads", type=int, nargs="+", default=[2], help="the server's --threads, a server each")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the model trained for the test")
    ap.add_argument("--bundle", type=Path, help="serve this run folder / bundle instead of training one")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a request may take before it is dropped")
    ap.add_argument("--smoke", action="store_true", help="seconds-long: 1 epoch, clients 1 and 4, 20 requests each")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "serve_load.json")
    ap.add_argument("--update-results", action="store_true", help="write the table into bench/RESULTS.md")
    ap.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)   # tests write elsewhere
    args = ap.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    if args.smoke:
        args.epochs, args.clients, args.requests = 1, [1, 4], 20
    if min(args.clients) < 1 or args.requests < 1 or min(args.threads) < 1:
        ap.error("--clients, --requests and --threads must be 1 or more")
    import fastapi
    import httpx
    import uvicorn

    from seqcore.runs.runner import cpu_cores

    content_type, body = WORKLOADS[args.workload][2]()
    rows = []
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        tmp = Path(tmp)
        if args.bundle:
            source = args.bundle
        else:
            print(f"training a small {args.workload} model ({args.epochs} epochs) ...", file=sys.stderr, flush=True)
            source = train(args.workload, tmp / "run", args.epochs)
        meta = {"workload": args.workload, "what": WORKLOADS[args.workload][3], "request_bytes": len(body),
                "epochs": args.epochs, "train": " ".join([WORKLOADS[args.workload][0], *WORKLOADS[args.workload][1]]),
                "when": time.strftime("%Y-%m-%d %H:%M"), "cores": cpu_cores(),
                "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "python": sys.version.split()[0],
                "fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__,
                "command": " ".join(["python bench/serve_load.py"] + [shlex.quote(a) for a in _shown(given)])}
        for threads in args.threads:
            with Server(source, threads, tmp / "home") as server:
                health = httpx.get(f"{server.url}/health", timeout=30).json()
                meta["model"], meta["backend"] = f"{health['model']} ({health['task']})", health["backend"]
                for clients in args.clients:
                    r = asyncio.run(load(server.url, content_type, body, clients, args.requests, args.timeout))
                    r["threads"] = threads
                    rows.append(r)
                    print(f"threads {threads}, clients {clients}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                          f"{r['requests_per_s']} requests/s, errors {r['errors']}, dropped {r['dropped']}"
                          + (f" ({r['error_samples']})" if r["error_samples"] else ""), file=sys.stderr, flush=True)
                if server.stop() != 0:
                    raise SystemExit(f"error: the server exited with {server.proc.returncode}: "
                                     f"{server.proc.stderr.read()[-1000:]}")
    meta["answer_rows"] = rows[0]["answer_rows"]
    return _finish(args, meta, rows)


def _finish(args, meta: dict, rows: list[dict]) -> int:
    md = to_markdown(meta, rows)
    print(md)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    if args.update_results and args.smoke:
        print("--smoke is a smoke run: bench/RESULTS.md was left as it is.")
    elif args.update_results:
        write_block(args.results, BEGIN, END, md, HEADING)
        print(f"updated the serve_load section of {args.results}")
    bad = sum(r["errors"] + r["dropped"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
