"""Seed ensembles for classification: K networks that differ only in their seed, class probabilities averaged.

On a small training set one network's test score depends a lot on luck (its starting weights and the order
of its batches): two seeds of the same settings can differ by more than the gap to a baseline. Averaging
the probabilities of K networks trained with different seeds on the same split removes most of that luck.

``TrainSpec.members``: 0 = automatic (:func:`auto_members`; one network when ``SEQSTUDIO_ENSEMBLE=0``,
:func:`seqcore.settings.ensemble`), 1 = one network, K = exactly K networks.
Member 1 is the run's usual network (seed ``TrainSpec.seed``, the loss chart's curves, the checkpoint);
members 2..K train after it with the seeds :func:`member_seeds` gives, on the same training / validation
split, and report progress as kind ``"member"`` (:data:`KIND`; ``epoch`` = the member, ``epochs`` = K,
``batch`` / ``batches`` = its epoch / planned epochs, ``metrics["phase"]`` = "train" or "final").

What a run's ``metrics.json`` holds when it trained more than one member (key ``"ensemble"``)::

    {"members": K,                       # networks averaged
     "planned": K0,                      # networks planned once member 1 trained (the work budget applied);
                                         # K0 > K: a stop request ended member K + 1
     "seeds": [s1, ..., sK],
     "per_member": {"accuracy": [...], "balanced_accuracy": [...]},   # each network alone, same test data
     "spread": {"sd": ..., "min": ..., "max": ..., "mean": ...},      # of per_member accuracy
     "seconds": [...],                   # each member's training seconds (its final fit included)
     "work": [...],                      # each member's training work in example-steps (:func:`member_work`)
     "auto": bool,                       # the count was automatic (TrainSpec.members = 0)
     "stopped": bool}                    # a stop request ended the member in progress (it was dropped)

``metrics["test"]`` is the averaged model's. Forecasting trains one network (``members`` > 1 is refused).
Nothing here imports Keras at module import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from seqcore.errors import SpecError

KIND = "member"
#: automatic member counts by training-set size (examples the networks learn from), sequences and texts
AUTO_SEQUENCES = ((300, 5), (3_000, 3))       # under 300 sequences: 5 networks; under 3,000: 3
AUTO_TEXTS = ((10_000, 3),)                   # under 10,000 texts: 3 networks (each text run also has a final fit)
#: automatic members stop being added when the next one would take the run past this much training work, counted
#: as example-steps (epochs x examples x the time steps the network loops over, :func:`member_work`), the first
#: member's work standing for each: deterministic (the same data, settings and seed always give the same member
#: count, however busy the machine), unlike a time budget. About 40 s of training on this 2-core machine (JAX,
#: the balanced preset, measured by bench/ensemble.py under load: 9-23 microseconds an example-step; a GunPoint
#: member ~400,000 example-steps, so 5 fit; PigCVP ~950,000, so 3).
AUTO_BUDGET_WORK = 3_000_000
AUTO_BUDGET_S = 40.0          # what AUTO_BUDGET_WORK is meant to be, for the notes
#: Texts have their own budget: averaging networks was the clearest gain on movie reviews (bench/text_models.py,
#: chosen on the development part: one GRU 0.763, the automatic count 0.767, exactly 3 GRUs 0.772; bag-of-words
#: 0.745). A text network's example-steps are cheaper than a sequence network's (one embedding lookup per word,
#: 64 words); on the ~3,900 sample reviews one network (14 epochs, then a 4-epoch final fit: seed 42 of the
#: accuracy suite) is about 4 million, so 3 fit, about 90 s in all on this 2-core machine. A first network that
#: trains longer, or a larger text set, keeps fewer.
AUTO_BUDGET_WORK_TEXT = 15_000_000
AUTO_BUDGET_S_TEXT = 90.0
MAX_MEMBERS = 20


def member_seeds(seed: int, k: int) -> list[int]:
    """The K members' seeds: the run's own seed first (one member is exactly the one-network run), then seeds
    far from it, so the runs of neighbouring seeds (42, 43) do not share members."""
    return [int(seed)] + [int((seed + 7919 * i) % (2**31 - 1)) for i in range(1, int(k))]


def auto_members(task: str, n_train: int) -> int:
    """The automatic member count for ``n_train`` training examples (1 for forecasting)."""
    table = AUTO_SEQUENCES if task == "classify" else AUTO_TEXTS if task == "text" else ()
    for limit, k in table:
        if n_train < limit:
            return k
    return 1


@dataclass(frozen=True)
class Plan:
    """How many networks a run trains and why."""

    members: int          # planned
    auto: bool            # chosen automatically (the time budget may cut it)
    n_train: int          # training examples the choice looked at
    task: str

    @property
    def on(self) -> bool:
        return self.members > 1


def plan(task: str, members: int, n_train: int) -> Plan:
    """The members a run trains: ``members`` (TrainSpec.members) resolved for ``task`` and its training size.
    Forecasting trains one network; asking it for more is a :class:`SpecError`."""
    members = int(members or 0)
    if task not in ("classify", "text"):
        if members > 1:
            raise SpecError("Averaging several networks (members) is for classification; a forecast trains one "
                            "network.", hint="Set members to 0 (automatic) or 1.")
        return Plan(1, members == 0, n_train, task)
    if members == 0:
        from seqcore import settings

        return Plan(auto_members(task, n_train) if settings.ensemble() else 1, True, n_train, task)
    return Plan(min(members, MAX_MEMBERS), False, n_train, task)


def why(p: Plan) -> str:
    """Why the run trains ``p.members`` networks, in plain words (for the Train page and the run's notes)."""
    what = "sequences" if p.task == "classify" else "texts"
    if p.auto:
        return (f"small training set ({p.n_train:,} {what}): averaging {p.members} networks trained with different "
                "seeds makes the result less dependent on luck")
    return f"you asked for {p.members} networks, trained with different seeds, their probabilities averaged"


def plan_note(p: Plan) -> str:
    """The Train page's sentence before training (empty for one network)."""
    if not p.on:
        return ""
    cut = (" Fewer are trained when the first one shows that they would take the run much past about "
           f"{budget(p.task)[1]:.0f} s of training.") if p.auto else ""
    return (f"{p.members} networks are trained one after another and their class probabilities averaged — "
            f"{why(p)}.{cut}")


def member_work(epochs: int, examples: int, steps: int) -> int:
    """A member's training work in example-steps: ``epochs`` passes over ``examples`` sequences or texts of
    ``steps`` time steps (what the recurrent layers loop over)."""
    return int(max(0, epochs)) * int(max(0, examples)) * int(max(1, steps))


def budget(task: str) -> tuple[int, float]:
    """(work, about how many seconds of training that is) the automatic member count keeps a run of ``task`` to."""
    return (AUTO_BUDGET_WORK_TEXT, AUTO_BUDGET_S_TEXT) if task == "text" else (AUTO_BUDGET_WORK, AUTO_BUDGET_S)


def members_after_first(p: Plan, first_work: int) -> int:
    """The members the run trains, known once member 1 has trained: ``p.members`` for an explicit count; for an
    automatic one as many as fit in the task's :func:`budget` at member 1's work (at least 1)."""
    if not p.auto or first_work <= 0:
        return p.members
    return max(1, min(p.members, int(budget(p.task)[0] // first_work)))


def keep_adding(p: Plan, done: int, work: list[int]) -> bool:
    """Whether to train member ``done + 1`` (``work``: the members' work so far, member 1's first)."""
    return done < (members_after_first(p, work[0]) if work else p.members)


def as_first(on_progress: Callable | None, k: int) -> Callable | None:
    """Member 1's progress listener: its points keep their kinds (they are the loss chart's curves) and carry
    ``metrics["member"] = 1`` and ``metrics["members"] = k`` (planned), so the progress bar can say so."""
    if on_progress is None or k <= 1:
        return on_progress

    def forward(p):
        if p.kind in ("batch", "epoch", "final"):
            p = replace(p, metrics={**(p.metrics or {}), "member": 1, "members": k})
        on_progress(p)
    return forward


def as_member(on_progress: Callable | None, i: int, k: int, elapsed: float = 0.0) -> Callable | None:
    """A progress listener for member ``i`` (2..K) of ``k``: its points as kind "member" (see the module
    docstring), so the loss chart keeps member 1's curves only. ``elapsed``: the training seconds of the members
    before it, added to each point's clock (the Train page's time left reads the run's clock)."""
    if on_progress is None:
        return None

    def forward(p):
        phase = "final" if p.kind == "final" else "train"
        if p.kind == "batch" or (p.kind == "final" and p.batch < p.batches):   # within an epoch
            at = (p.epoch - 1) + (p.batch / p.batches if p.batches else 0.0)
        else:
            at = float(p.epoch)
        on_progress(replace(p, kind=KIND, epoch=i, epochs=k, batch=int(at), batches=int(p.epochs),
                            elapsed=float(elapsed) + float(p.elapsed or 0.0),
                            val_loss=None if p.kind == "batch" else p.val_loss,
                            metrics={"member": i, "members": k, "phase": phase}))
    return forward


def member_phase(last, ended: bool) -> tuple[float, int, str]:
    """The Train page's progress while members 2..K train, from the newest point ``last`` (kind "member"):
    (members done, with the one in progress as a fraction; members; the progress text)."""
    k = max(1, int(last.epochs or 1))
    within = min(1.0, last.batch / last.batches) if last.batches else 0.0
    if ended:
        return float(last.epoch), k, f"Member {last.epoch} of {k} trained"
    phase = (last.metrics or {}).get("phase")
    what = "final fit, epoch" if phase == "final" else "epoch"
    text = (f"Training member {last.epoch} of {k} (the networks are averaged at the end) · "
            + (f"{what} {last.batch} of {last.batches}" if last.batch else "starting"))
    return last.epoch - 1 + within, k, text


def first_member_text(last) -> str:
    """"Member 1 of K · " for a point of member 1 of a seed ensemble (see :func:`as_first`), else ""."""
    m = getattr(last, "metrics", None)
    if not isinstance(m, dict) or m.get("member") != 1 or not isinstance(m.get("members"), int) or m["members"] < 2:
        return ""
    return f"Member 1 of {m['members']} · "


def average(outputs: list[np.ndarray]) -> np.ndarray:
    """The members' class probabilities averaged: ``(n, classes)`` from K arrays of that shape."""
    arr = np.stack([np.asarray(o, dtype=np.float64) for o in outputs])
    return arr.mean(axis=0)


def summary(p: Plan, seeds: list[int], member_tests: list[dict], seconds: list[float], work: list[int]) -> dict:
    """The ``metrics["ensemble"]`` block (see the module docstring) from each member's test metrics."""
    per = {k: [float(t[k]) for t in member_tests] for k in ("accuracy", "balanced_accuracy")
           if all(isinstance(t.get(k), (int, float)) for t in member_tests)}
    acc = per.get("accuracy", [])
    sd = float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.0
    return {"members": len(member_tests), "planned": p.members, "auto": p.auto, "seeds": list(seeds[:len(member_tests)]),
            "per_member": per,
            "spread": {"sd": sd, "min": min(acc), "max": max(acc), "mean": float(np.mean(acc))} if acc else {},
            "seconds": [round(s, 3) for s in seconds], "work": [int(w) for w in work]}


def _pct(x: float) -> str:
    return f"{x:.2f}" if x < 1 else "1.00"


def spread_sentence(metrics: dict | None) -> str:
    """"Seed spread: members scored 0.95–0.98 (sd 1.2 points); the averaged model 0.97." (empty without an
    ensemble). Accuracy as a share, sd in percentage points."""
    ens = (metrics or {}).get("ensemble")
    test = (metrics or {}).get("test")
    if not isinstance(ens, dict) or not isinstance(ens.get("spread"), dict) or not ens["spread"]:
        return ""
    s = ens["spread"]
    try:
        lo, hi, sd = float(s["min"]), float(s["max"]), float(s["sd"])
    except (KeyError, TypeError, ValueError):
        return ""
    if not all(map(math.isfinite, (lo, hi, sd))):
        return ""
    k = int(ens.get("members") or 0)
    scored = f"scored {_pct(lo)}–{_pct(hi)}" if round(lo, 2) != round(hi, 2) else f"each scored {_pct(lo)}"
    text = f"Seed spread: the {k} networks {scored} accuracy alone (sd {sd * 100:.1f} points)"
    acc = test.get("accuracy") if isinstance(test, dict) else None
    if isinstance(acc, (int, float)):
        text += f"; the averaged model {_pct(float(acc))}"
    return text + "."


def run_note(ens: dict, p: Plan) -> str:
    """The run's note on its members (how many, why, and whether a stop or the time budget cut them)."""
    k = int(ens.get("members") or 1)
    if k < 2:
        return (f"One network was trained, although {p.members} were planned to be averaged: "
                + ("training was stopped before the second one finished." if ens.get("stopped") else
                   f"the first one's training was long ({sum(ens.get('seconds') or [0.0]):.0f} s here), so the "
                   f"automatic choice did not add more (it keeps a run to about {budget(p.task)[1]:.0f} s of training "
                   "on a 2-core machine; ask for a number of members to override it)."))
    text = (f"Seed ensemble: {k} networks trained with different seeds (seeds {', '.join(map(str, ens.get('seeds', [])))}) "
            f"on the same data; their class probabilities are averaged, and that average is the model saved and "
            f"scored ({why(p)}).")
    planned = int(ens.get("planned") or p.members)
    if ens.get("stopped"):
        text += (f" Training was stopped during member {k + 1} of {planned}: the {k} networks finished before "
                 "the stop are kept and averaged; the unfinished one is dropped.")
    if planned < p.members:
        avg = sum(ens.get("seconds") or [0.0]) / max(1, len(ens.get("seconds") or [1]))
        text += (f" The training-set size called for {p.members}, but one network's training is long here (about "
                 f"{avg:.0f} s), so the automatic choice trained {planned} to keep the run to about "
                 f"{budget(p.task)[1]:.0f} s of training on a 2-core machine.")
    return text
