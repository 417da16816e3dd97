"""The speed benchmark still runs: its smallest piece (``python bench/speed.py --smoke``) end to end.

A tiny W1 race (the app's training path against plain ``model.fit``, each in its own process, epochs
interleaved), W3 parse/validate/window at 20k rows, and the live-chart cost. Numbers are not judged
here (this machine is shared and noisy); only that every piece ran and reported sane values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_speed_bench_smoke(tmp_path):
    out = tmp_path / "speed.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "speed.py"), "--smoke", "--out", str(out)],
                         capture_output=True, text=True, timeout=240, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["mode"] == "smoke"
    race = data["races"][0]
    assert set(race["engines"]) == {"ours (default)", "plain keras fit"}
    for eng in race["engines"].values():
        assert len(eng["epoch_s"]) == data["epochs"]
        assert eng["median_epoch_s"] > 0 and eng["windows_per_s"] > 0
        assert eng["info"]["windows"] == data["rows"] - 48
    assert race["engines"]["ours (default)"]["info"]["points_written"] >= data["epochs"]  # progress reached the store
    assert race["ratios"]["fig1_ours_over_plain_fit"] > 0
    scale = data["scale"]
    assert scale["rows"] == 20_000 and not scale["validation_errors"]
    assert scale["windows"]["train"] > 10_000
    assert scale["parse_validate_window_s"] > 0 and scale["parse_validate_window_peak_rss_mb"] > 0
    assert {c["points"] for c in data["chart"]} == {500, 5000}
    assert all(c["ms_per_redraw"] > 0 and c["bytes"] > 1000 for c in data["chart"])
    assert "Figure 1" in res.stdout and "Figure 5" in res.stdout
