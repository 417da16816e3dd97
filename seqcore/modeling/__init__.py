"""Models and how they learn: the three tasks' prepare/evaluate steps (:mod:`.tasks`), the LSTM/GRU
builder (:mod:`.models`), the trainer and its callbacks (:mod:`.training`, reporting :mod:`.progress`),
metrics (:mod:`.metrics`) and the baselines every model is compared with (:mod:`.baselines`).
Keras is imported inside the functions that need it, never at import time."""
