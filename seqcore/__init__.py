"""Sequence Studio core: CSV in, LSTM/GRU models out, with honest baselines.

Importing this package is cheap: it never imports TensorFlow, Keras or
Streamlit. Heavy imports happen inside the functions that train or predict.
"""

from __future__ import annotations

from seqcore.errors import BundleError, DataError, SettingsError, SpecError, TrainingFailed, UserError

__version__ = "0.1.0"

TASKS = ("forecast", "classify", "text")

__all__ = [
    "BundleError",
    "DataError",
    "SpecError",
    "TrainingFailed",
    "UserError",
    "SettingsError",
    "TASKS",
    "__version__",
]
