"""The three tasks. Each module provides the same four functions:

``prepare(df, spec, *, test_df=None, seed=0) -> Prepared``
    columns -> scaled training examples (sources), JSON preprocessing state and notes.
``evaluate(prep, outputs) -> (metrics, predictions)``
    model outputs on the test source -> {"test", "baselines", "comparison"} and a predictions frame
    in original units.
``predict_new(state, spec, df, predict_fn) -> DataFrame``
    a saved model's preprocessing state applied to new raw data; ``predict_fn(X) -> outputs``.
``required_columns(state) -> dict[str, str]``
    the columns new data must have, with the kind each must be ("numeric", "text", "any").
"""

from __future__ import annotations

from importlib import import_module

from seqcore.errors import SpecError
from seqcore.modeling.tasks.common import Prepared

TASK_MODULES = {"forecast": "forecast", "classify": "classify", "text": "textclass"}


def get_task(name: str):
    if name not in TASK_MODULES:
        raise SpecError(f"task must be one of {', '.join(TASK_MODULES)}; got {name!r}.")
    return import_module(f"{__name__}.{TASK_MODULES[name]}")


__all__ = ["Prepared", "get_task", "TASK_MODULES"]
