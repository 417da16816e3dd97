"""The 1-nearest-neighbour DTW baseline: distances against a plain O(n*m) DTW, the band, several channels,
unequal lengths, the window picked on the training part, the time budget, and a classify run reporting it."""
import json

import numpy as np
import pandas as pd
import pytest

from seqcore.modeling import dtw
from seqcore.modeling.baselines import nearest_neighbour_baseline, nearest_neighbour_dtw_baseline

ENGINES = [e for e in ("numpy", "dtaidistance") if dtw.engine_available(e)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("n_feat", [1, 3])
@pytest.mark.parametrize("band", [0, 1, 2, 5, 18])
def test_distances_match_a_plain_dtw(engine, n_feat, band):
    rng = np.random.default_rng(band * 10 + n_feat)
    A, B = rng.normal(size=(4, 19, n_feat)), rng.normal(size=(3, 19, n_feat))
    ref = np.array([[dtw.dtw_reference(a, b, band) for b in B] for a in A])
    np.testing.assert_allclose(dtw.distance_matrix(A, B, band, engine=engine), ref, rtol=1e-9, atol=1e-9)
    # against itself: the leave-one-out matrix, the diagonal left out
    own = dtw.distance_matrix(A, None, band, engine=engine)
    ref_own = np.array([[dtw.dtw_reference(a, b, band) for b in A] for a in A])
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(own[off], ref_own[off], rtol=1e-9, atol=1e-9)
    assert np.isinf(np.diag(own)).all()


def test_reference_dtw_basics():
    a = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 0.0])
    b = np.array([0.0, 1.0, 2.0, 1.0, 0.0, 0.0])   # the same bump one step earlier
    assert dtw.dtw_reference(a, b, 0) == pytest.approx(np.sqrt(np.sum((a - b) ** 2)))   # no band: Euclidean
    assert dtw.dtw_reference(a, b, 1) == pytest.approx(0.0)   # one step of warping lines them up
    # several channels: squared Euclidean over the channels in each cell ("dependent" DTW)
    x, y = np.stack([a, 2 * a], axis=1), np.stack([b, 2 * b], axis=1)
    assert dtw.dtw_reference(x, y, 0) == pytest.approx(np.sqrt(5 * np.sum((a - b) ** 2)))
    assert dtw.dtw_reference(x, y, 1) == pytest.approx(0.0)
    assert dtw.band_steps(0.1, 150) == 15 and dtw.band_steps(0.01, 150) == 2 and dtw.band_steps(0.0, 150) == 0


def test_numpy_pairs_are_vectorised_over_many_pairs_and_agree():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(30, 25, 2)), rng.normal(size=(30, 25, 2))
    got = dtw.dtw_pairs(A, B, 4)
    ref = [dtw.dtw_reference(a, b, 4) for a, b in zip(A, B)]
    np.testing.assert_allclose(got, ref, rtol=1e-9)


def bumps(n: int, length: int = 40, seed: int = 0):
    """Two classes: one bump or two bumps, each at a random shift (warping helps; Euclidean is fooled)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    x, y = [], []
    for i in range(n):
        c = i % 2
        s = rng.integers(-6, 7)
        v = np.exp(-0.5 * ((t - 12 - s) / 1.5) ** 2)
        if c:
            v = v + np.exp(-0.5 * ((t - 26 - s) / 1.5) ** 2)
        x.append(v + rng.normal(0, 0.05, length))
        y.append(c)
    return np.array(x)[:, :, None], np.array(y)


@pytest.mark.parametrize("engine", ENGINES)
def test_window_picked_by_leave_one_out_on_training(engine):
    xtr, ytr = bumps(30, seed=1)
    xte, yte = bumps(40, seed=2)
    res = dtw.nearest_neighbour_dtw(xtr, ytr, xte, 2, engine=engine)
    assert res.proba is not None and res.proba.shape == (40, 2)
    narrowest = {}
    for f in dtw.WINDOW_GRID:   # windows that give the same band in steps are tried once, as the narrowest
        narrowest.setdefault(dtw.band_steps(f, 40), f)
    assert set(res.loo_accuracy) == {f"{f:g}" for f in narrowest.values()} == {"0", "0.01", "0.03", "0.06", "0.08", "0.2"}
    best = max(res.loo_accuracy.values())
    first_best = min(float(k) for k, v in res.loo_accuracy.items() if v == best)
    assert res.window == first_best > 0                       # ties go to the narrower window
    assert res.band == dtw.band_steps(res.window, 40)
    assert "leave-one-out" in res.note and f"{res.band} step" in res.note
    acc = float(np.mean(res.proba.argmax(1) == yte))
    euclid = float(np.mean(nearest_neighbour_baseline(xtr, ytr, xte, 2).argmax(1) == yte))
    assert acc >= euclid and acc >= 0.9
    info = res.info()
    assert info["window"] == res.window and info["skipped"] is False and json.dumps(info)


def test_ties_go_to_the_narrowest_window():
    # two well-separated constant classes: every window classifies the training part perfectly
    xtr = np.r_[np.zeros((5, 30, 1)), np.ones((5, 30, 1))] + np.random.default_rng(0).normal(0, 0.01, (10, 30, 1))
    ytr = np.r_[np.zeros(5, int), np.ones(5, int)]
    res = dtw.nearest_neighbour_dtw(xtr, ytr, xtr[:3] + 0.001, 2)
    assert set(res.loo_accuracy.values()) == {1.0}
    assert res.window == 0.0 and res.band == 0 and "without stretching time" in res.note


def test_unequal_lengths_are_resampled_like_the_euclidean_baseline():
    xtr, ytr = bumps(20, seed=3)
    xte, _ = bumps(10, seed=4)
    # shorten some sequences: padded with NaN, true lengths given
    lens_tr = np.r_[np.full(10, 40), np.full(10, 32)]
    lens_te = np.r_[np.full(5, 36), np.full(5, 40)]
    ptr, pte = xtr.copy(), xte.copy()
    for arr, lens in ((ptr, lens_tr), (pte, lens_te)):
        for i, n in enumerate(lens):
            arr[i, n:] = np.nan
    res = nearest_neighbour_dtw_baseline(ptr, ytr, pte, 2, lengths_train=lens_tr, lengths_test=lens_te)
    from seqcore.modeling.baselines import _resample
    want = dtw.nearest_neighbour_dtw(_resample(ptr, lens_tr, 40), ytr, _resample(pte, lens_te, 40), 2)
    np.testing.assert_array_equal(res.proba, want.proba)
    assert res.window == want.window and res.length == 40


def test_one_training_sequence_and_empty_test():
    x = np.random.default_rng(0).normal(size=(1, 10, 1))
    res = dtw.nearest_neighbour_dtw(x, [1], x, 2)
    assert res.proba.tolist() == [[0.0, 1.0]] and res.window == 0.0 and not res.loo_accuracy
    assert "too few training sequences" in res.note
    res = dtw.nearest_neighbour_dtw(np.r_[x, x + 1], [0, 1], np.zeros((0, 10, 1)), 2)
    assert res.proba.shape == (0, 2)


def test_skipped_with_a_plain_note_past_its_budget():
    xtr, ytr = bumps(20)
    res = nearest_neighbour_dtw_baseline(xtr, ytr, xtr, 2, budget_s=0.0)
    assert res.proba is None and res.window is None
    assert res.note.startswith("The 1-nearest-neighbour (DTW) baseline was skipped")
    assert "0 s budget" in res.note and "20 training and 20 test sequences of 40 steps" in res.note
    assert res.info()["skipped"] is True


def test_wider_windows_left_out_when_they_would_not_fit(monkeypatch):
    """A slow machine: the narrow windows fit, the wider ones would pass the budget; the note says so."""
    xtr, ytr = bumps(20)
    xte = xtr[:4]
    limit = dtw._Clock.cells(xtr, None, 2) + dtw._Clock.cells(xte, xtr, 2)   # up to a band of 2 steps
    monkeypatch.setattr(dtw._Clock, "fits", lambda self, cells: cells <= limit)
    res = dtw.nearest_neighbour_dtw(xtr, ytr, xte, 2, budget_s=60)
    assert res.truncated and res.proba is not None
    assert set(res.loo_accuracy) == {"0", "0.01", "0.03"} and res.band <= 2
    assert ("picked by leave-one-out accuracy on the training sequences among the windows up to 3%: the wider ones "
            "would have taken longer than its 60 s budget") in res.note
    assert res.info()["grid_truncated"] is True
    # only the first window fits
    limit = dtw._Clock.cells(xtr, None, 0) + dtw._Clock.cells(xte, xtr, 0)
    res = dtw.nearest_neighbour_dtw(xtr, ytr, xte, 2, budget_s=60)
    assert res.window == 0.0 and list(res.loo_accuracy) == ["0"]
    assert "(a warping window of 0%, the only one tried: wider windows would have taken longer than its 60 s " \
           "budget)" in res.note


def test_seqcore_import_stays_light():
    import subprocess
    import sys

    code = ("import sys, seqcore.modeling.dtw, seqcore.modeling.baselines; "
            "print(any(m.split('.')[0] in ('dtaidistance', 'keras', 'jax', 'tensorflow') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_classify_run_reports_the_dtw_baseline(tmp_path):
    from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
    from seqcore.modeling.metrics import compare_to_baselines
    from seqcore.outputs.viz import BASELINE_NAMES
    from seqcore.pipeline import run_training

    x, y = bumps(60, seed=5)
    df = pd.DataFrame(x[:, :, 0], columns=[f"v{i}" for i in range(x.shape[1])])
    df.insert(0, "label", np.where(y == 1, "two", "one"))
    spec = RunSpec(data=DataSpec(task="classify", label="label"), model=ModelSpec(units=(8,)),
                   train=TrainSpec(epochs=3, batch_size=16, patience=0, lr_schedule="none", learning_rate=0.01))
    res = run_training(df.to_csv(index=False).encode(), spec, tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text()) if (tmp_path / "run" / "metrics.json").exists() \
        else res.metrics
    assert set(m["baselines"]) == {"majority_class", "nearest_neighbour", "nearest_neighbour_dtw"}
    assert 0.0 <= m["baselines"]["nearest_neighbour_dtw"]["accuracy"] <= 1.0
    info = m["baseline_info"]["nearest_neighbour_dtw"]
    assert info["window"] in dtw.WINDOW_GRID and info["length"] == 40 and not info["skipped"]
    assert any("1-nearest-neighbour (DTW)" in n for n in m["baseline_notes"])
    assert any("1-nearest-neighbour (DTW)" in n for n in m["notes"])
    # the verdict compares with the best of every baseline, DTW included
    want = compare_to_baselines(m["test"], m["baselines"], "accuracy")
    assert m["comparison"]["best_baseline_value"] == want["best_baseline_value"]
    assert m["comparison"]["best_baseline_value"] >= m["baselines"]["nearest_neighbour_dtw"]["accuracy"]
    assert BASELINE_NAMES["nearest_neighbour_dtw"] == "1-nearest-neighbour (DTW)"
    assert BASELINE_NAMES["nearest_neighbour"] == "1-nearest-neighbour (Euclidean)"


def test_report_and_verdict_name_the_dtw_baseline():
    """The report labels it "1-nearest-neighbour (DTW)", lists its note without the forecasting text on the
    statistical models, and the verdict names it when it is the best baseline."""
    from seqcore.config import DataSpec, RunSpec
    from seqcore.modeling.metrics import classification_metrics
    from seqcore.modeling.statmodels import STAT_BASELINES_TEXT
    from seqcore.outputs.report import run_report_html

    names = ["a", "b"]
    y = np.array([0, 0, 1, 1, 1, 0])
    proba = np.array([[.9, .1], [.3, .7], [.2, .8], [.4, .6], [.7, .3], [.8, .2]])
    one_hot = lambda p: np.eye(2)[p]  # noqa: E731
    test = classification_metrics(y, proba, names)
    base = {"majority_class": classification_metrics(y, one_hot([1] * 6), names),
            "nearest_neighbour": classification_metrics(y, one_hot([0, 1, 1, 0, 0, 0]), names),
            "nearest_neighbour_dtw": classification_metrics(y, one_hot([0, 0, 1, 1, 1, 1]), names)}
    from seqcore.modeling.metrics import compare_to_baselines
    note = "The 1-nearest-neighbour (DTW) baseline let time stretch by up to 3 step(s) (2% of the 150 steps)."
    metrics = {"test": test, "baselines": base, "comparison": compare_to_baselines(test, base, "accuracy"),
               "baseline_notes": [note], "notes": [note],
               "training": {"epochs_run": 6, "best_epoch": 4, "seconds": 1.0, "params": 10,
                            "sizes": {"train": 30, "val": 0, "test": 6}}}
    assert metrics["comparison"]["best_baseline"] == "nearest_neighbour_dtw"
    spec = RunSpec(data=DataSpec(task="classify", label="label"))
    html = run_report_html(run_name="r", spec=spec, metrics=metrics, history=[], predictions=None, forecast=None)
    assert "1-nearest-neighbour (DTW)</th>" in html and "1-nearest-neighbour (Euclidean)</th>" in html
    assert html.count("let time stretch by up to 3 step(s)") == 1   # listed once, under the baselines
    assert STAT_BASELINES_TEXT not in html
    verdict = html[html.index("class='verdict"):]
    assert "1-nearest-neighbour (DTW)" in verdict[:600]


@pytest.mark.parametrize("engine", ENGINES)
def test_nearest_in_chunks_matches_the_whole_matrix(engine):
    """Many sequences: the nearest neighbours are found a few rows at a time (bounded memory), the same ones."""
    rng = np.random.default_rng(7)
    A, B = rng.normal(size=(23, 15, 2)), rng.normal(size=(17, 15, 2))
    for other in (B, None):
        whole = dtw.nearest(A, other, 3, engine=engine)
        chunked = dtw.nearest(A, other, 3, engine=engine, max_entries=40)   # 2 rows of A at a time
        np.testing.assert_array_equal(chunked, whole)
    assert (dtw.nearest(A, None, 3, engine=engine, max_entries=40) != np.arange(23)).all()   # never itself
