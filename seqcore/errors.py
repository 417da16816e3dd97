"""Error types. Anything a user can fix raises a subclass of :class:`UserError`.

The message (``str(err)``) is written for a person who does not program: it
says what is wrong, where (row / column when known) and what to do about it.
Pages show it with ``st.error``; the CLI prints it on one line and exits 2.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix. ``str(err)`` is the message to show."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message.strip()
        self.hint = hint
        super().__init__(self.message if not hint else f"{self.message} {hint}")


class DataError(UserError):
    """The uploaded data cannot be used as it is (parsing, schema, too little data...)."""


class SpecError(UserError):
    """A model / training / data spec value is out of range or inconsistent."""


class BundleError(UserError):
    """A saved model bundle is missing, damaged, too large or not allowed."""


class TrainingFailed(UserError):
    """Training could not finish (NaN loss, out of memory, worker killed...)."""


class SettingsError(UserError):
    """An environment variable (``SEQSTUDIO_*``) holds a value the app cannot use; the message names it."""
