"""Sequence classification: one label per sequence.

Wide layout: one row per sequence (a label column + value columns in step order; trailing empty
cells shorten a sequence). Long layout: one row per step (sequence id, optional step order,
feature columns, label). Sequences are (steps, features); varying lengths are right-padded with
PAD_VALUE and masked.

Long sequences are fed to the network in groups of k consecutive steps: (steps, F) becomes
(ceil(steps / k), k * F), so the recurrent layer runs ceil(steps / k) steps and each of them sees k
raw steps at once. Nothing is thrown away, the recurrence is k times shorter (gradients reach the
start of the sequence, and the CPU step loop is k times cheaper). A sequence whose length is not a
multiple of k repeats its last step to fill its last group, so padding stays whole groups.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from seqcore.data import schema
from seqcore.config import DataSpec
from seqcore.errors import DataError
from seqcore.modeling.models import PAD_VALUE, ModelShape
from seqcore.data.windows import ArraySource, pad_sequences
from seqcore.modeling.tasks.common import (Prepared, baseline_outputs, encode_labels, evaluate_classification, labels_as_strings,
                     probability_frame, require_columns, stratified_split, train_on_small_validation)

RNN_STEPS = 30  # automatic grouping keeps the recurrent layer at about this many steps


def group_size(group_steps: int, steps: int) -> int:
    """k consecutive steps per network step: ``group_steps`` when set (at most ``steps``), else the
    smallest k that brings ``steps`` down to RNN_STEPS or fewer."""
    if group_steps:
        return max(1, min(int(group_steps), int(steps)))
    return max(1, math.ceil(int(steps) / RNN_STEPS))


def group(seq: np.ndarray, k: int) -> np.ndarray:
    """(len, F) -> (ceil(len / k), k * F): row j holds steps j*k .. j*k+k-1 (step-major, then feature).
    A length that is not a multiple of k repeats the last step to fill the last group."""
    if k <= 1:
        return seq
    n, f = seq.shape
    fill = (-n) % k
    if fill:
        seq = np.concatenate([seq, np.repeat(seq[-1:], fill, axis=0)], axis=0)
    return seq.reshape((n + fill) // k, k * f)


def resolve_layout(spec: DataSpec) -> str:
    if spec.layout != "auto":
        return spec.layout
    return "long" if spec.id else "wide"


def value_columns(df: pd.DataFrame, spec: DataSpec, layout: str) -> list[str]:
    if spec.features:
        return list(spec.features)
    skip = {spec.label, spec.id, spec.order, spec.time}
    cols = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    if not cols:
        raise DataError("No numeric value columns were found for the sequences.",
                        hint="Pick the value columns explicitly, or check the delimiter and decimal settings.")
    return cols


def _fill_1d(v: np.ndarray, policy: str, where: str) -> np.ndarray | None:
    """Missing values inside one sequence channel. Returns None when the sequence must be dropped."""
    bad = np.isnan(v)
    if not bad.any():
        return v
    if policy == "error":
        raise DataError(f"{where} has {int(bad.sum())} missing value(s).",
                        hint="Choose how to handle missing values: interpolate, forward-fill or drop.")
    if policy == "drop":
        return None
    if bad.all():
        return None
    idx = np.arange(len(v))
    if policy == "interpolate":
        return np.interp(idx, idx[~bad], v[~bad])
    s = pd.Series(v).ffill().bfill()  # ffill
    return s.to_numpy()


def extract_sequences(df: pd.DataFrame, spec: DataSpec, columns: list[str], *, labels_required: bool = True,
                      what: str = "the data"):
    """Returns (sequences list of (len, F) float64, labels Series or None, ids list, notes)."""
    layout = resolve_layout(spec)
    notes: list[str] = []
    has_label = spec.label is not None and spec.label in df.columns
    if labels_required:
        require_columns(df, [spec.label], what=what)
    if layout == "wide":
        require_columns(df, columns, what=what)
        vals = np.stack([schema.numeric_column(df, c) for c in columns], axis=1)  # (n, steps)
        if np.isinf(vals).any():
            r = int(np.argwhere(np.isinf(vals))[0][0])
            raise DataError(f"Row on line {r + 2} has an infinite or too-large value.",
                            hint="Replace it with a real number or leave the cell empty.")
        seqs, ids, keep = [], [], []
        dropped = 0
        for r in range(vals.shape[0]):
            v = vals[r]
            ok = np.flatnonzero(~np.isnan(v))
            if len(ok) == 0:
                dropped += 1
                continue
            v = v[: ok[-1] + 1]  # trailing empty cells shorten the sequence
            v2 = _fill_1d(v, spec.missing, f"The sequence on line {r + 2}")
            if v2 is None:
                dropped += 1
                continue
            seqs.append(v2[:, None])
            ids.append(r + 2)
            keep.append(r)
        labels = labels_as_strings(df[spec.label].iloc[keep]) if has_label else None
        if dropped:
            notes.append(f"{dropped} row(s) without usable values were left out.")
        id_name = "line"
    else:
        require_columns(df, [spec.id, spec.order, *columns], what=what)
        frame = df[[c for c in [spec.id, spec.order, spec.label if has_label else None, *columns] if c]].copy()
        for c in columns:
            frame[c] = schema.numeric_column(frame, c)
        if spec.order:
            frame["__order__"] = schema.numeric_column(frame, spec.order) if pd.api.types.is_numeric_dtype(
                frame[spec.order]) else np.asarray(schema.parse_time(frame, spec.order))
        else:
            frame["__order__"] = np.arange(len(frame))
        frame["__line__"] = np.arange(len(frame)) + 2
        seqs, ids, lab = [], [], []
        dropped = 0
        for sid, g in frame.groupby(spec.id, sort=False):
            g = g.sort_values("__order__", kind="stable")
            if has_label:
                ul = labels_as_strings(g[spec.label].dropna()).unique()
                if len(ul) > 1:
                    raise DataError(f"Sequence '{sid}' has more than one label ({', '.join(map(str, ul[:3]))}).",
                                    hint="Each sequence id must have a single label on all its rows.")
                if len(ul) == 0:
                    dropped += 1
                    continue
            v = g[columns].to_numpy(dtype=np.float64)
            if np.isinf(v).any():
                raise DataError(f"Sequence '{sid}' has an infinite or too-large value "
                                f"(line {int(g['__line__'].iloc[int(np.argwhere(np.isinf(v))[0][0])])}).",
                                hint="Replace it with a real number or leave the cell empty.")
            cols_out = []
            for j, c in enumerate(columns):
                f = _fill_1d(v[:, j], spec.missing, f"Sequence '{sid}', column '{c}'")
                if f is None:
                    break
                cols_out.append(f)
            if len(cols_out) < len(columns):
                dropped += 1
                continue
            seqs.append(np.stack(cols_out, axis=1))
            ids.append(sid)
            if has_label:
                lab.append(ul[0])
        labels = pd.Series(lab, dtype=object) if has_label else None
        if dropped:
            notes.append(f"{dropped} sequence(s) with missing values or no label were left out.")
        id_name = spec.id
    if not seqs:
        raise DataError(f"No usable sequences were found in {what}.",
                        hint="Check the label and value columns, and the missing-value choice.")
    return seqs, labels, pd.DataFrame({id_name: ids}), notes


def _znorm(seqs: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for s in seqs:
        sd = s.std(axis=0)
        out.append((s - s.mean(axis=0)) / np.where(sd > 1e-8, sd, 1.0))
    return out


def _to_array(seqs, state) -> tuple[np.ndarray, np.ndarray]:
    """Scale, cut to the last ``state["steps"]`` steps, group ``state["group"]`` steps together and pad.

    Returns (X (n, ceil(steps / k), k * F) float32 right-padded with PAD_VALUE, lengths in network steps)."""
    mean, std = np.asarray(state["mean"]), np.asarray(state["std"])
    if state["znorm"]:
        seqs = _znorm(seqs)
    k = int(state.get("group", 1))
    scaled = [group(((s[-state["steps"]:] - mean) / std).astype(np.float32), k) for s in seqs]
    steps = math.ceil(state["steps"] / k)
    x, lengths = pad_sequences(scaled, steps, value=PAD_VALUE)
    if x.shape[1] < steps:
        x = np.concatenate([x, np.full((x.shape[0], steps - x.shape[1], x.shape[2]), PAD_VALUE, np.float32)], axis=1)
    return x, lengths


def prepare(df: pd.DataFrame, spec: DataSpec, *, test_df: pd.DataFrame | None = None, seed: int = 0) -> Prepared:
    spec.validate()
    layout = resolve_layout(spec)
    columns = value_columns(df, spec, layout)
    seqs, labels, ids, notes = extract_sequences(df, spec, columns)
    y, names = encode_labels(labels, column=spec.label)
    if test_df is not None:
        t_seqs, t_labels, t_ids, t_notes = extract_sequences(test_df, spec, columns, what="the test file")
        notes += [f"Test file: {n}" for n in t_notes]
        unknown = sorted(set(t_labels) - set(names))
        if unknown:
            raise DataError(f"The test file has label(s) that the training file never uses: {', '.join(unknown[:5])}.",
                            hint="Make sure both files use the same class names.")
        index = {n: i for i, n in enumerate(names)}
        y_test = t_labels.map(index).to_numpy(dtype=np.int64)
        tr, va, _, split_notes = stratified_split(y, spec.val_fraction, 0.0, seed, class_names=names)
        all_seqs, all_y = seqs + t_seqs, np.concatenate([y, y_test])
        te = np.arange(len(seqs), len(all_seqs))
        id_frame = pd.concat([ids, t_ids], ignore_index=True)
        notes.append(f"Using the separate test file ({len(t_seqs)} sequences) as the test set.")
    else:
        tr, va, te, split_notes = stratified_split(y, spec.val_fraction, spec.test_fraction, seed, class_names=names)
        all_seqs, all_y, id_frame = seqs, y, ids
        if len(te) == 0:
            raise DataError("There are too few sequences for a test set.",
                            hint="Upload more sequences, a separate test file, or raise the test fraction.")
    notes += split_notes
    tr, va, small_note = train_on_small_validation(tr, va)
    notes += small_note
    train_seqs = [all_seqs[i] for i in tr]
    if spec.znorm:
        train_seqs = _znorm(train_seqs)
    stacked = np.concatenate(train_seqs, axis=0)
    mean = stacked.mean(axis=0)
    std = stacked.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    lengths_all = np.array([len(s) for s in all_seqs])
    steps = int(min(spec.max_steps, lengths_all[tr].max()))
    if lengths_all.max() > spec.max_steps:
        notes.append(f"Sequences longer than {spec.max_steps} steps were cut to their last {spec.max_steps} steps.")
    state = {
        "task": "classify", "layout": layout, "label": spec.label, "id": spec.id, "order": spec.order,
        "features": columns, "class_names": names, "steps": steps, "n_features": int(all_seqs[0].shape[1]),
        "mean": mean.tolist(), "std": std.tolist(), "znorm": spec.znorm, "missing": spec.missing,
        "group": group_size(spec.group_steps, steps),
    }
    if state["group"] > 1:
        notes.append(f"The network reads {state['group']} consecutive steps at a time "
                     f"({math.ceil(steps / state['group'])} steps of {state['group'] * state['n_features']} values "
                     f"instead of {steps} steps of {state['n_features']}): faster, and easier to learn.")
    x, lengths = _to_array(all_seqs, state)
    # the 1-nearest-neighbour baseline compares the plain (ungrouped) sequences
    x_flat, lengths_flat = _to_array(all_seqs, {**state, "group": 1}) if state["group"] > 1 else (x, lengths)
    fit = np.concatenate([tr, va])
    masking = bool((lengths != x.shape[1]).any())
    state["masking"] = masking
    if layout == "wide":
        state["columns"] = {c: "numeric" for c in columns}
    else:
        state["columns"] = {spec.id: "any", **({spec.order: "any"} if spec.order else {}),
                            **{c: "numeric" for c in columns}}
    shape = ModelShape(task="classify", input_shape=tuple(x.shape[1:]), output_shape=(len(names),), masking=masking)
    return Prepared(
        task="classify", shape=shape,
        train=ArraySource(x[tr], all_y[tr]), val=ArraySource(x[va], all_y[va]) if len(va) else None,
        test=ArraySource(x[te], all_y[te]), state=state, notes=notes,
        # baselines have nothing to tune, so they learn from everything the model saw (train + validation)
        extra={"y_train": all_y[fit], "y_test": all_y[te], "lengths_train": lengths_flat[fit],
               "lengths_test": lengths_flat[te], "x_train": x_flat[fit], "x_test": x_flat[te],
               "ids_test": id_frame.iloc[te]},
    )


def evaluate(prep: Prepared, outputs: np.ndarray) -> tuple[dict, pd.DataFrame]:
    from seqcore.modeling.baselines import majority_baseline, nearest_neighbour_baseline, nearest_neighbour_dtw_baseline

    ex, c = prep.extra, len(prep.state["class_names"])
    n_test = len(ex["y_test"])

    def compute() -> dict:
        x_train = np.where(ex["x_train"] == PAD_VALUE, np.nan, ex["x_train"])
        x_test = np.where(ex["x_test"] == PAD_VALUE, np.nan, ex["x_test"])
        lengths = dict(lengths_train=ex["lengths_train"], lengths_test=ex["lengths_test"])
        out = {"majority_class": majority_baseline(ex["y_train"], n_test, c),
               "nearest_neighbour": nearest_neighbour_baseline(x_train, ex["y_train"], x_test, c, **lengths)}
        # the warping window is picked on the training part; skipped (with a note) past its time budget
        dtw = nearest_neighbour_dtw_baseline(x_train, ex["y_train"], x_test, c, **lengths)
        ex["baseline_notes"] = [dtw.note]
        ex["baseline_info"] = {"nearest_neighbour_dtw": dtw.info()}
        if dtw.proba is not None:
            out["nearest_neighbour_dtw"] = dtw.proba
        return out

    base = baseline_outputs(prep, compute)
    metrics, frame = evaluate_classification(prep, np.asarray(outputs, dtype=np.float64), base, ex["ids_test"])
    metrics["baseline_notes"] = list(ex.get("baseline_notes") or [])
    metrics["test"]["notes"] = list(metrics["test"].get("notes") or []) + metrics["baseline_notes"]  # join the notes
    metrics["baseline_info"] = dict(ex.get("baseline_info") or {})
    return metrics, frame


def required_columns(state: dict) -> dict[str, str]:
    return dict(state["columns"])


def predict_new(state: dict, spec: DataSpec, df: pd.DataFrame, predict_fn) -> pd.DataFrame:
    spec = spec.replace(features=tuple(state["features"]))
    seqs, labels, ids, _ = extract_sequences(df, spec, list(state["features"]), labels_required=False,
                                             what="the uploaded data")
    x, _ = _to_array(seqs, state)
    proba = np.asarray(predict_fn(x), dtype=np.float64)
    frame = probability_frame(proba, state["class_names"], ids)
    if labels is not None and len(labels) == len(frame):
        frame.insert(1, "actual", labels.to_numpy())
    return frame
