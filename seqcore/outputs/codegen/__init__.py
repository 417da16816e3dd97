"""The equivalent standalone Keras script of a run, for people who want to read or reuse the code.

:func:`training_script` turns a :class:`~seqcore.config.RunSpec` into one self-contained Python
file (numpy, pandas, scikit-learn and Keras only; it never imports ``seqcore``) that reads the
same CSV, prepares it exactly as ``seqcore`` does for the task (cleaning, splits, scaling, windows
or padding or tokenising), builds the same network, trains it with the same optimiser, early
stopping and learning-rate schedule, prints the test metrics and saves ``model.keras``.

How the script stays safe and readable: the code body is fixed text written here; the only
things that vary are the settings at the top, written with :func:`repr` (so a column named
``x"; import os`` is just a string in the script). No user text goes into comments or docstrings.

Where each part lives:
  generate.py   training_script / script_filename: checks the spec, assembles the script
  settings.py   the settings block at the top (the spec's values as Python literals)
  preamble.py   header (docstring, imports, backend) and section 1, reading the CSV
  forecast.py   section 2 for forecasting: clean, split in time order, scale, windows
  classify.py   section 2 for sequence classification, plus the label handling text shares
  text.py       section 2 for text classification: tokens, vocabulary, word vectors
  network.py    section 3, the network (recurrent stack, pooling, output layer)
  training.py   sections 4 and 5 (training with early stopping, test metrics) and main()
"""

from seqcore.outputs.codegen.generate import DEFAULT_CSV_FORMAT, script_filename, training_script

__all__ = ["training_script", "script_filename", "DEFAULT_CSV_FORMAT"]
