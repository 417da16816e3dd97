"""How the trainer picks the epoch whose weights it keeps (seqcore.modeling.training.fit)."""

import math

import numpy as np
import pytest

from seqcore.config import TrainSpec
from seqcore.modeling.training import _selects_by_accuracy, epoch_score, improves
from seqcore.data.windows import ArraySource


class _M:
    def __init__(self, loss):
        self.loss = loss


def test_classification_with_validation_selects_by_accuracy():
    assert _selects_by_accuracy(_M("sparse_categorical_crossentropy"), True)
    assert not _selects_by_accuracy(_M("sparse_categorical_crossentropy"), False)   # no validation part
    assert not _selects_by_accuracy(_M("mse"), True)                                # forecasting


def test_score_is_lower_is_better_with_the_loss_breaking_ties():
    a = epoch_score({"val_accuracy": 0.80, "val_loss": 0.9}, "val_accuracy")
    b = epoch_score({"val_accuracy": 0.80, "val_loss": 0.5}, "val_accuracy")
    c = epoch_score({"val_accuracy": 0.75, "val_loss": 0.1}, "val_accuracy")
    assert a == (-0.80, 0.9) and b < a and a < c          # more accurate wins; same accuracy: lower loss
    assert epoch_score({"val_loss": 0.3}, "val_loss") == (0.3, math.inf)
    assert epoch_score({"val_accuracy": float("nan")}, "val_accuracy")[0] is None
    assert improves(b, a) and not improves(a, b) and not improves(a, a)   # a full tie keeps the earlier epoch
    assert not improves((None, math.inf), (math.inf, math.inf))           # an unmeasured epoch never wins


def test_fit_keeps_the_most_accurate_epoch_and_marks_it():
    pytest.importorskip("keras")
    from seqcore.config import ModelSpec
    from seqcore.modeling.models import ModelShape, build_model
    from seqcore.modeling.training import fit

    rng = np.random.default_rng(0)
    x = rng.integers(2, 40, size=(240, 12)).astype(np.int32)
    y = (x[:, 0] % 2).astype(np.int64)          # class = parity of the first word id
    shape = ModelShape(task="text", input_shape=(12,), output_shape=(2,), vocab_size=40)
    spec = TrainSpec(epochs=6, patience=0, batch_size=32, learning_rate=5e-3, seed=3)
    net = build_model(ModelSpec(units=(8,), embedding_dim=8), spec, shape)
    out = fit(net, ArraySource(x[:180], y[:180]), ArraySource(x[180:], y[180:]), spec)
    assert out.monitor == "val_accuracy"
    hist = out.history
    accs = [h["metrics"]["val_accuracy"] for h in hist]
    best = max(range(len(hist)), key=lambda i: (accs[i], -hist[i]["val_loss"]))
    assert out.best_epoch == hist[best]["epoch"]
    assert out.best_value == pytest.approx(accs[best])
    assert [h["epoch"] for h in hist if h["best"]][-1] == out.best_epoch
