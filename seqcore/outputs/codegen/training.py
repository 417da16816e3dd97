"""Sections 4 and 5 of a script and its ``main``: the optimiser, training with early stopping that
keeps the best epoch (as ``seqcore.modeling.training`` does), the optional final fit, the test
metrics per task, and the code that runs it all and saves the model.
"""

from __future__ import annotations

TRAIN = '''

def make_optimizer():
    kwargs = {"learning_rate": LEARNING_RATE}
    if CLIPNORM:
        kwargs["clipnorm"] = CLIPNORM  # rescale gradients whose norm is larger (keeps training stable)
    if OPTIMIZER == "sgd":
        kwargs["momentum"] = 0.9
    return {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
            "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}[OPTIMIZER](**kwargs)


# =============================================================================
# 4. Training: keep the best epoch's weights, stop early when it stops improving
# =============================================================================
def finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class KeepBestEpoch(keras.callbacks.Callback):
    """Early stopping that keeps the best epoch: the lowest loss / val_loss, or the highest val_accuracy
    with ties going to the lower val_loss (which keras.callbacks.EarlyStopping cannot do). Training stops
    after ``patience`` epochs without a better one (0: it runs every epoch) and the best epoch's
    weights are put back at the end."""

    def __init__(self, monitor, patience):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.best = (math.inf, math.inf)   # (value, tie-break) of the best epoch, both lower-is-better
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0

    def score(self, logs):
        """(value, tie-break) of one epoch, lower is better; None when the value is missing or not finite."""
        value = finite(logs.get(self.monitor))
        if value is None:
            return None
        if self.monitor == "val_accuracy":
            tie = finite(logs.get("val_loss"))
            return -value, math.inf if tie is None else tie
        return value, math.inf

    def on_epoch_end(self, epoch, logs=None):
        score = self.score(logs or {})
        best, best_tie = self.best
        if score is not None and (score[0] < best - 1e-12 or (score[0] <= best + 1e-12 and score[1] < best_tie - 1e-12)):
            self.best, self.best_epoch, self.wait = score, epoch + 1, 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
        if self.patience and self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            print(f"Kept the weights of epoch {self.best_epoch}, the best by {self.monitor}.")


def lr_callbacks(monitor, epochs, patience):
    """The learning-rate schedule's callback (none for LR_SCHEDULE = "none")."""
    if LR_SCHEDULE == "plateau":  # halve the learning rate when the monitored value stalls
        return [keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.5, mode="max" if monitor == "val_accuracy" else "min",
            patience=max(2, patience // 3 if patience else 3), min_lr=LEARNING_RATE / 100)]
    if LR_SCHEDULE == "cosine":  # glide the learning rate from LEARNING_RATE down to 0 along a cosine
        return [keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: float(LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * min(epoch, epochs) / epochs))))]
    return []


def schedule(n_train):
    """(epochs, patience): EPOCHS and PATIENCE, or, when MAX_UPDATES weight updates do not cover EPOCHS epochs
    of ``n_train`` examples, as many whole epochs as fit (at least 1) and the patience shortened in the same
    proportion (at least 5, never longer than PATIENCE), as Sequence Studio does."""
    batches = math.ceil(n_train / BATCH_SIZE)
    if not MAX_UPDATES or not batches or MAX_UPDATES >= EPOCHS * batches:
        return EPOCHS, PATIENCE
    epochs = max(1, min(EPOCHS, MAX_UPDATES // batches))
    patience = min(PATIENCE, max(5, round(PATIENCE * epochs / EPOCHS))) if PATIENCE else 0
    return epochs, patience


def train(model, data):
    """Train with early stopping; returns the number of the epoch whose weights were kept."""
    has_val = data["x_val"] is not None and len(data["x_val"]) > 0
    monitor = SELECT_BY if has_val else SELECT_BY_WITHOUT_VALIDATION
    epochs, patience = schedule(len(data["x_train"]))
    if (epochs, patience) != (EPOCHS, PATIENCE):
        print(f"At most {epochs} epochs (patience {patience}): MAX_UPDATES = {MAX_UPDATES} weight updates")
    keeper = KeepBestEpoch(monitor, patience)
    # after the learning-rate callbacks, like Sequence Studio; stop at once if the loss becomes NaN
    callbacks = lr_callbacks(monitor, epochs, patience) + [keeper, keras.callbacks.TerminateOnNaN()]
    model.fit(
        data["x_train"], data["y_train"],
        validation_data=(data["x_val"], data["y_val"]) if has_val else None,
        epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, callbacks=callbacks, verbose=2,
    )
    return keeper.best_epoch


def final_fit(model, data, epochs):
    """FINAL_FIT: train a fresh model on the training and validation parts together for ``epochs`` epochs
    (as many as validation picked) and keep its last epoch; nothing is held out, so nothing picks one."""
    x = np.concatenate([data["x_train"], data["x_val"]])
    y = np.concatenate([data["y_train"], data["y_val"]])
    print(f"Final fit: {len(x)} training + validation examples, {epochs} epochs")
    callbacks = lr_callbacks("loss", epochs, 0) + [keras.callbacks.TerminateOnNaN()]
    model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, callbacks=callbacks, verbose=2)
'''



FORECAST_EVAL = '''

# =============================================================================
# 5. Test metrics, in the data's own units
# =============================================================================
def to_original_units(y, mean, std, last):
    """Undo RELATIVE (add back the last seen values), the scaling and the log transform of model
    outputs (n, HORIZON, targets)."""
    t = len(TARGETS)
    y = np.asarray(y, dtype=np.float64).reshape(-1, HORIZON, t)
    if RELATIVE:
        y = y + last
    y = y * std[:t] + mean[:t]
    if LOG_TRANSFORM:
        y = np.expm1(np.clip(y, -50, 50))
    return y


def evaluate(model, data):
    predicted = to_original_units(model.predict(data["x_test"], batch_size=256, verbose=0), data["mean"],
                                  data["std"], data["test_last"])
    starts = data["test_starts"]
    actual = data["series"][starts[:, None] + np.arange(HORIZON)[None, :]]   # (n, HORIZON, targets)
    error = predicted - actual
    nonzero = actual != 0
    metrics = {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt(np.mean(error ** 2))),
        "mape": float(np.mean(np.abs(error[nonzero]) / np.abs(actual[nonzero]))) if nonzero.any() else None,
    }
    # the simplest forecast there is: repeat the last known value
    naive = np.repeat(data["series"][starts - 1][:, None, :], HORIZON, axis=1)
    metrics["naive_mae"] = float(np.abs(naive - actual).mean())
    print(f"Test MAE:  {metrics['mae']:.6g}   (naive last-value forecast: {metrics['naive_mae']:.6g})")
    print(f"Test RMSE: {metrics['rmse']:.6g}")
    if metrics["mape"] is not None:
        print(f"Test MAPE: {metrics['mape'] * 100:.2f}%")
    future = to_original_units(model.predict(data["last_window"], verbose=0), data["mean"], data["std"],
                               data["last_seen"])[0]
    print("Forecast past the end of the data (one row per step, one column per target):")
    print(pd.DataFrame(future, columns=TARGETS, index=pd.RangeIndex(1, HORIZON + 1, name="step")).to_string())
    return metrics
'''



CLASSIFY_EVAL = '''

# =============================================================================
# 5. Test metrics
# =============================================================================
def evaluate(model, data):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

    proba = model.predict(data["x_test"], batch_size=256, verbose=0)
    y_true, y_pred = data["y_test"], proba.argmax(axis=1)
    majority = np.bincount(data["y_train"]).argmax()  # always answering the most common training class
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    metrics = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "majority_class_accuracy": float(np.mean(y_true == majority)),
    }
    print(f"Test accuracy: {metrics['accuracy']:.4f}   (majority class: {metrics['majority_class_accuracy']:.4f})")
    print(f"Test balanced accuracy: {metrics['balanced_accuracy']:.4f}")
    print(f"Test macro F1: {metrics['macro_f1']:.4f}")
    names = data["class_names"]
    cm = confusion_matrix(y_true, y_pred, labels=list(range(len(names))))
    print("Confusion matrix (rows: true class, columns: predicted):")
    print(pd.DataFrame(cm, index=names, columns=names).to_string())
    return metrics
'''



MAIN = '''

# =============================================================================
# Run it all
# =============================================================================
def main():
    path = sys.argv[1] if len(sys.argv) > 1 else CSV_FILE
{read_block}
    keras.utils.set_random_seed(SEED)  # same start every time (numpy, Python and the backend)
    n_val = 0 if data["x_val"] is None else len(data["x_val"])
    print(f"Examples: train {{len(data['x_train'])}}, validation {{n_val}}, test {{len(data['x_test'])}}")
    print(f"Input shape: {{tuple(data['x_train'].shape[1:])}}")
    model = {build_call}
    model.summary()
    best_epoch = train(model, data)
    if FINAL_FIT and n_val and best_epoch:
        keras.utils.set_random_seed(SEED)  # the fresh model starts like the first one did
        model = {build_call}
        final_fit(model, data, best_epoch)
    metrics = evaluate(model, data)
    model.save(MODEL_FILE)
    with open("preprocessing.json", "w", encoding="utf-8") as f:
        json.dump(data["state"], f, indent=1)
    with open("metrics.json", "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=1)
    print(f"Saved the model to {{MODEL_FILE}} ({{model.count_params():,}} parameters) and its preprocessing "
          "to preprocessing.json")


if __name__ == "__main__":
    main()
'''
