"""``ModelSpec.conv = "auto"`` / ``TrainSpec.augment = "auto"``: pick the sequence classifier's design per data set.

The candidates (:func:`candidates`) vary only the settings left on "auto". When both are, the recurrent network
alone is compared with the full design: the convolution front end, augmented batches and, when pooling is
the presets' "last", attention pooling (another pooling the user picked is kept). In bench/classify_models.py
(2 seeds) the front end was the big gain (GunPoint 0.967 -> 0.99, PigCVP 0.25 -> 0.44), attention on top of
it another one on PigCVP (0.59; alone it lost on GunPoint and BasicMotions), augmentation alone was no better
than the network alone, and two candidates keep the search within the balanced preset's time budget. They
are each trained with the run's own
settings, on a shortened schedule (:data:`SEARCH_EPOCHS`, :data:`SEARCH_PATIENCE`), and scored by accuracy
(ties: the lower cross-entropy) on

- the validation part, when it holds at least :data:`MIN_VALIDATION` sequences;
- else :data:`FOLDS`-fold cross-validation on the training part (stratified; every sequence is held out once).

Only the training and validation parts are read: the test part plays no part in the choice. The run then
trains the picked design as usual. ``metrics["model_choice"]`` records the scores, the seconds and how the
choice was made, and a plain note says what was picked and why (the same pattern as the forecaster's base,
:mod:`seqcore.modeling.base_select`, whose progress points, kind "choose", this reuses).

``SEQSTUDIO_ARCH_SEARCH=0`` (:func:`seqcore.settings.arch_search`) switches the search off: "auto" then means
:data:`FALLBACK` without trying anything (the test suite does this to stay short).
"""

from __future__ import annotations

import time

import numpy as np

#: Fewest validation sequences to choose on the validation part; below that, cross-validation on the training part.
MIN_VALIDATION = 20
#: Folds of the cross-validation on the training part (each candidate is trained this many times).
FOLDS = 3
#: The search's schedule: each candidate training runs at most this many epochs, stopping after this many
#: without a better held-out score (the run itself then trains with its own, longer schedule).
SEARCH_EPOCHS = 80
SEARCH_PATIENCE = 30
#: With a cap on weight updates (``TrainSpec.max_updates``), each candidate training gets this share of it
#: (on thousands of sequences the designs separate well within a third of the run's own updates).
SEARCH_UPDATES_SHARE = 1 / 3
#: The search runs only while (training sequences x network steps) stays below this (longer: :data:`FALLBACK`).
MAX_SEARCH_CELLS = 200_000
#: What "auto" means when nothing is tried (search switched off, or the data too large to search).
FALLBACK = {"conv": "off", "augment": "off"}

#: Plain words for each candidate (progress, notes).
CANDIDATE_TEXT = {
    "plain": "the recurrent network alone",
    "conv": "the recurrent network with the convolution front end",
    "augment": "the recurrent network trained on augmented batches",
    "conv+augment": "the recurrent network with the convolution front end and augmented batches",
    "conv+augment+attention": "the recurrent network with the convolution front end, attention pooling and "
                              "augmented batches",
}
#: The progress name of a candidate (``metrics["candidate"]`` of a kind "choose" point) starts with this.
PREFIX = "arch:"


def pending(spec) -> bool:
    """Whether ``spec`` leaves a design choice to the run: sequence classification with an "auto" setting."""
    return spec.data.task == "classify" and (spec.model.conv == "auto" or spec.train.augment == "auto")


def candidates(spec) -> list[dict]:
    """The designs tried, in order of cost (the first is the simplest): {"name", "conv", "augment"}."""
    convs = ["off", "on"] if spec.model.conv == "auto" else [spec.model.conv]
    augs = ["off", "on"] if spec.train.augment == "auto" else [spec.train.augment]
    both = spec.model.conv == "auto" and spec.train.augment == "auto"
    out = []
    for aug in augs:
        for conv in convs:
            if both and (conv == "on") != (aug == "on"):
                continue   # see the module's docstring: two candidates, not four
            pooling = spec.model.pooling
            if both and conv == "on" and pooling == "last":
                pooling = "attention"   # the full design pools with attention (the preset's "last" is replaced)
            parts = [p for p, on in (("conv", conv == "on"), ("augment", aug == "on"),
                                     ("attention", pooling != spec.model.pooling)) if on]
            out.append({"name": "+".join(parts) or "plain", "conv": conv, "augment": aug, "pooling": pooling})
    return out


def apply(spec, picked: dict):
    """``spec`` with the picked design's settings (no "auto" left)."""
    return spec.replace(model=spec.model.replace(conv=picked["conv"], pooling=picked.get("pooling", spec.model.pooling)),
                        train=spec.train.replace(augment=picked["augment"]))


def candidate_text(name) -> str:
    """Plain words for a kind "choose" point's candidate ("" when it is not one of these)."""
    if not isinstance(name, str) or not name.startswith(PREFIX):
        return ""
    return CANDIDATE_TEXT.get(name[len(PREFIX):], "")


#: The file in a run's checkpoint folder that keeps the picked design.
CHOICE_FILE = "arch_choice.json"


def choose(spec, prep, *, should_stop=None, on_progress=None, checkpoint_dir=None, resume: bool = False):
    """(``spec`` with every "auto" design setting settled, ``prep`` with the choice noted).

    Sets ``prep.extra["model_choice"]`` and adds a plain note. ``should_stop()`` is checked before each training
    (a stop request ends the search: the best so far, else the first candidate, is kept and the run then stops as
    usual). With ``checkpoint_dir`` the choice is kept there and a resumed run takes it back."""
    from seqcore.modeling.base_select import load_kept_choice, save_choice

    if not pending(spec):
        return spec, prep
    kept = load_kept_choice(checkpoint_dir, CHOICE_FILE, resume)
    if kept is not None:
        return _finish(spec, prep, *kept)
    choice, note = _search(spec, prep, should_stop, on_progress)
    save_choice(checkpoint_dir, CHOICE_FILE, choice, note)
    return _finish(spec, prep, choice, note)


def _finish(spec, prep, choice: dict, note: str):
    picked = dict(choice["design"])
    prep.extra["model_choice"] = {k: v for k, v in choice.items() if k != "note"}
    prep.notes.append(note)
    return apply(spec, picked), prep


def _fallback_design(spec) -> dict:
    conv = FALLBACK["conv"] if spec.model.conv == "auto" else spec.model.conv
    aug = FALLBACK["augment"] if spec.train.augment == "auto" else spec.train.augment
    return next(c for c in candidates(spec.replace(model=spec.model.replace(conv=conv),
                                                   train=spec.train.replace(augment=aug))))


def _search(spec, prep, should_stop, on_progress) -> tuple[dict, str]:
    from seqcore import settings

    t0 = time.perf_counter()
    cands = candidates(spec)
    choice = {"picked": None, "design": None, "validation": {}, "seconds": 0.0, "how": "validation"}
    n_train = len(prep.train)
    cells = n_train * int(prep.shape.input_shape[0])
    fb = _fallback_design(spec)
    if not settings.arch_search() or cells > MAX_SEARCH_CELLS:
        choice.update(picked=fb["name"], design=_design(fb), how="off" if not settings.arch_search() else "large",
                      seconds=round(time.perf_counter() - t0, 3))
        why = ("the automatic choice is switched off on this installation (SEQSTUDIO_ARCH_SEARCH=0)"
               if choice["how"] == "off" else
               f"with {n_train:,} training sequences the data is large enough for it, and trying each design "
               "would cost too long")
        return choice, f"The network is {CANDIDATE_TEXT[fb['name']]}: {why}."
    use_val = prep.val is not None and len(prep.val) >= MIN_VALIDATION
    folds = _folds(prep.train.y, spec.train.seed) if not use_val else None
    if not use_val and folds is None:
        choice.update(picked=fb["name"], design=_design(fb), how="default", seconds=round(time.perf_counter() - t0, 3))
        return choice, (f"The network is {CANDIDATE_TEXT[fb['name']]} (the default): there are too few training "
                        "sequences to compare designs on.")
    choice["how"] = "validation" if use_val else f"{len(folds)}-fold cross-validation"
    scores: dict[str, tuple[float, float]] = {}
    for i, cand in enumerate(cands, 1):
        if should_stop is not None and should_stop():
            break
        if use_val:
            pairs = [(prep.train, prep.val)]
        else:
            pairs = [(_subset(prep.train, tr), _subset(prep.train, te)) for tr, te in folds]
        per_pair = _planned_epochs(_search_train(apply(spec, cand).train), len(pairs[0][0]))
        point = _pointer(on_progress, i, len(cands), cand["name"], per_pair * len(pairs), t0)
        point(0, None)
        result = _score(spec, prep, cand, pairs, should_stop, point)
        if result is not None:
            scores[cand["name"]] = result
    choice["validation"] = {k: {"accuracy": round(a, 4), "loss": round(l, 4)} for k, (a, l) in scores.items()}
    choice["seconds"] = round(time.perf_counter() - t0, 3)
    if not scores:
        choice.update(picked=fb["name"], design=_design(fb), how="default")
        return choice, f"The network is {CANDIDATE_TEXT[fb['name']]} (the default): no design could be compared."
    best = max(scores, key=lambda k: (scores[k][0], -scores[k][1]))
    picked = next(c for c in cands if c["name"] == best)
    choice.update(picked=best, design=_design(picked))
    return choice, _note(best, scores, use_val, len(folds or []), n_train)


def _design(c: dict) -> dict:
    return {"conv": c["conv"], "augment": c["augment"], "pooling": c["pooling"]}


def _note(best: str, scores: dict, use_val: bool, k: int, n_train: int) -> str:
    where = ("on the validation part" if use_val else
             f"by {k}-fold cross-validation on the {n_train:,} training sequences (the validation part is too "
             "small to choose on)")
    acc, loss = scores[best]
    others = "; ".join(f"{CANDIDATE_TEXT[n]} {a:.1%}" for n, (a, _) in scores.items() if n != best)
    lead = f"The network is {CANDIDATE_TEXT[best]}: it scored best {where} (accuracy {acc:.1%}"
    return lead + (f"; {others})." if others else ").") + " The test data played no part in this choice."


def _folds(y, seed: int):
    """Stratified (train, held-out) index pairs of the training part, or None when a class is too small."""
    y = np.asarray(y)
    counts = np.bincount(y)
    counts = counts[counts > 0]
    k = min(FOLDS, int(counts.min())) if len(counts) else 0
    if k >= 2:
        from sklearn.model_selection import StratifiedKFold

        return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=int(seed) % (2**32)).split(
            np.zeros(len(y)), y))
    if len(y) < 2 * FOLDS:
        return None
    from sklearn.model_selection import KFold   # classes with one example: a plain shuffled split

    return list(KFold(n_splits=FOLDS, shuffle=True, random_state=int(seed) % (2**32)).split(np.zeros(len(y))))


def _subset(src, idx):
    from seqcore.data.windows import ArraySource

    return ArraySource(src.x[idx], src.y[idx])


def _score(spec, prep, cand: dict, pairs, should_stop, point) -> tuple[float, float] | None:
    """Mean (accuracy, cross-entropy) of ``cand`` trained on each (train, held-out) pair; None when it failed."""
    from seqcore.errors import TrainingFailed
    from seqcore.modeling.models import build_model
    from seqcore.modeling.training import fit, set_seed

    trial = apply(spec, cand)
    train = _search_train(trial.train)
    accs, losses = [], []
    for j, (tr, te) in enumerate(pairs):
        if should_stop is not None and should_stop():
            break
        set_seed(spec.train.seed, strict=not spec.train.jit_compile)
        model = build_model(trial.model, train, prep.shape)
        try:
            fit(model, tr, te, train, should_stop=should_stop,
                on_progress=lambda q, j=j: q.kind == "epoch" and point(j * q.epochs + q.epoch, q.loss))
            acc, loss = _held_out(model, te)
        except TrainingFailed:
            return None
        finally:
            _clear()
        accs.append(acc)
        losses.append(loss)
    if not accs:
        return None
    return float(np.mean(accs)), float(np.mean(losses))


def _search_train(train):
    """The search's schedule for a candidate of run schedule ``train``: at most :data:`SEARCH_EPOCHS` epochs and
    :data:`SEARCH_PATIENCE` patience, and :data:`SEARCH_UPDATES_SHARE` of a cap on weight updates."""
    cap = int(train.max_updates or 0)
    return train.replace(epochs=min(train.epochs, SEARCH_EPOCHS),
                         patience=min(train.patience or SEARCH_PATIENCE, SEARCH_PATIENCE),
                         max_updates=max(1, int(cap * SEARCH_UPDATES_SHARE)) if cap else 0)


def _planned_epochs(train, n_train: int) -> int:
    """Epochs a fit of ``train`` plans on ``n_train`` sequences (the progress bar's length)."""
    from seqcore.modeling.training import batches_per_epoch, capped_schedule

    return capped_schedule(train, batches_per_epoch(n_train, train.batch_size))[0]


def _held_out(model, src) -> tuple[float, float]:
    from seqcore.modeling.training import predict

    p = np.clip(predict(model, src, batch_size=256).astype(np.float64), 1e-7, 1.0)
    y = np.asarray(src.y)
    return float(np.mean(p.argmax(axis=1) == y)), float(-np.mean(np.log(p[np.arange(len(y)), y])))


def _pointer(on_progress, i: int, k: int, cand: str, epochs: int, t0: float):
    from seqcore.modeling.base_select import _pointer as base_pointer

    return base_pointer(on_progress, i, k, PREFIX + cand, epochs, t0)


def _clear() -> None:
    from seqcore.modeling.base_select import _clear as clear

    clear()
