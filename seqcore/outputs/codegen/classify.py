"""Section 2 of a sequence-classification script, and the label handling it shares with text scripts.

``LABELS``: class labels as strings, class order, the stratified train / validation / test split
(classify and text scripts both paste it). ``CLASSIFY_PREP``: one (steps, features) sequence per
example from the wide or long layout, scaling, step grouping and padding, as
``seqcore.modeling.tasks.classify`` does.
"""

from __future__ import annotations

LABELS = '''

def labels_as_strings(values):
    """Class labels as clean strings: 1.0 -> "1", " fresh " -> "fresh"."""
    def one(v):
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()
    return values.map(one)


def class_order(name):
    """Numbers in numeric order first, then names alphabetically."""
    try:
        return (0, float(name), "")
    except ValueError:
        return (1, 0.0, name)


def stratified_split(y, val_fraction, test_fraction, seed):
    """Indices (train, val, test) keeping class proportions in each part (plain shuffled split
    when a class is too small to appear in every part)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    counts = np.bincount(y)
    parts = (1 if val_fraction > 0 else 0) + (1 if test_fraction > 0 else 0) + 1
    stratify_ok = counts[counts > 0].min() >= parts

    def cut(pool, frac, random_state):
        if frac <= 0 or len(pool) < 2:
            return pool, pool[:0]
        n_take = max(1, int(round(len(pool) * frac)))
        if n_take >= len(pool):
            n_take = len(pool) - 1
        strat = y[pool] if stratify_ok else None
        try:
            keep, take = train_test_split(pool, test_size=n_take, random_state=random_state, stratify=strat)
        except ValueError:
            keep, take = train_test_split(pool, test_size=n_take, random_state=random_state, stratify=None)
        return np.sort(keep), np.sort(take)

    rest, test = cut(idx, test_fraction, seed)
    train, val = cut(rest, val_fraction / max(1e-9, 1 - test_fraction), seed + 1)
    if len(train) == 0:
        fail("too few rows to train on after setting aside validation and test data.")
    return train, val, test


def split_examples(y, y_test_file):
    """Train / validation / test indices. With a separate test file its examples are the test set
    (they come after the training file's examples). A validation part smaller than MIN_VALIDATION
    joins training: on a handful of examples the validation loss follows noise, so training watches
    the training loss instead and keeps its best epoch."""
    if y_test_file is None:
        train, val, test = stratified_split(y, VAL_FRACTION, TEST_FRACTION, SEED)
        if len(test) == 0:
            fail("too few examples for a test set; raise TEST_FRACTION or add data.")
    else:
        train, val, _ = stratified_split(y, VAL_FRACTION, 0.0, SEED)
        test = np.arange(len(y), len(y) + len(y_test_file))
    if 0 < len(val) < MIN_VALIDATION:
        print(f"Only {len(val)} validation examples: they join training, and the best epoch is chosen by the "
              "training loss.")
        train, val = np.sort(np.concatenate([train, val])), val[:0]
    return train, val, test


def encode_labels(labels, known=None):
    """Label strings -> class indices 0..C-1 (classes sorted with class_order)."""
    names = known or sorted(labels.unique().tolist(), key=class_order)
    if len(names) < 2:
        fail(f"column {LABEL_COLUMN!r} has only one class; a classifier needs at least two.")
    unknown = sorted(set(labels) - set(names))
    if unknown:
        fail(f"the test file has labels the training file never uses: {', '.join(unknown[:5])}.")
    index = {n: i for i, n in enumerate(names)}
    return labels.map(index).to_numpy(dtype=np.int64), names
'''



CLASSIFY_PREP = '''

# =============================================================================
# 2. Preprocessing: one sequence (steps, features) per example, split, scale, pad
# =============================================================================
def value_columns(df):
    """The value columns: the ones you picked, or every other numeric column."""
    if FEATURES:
        return list(FEATURES)
    skip = {LABEL_COLUMN, ID_COLUMN, ORDER_COLUMN}
    columns = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    if not columns:
        fail("no numeric value columns were found for the sequences.")
    return columns


def fill_missing(v, where):
    """Missing values inside one sequence channel; None means "leave this sequence out"."""
    bad = np.isnan(v)
    if not bad.any():
        return v
    if MISSING_VALUES == "error":
        fail(f"{where} has {int(bad.sum())} missing value(s); set MISSING_VALUES to interpolate, ffill or drop.")
    if MISSING_VALUES == "drop" or bad.all():
        return None
    idx = np.arange(len(v))
    if MISSING_VALUES == "interpolate":
        return np.interp(idx, idx[~bad], v[~bad])
    return pd.Series(v).ffill().bfill().to_numpy()


def extract_sequences(df, columns):
    """Returns (list of (length, features) float arrays, their labels as strings)."""
    require_columns(df, [LABEL_COLUMN])
    sequences, labels = [], []
    if LAYOUT == "wide":  # one row per sequence, the value columns in step order
        require_columns(df, columns)
        values = np.stack([to_numbers(df[c], c).to_numpy() for c in columns], axis=1)  # (rows, steps)
        keep = []
        for r in range(values.shape[0]):
            v = values[r]
            present = np.flatnonzero(~np.isnan(v))
            if len(present) == 0:
                continue
            v = fill_missing(v[: present[-1] + 1], f"the sequence on line {r + 2}")  # trailing blanks = shorter
            if v is None:
                continue
            sequences.append(v[:, None])
            keep.append(r)
        labels = labels_as_strings(df[LABEL_COLUMN].iloc[keep])
    else:  # long: one row per step, grouped by the sequence id
        require_columns(df, [ID_COLUMN, ORDER_COLUMN] + columns)
        frame = df[[c for c in [ID_COLUMN, ORDER_COLUMN, LABEL_COLUMN] + columns if c]].copy()
        for c in columns:
            frame[c] = to_numbers(frame[c], c)
        if ORDER_COLUMN and pd.api.types.is_numeric_dtype(frame[ORDER_COLUMN]):
            frame["__order__"] = frame[ORDER_COLUMN].astype("float64")
        elif ORDER_COLUMN:
            frame["__order__"] = pd.to_datetime(frame[ORDER_COLUMN].astype(str).str.strip(), errors="coerce",
                                                format="mixed")
        else:
            frame["__order__"] = np.arange(len(frame))
        for sid, g in frame.groupby(ID_COLUMN, sort=False):
            g = g.sort_values("__order__", kind="stable")
            found = labels_as_strings(g[LABEL_COLUMN].dropna()).unique()
            if len(found) > 1:
                fail(f"sequence {sid!r} has more than one label.")
            if len(found) == 0:
                continue
            v = g[columns].to_numpy(dtype=np.float64)
            channels = [fill_missing(v[:, j], f"sequence {sid!r}, column {c!r}") for j, c in enumerate(columns)]
            if any(ch is None for ch in channels):
                continue
            sequences.append(np.stack(channels, axis=1))
            labels.append(found[0])
        labels = pd.Series(labels, dtype=object)
    if not sequences:
        fail("no usable sequences were found.")
    return sequences, labels


def znorm(sequences):
    """Each sequence scaled to mean 0 and std 1 on its own."""
    out = []
    for s in sequences:
        sd = s.std(axis=0)
        out.append((s - s.mean(axis=0)) / np.where(sd > 1e-8, sd, 1.0))
    return out


def group_size(steps):
    """How many consecutive steps the network reads at once: GROUP_STEPS, or (0 = auto) the smallest
    number that keeps the recurrent layer at RNN_STEPS steps or fewer."""
    if GROUP_STEPS:
        return max(1, min(GROUP_STEPS, steps))
    return max(1, math.ceil(steps / RNN_STEPS))


def group(s, k):
    """(length, F) -> (ceil(length / k), k * F): each row holds k consecutive steps. A length that is
    not a multiple of k repeats the last step to fill the last group."""
    if k <= 1:
        return s
    fill = (-len(s)) % k
    if fill:
        s = np.concatenate([s, np.repeat(s[-1:], fill, axis=0)], axis=0)
    return s.reshape(len(s) // k, k * s.shape[1])


def pad(sequences, steps, k):
    """(n, ceil(steps / k), k * features): the last `steps` steps of each sequence, k steps grouped
    together, right-padded with PAD_VALUE (the model masks it out)."""
    rows = math.ceil(steps / k)
    grouped = [group(s[-steps:], k) for s in sequences]
    x = np.full((len(sequences), rows, grouped[0].shape[1]), PAD_VALUE, dtype=np.float32)
    lengths = np.zeros(len(sequences), dtype=np.int64)
    for i, g in enumerate(grouped):
        x[i, :len(g)] = g
        lengths[i] = len(g)
    return x, lengths


def prepare(df, test_df=None):
    columns = value_columns(df)
    sequences, labels = extract_sequences(df, columns)
    y, class_names = encode_labels(labels)
    y_test_file = None
    n_train_file = len(sequences)
    if test_df is not None:
        test_sequences, test_labels = extract_sequences(test_df, columns)
        y_test_file, _ = encode_labels(test_labels, known=class_names)
        sequences, y = sequences + test_sequences, np.concatenate([y, y_test_file])
    train, val, test = split_examples(y[:n_train_file], y_test_file)
    # scaling: mean and std of every feature over all steps of the TRAINING sequences only
    train_seqs = [sequences[i] for i in train]
    if ZNORM:
        train_seqs = znorm(train_seqs)
    stacked = np.concatenate(train_seqs, axis=0)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    lengths = np.array([len(s) for s in sequences])
    steps = int(min(MAX_STEPS, lengths[train].max()))  # the longest training sequence (capped)
    scaled = [((s - mean) / std).astype(np.float32) for s in (znorm(sequences) if ZNORM else sequences)]
    k = group_size(steps)  # wide: 1 feature per step; long: one per value column; times k when grouped
    x, grouped_lengths = pad(scaled, steps, k)
    masking = bool((grouped_lengths != x.shape[1]).any())  # some sequences are shorter: mask the padding
    data = {"class_names": class_names, "masking": masking, "x_val": None, "y_val": None}
    for part, idx in (("train", train), ("val", val), ("test", test)):
        if part == "val" and len(idx) == 0:
            continue
        data["x_" + part], data["y_" + part] = x[idx], y[idx]
    data["state"] = {"layout": LAYOUT, "features": columns, "class_names": class_names, "steps": steps,
                     "group": k, "mean": mean.tolist(), "std": std.tolist(), "znorm": ZNORM, "pad_value": PAD_VALUE}
    return data
'''
