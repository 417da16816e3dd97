"""The command line, ``python -m seqcore``: :mod:`.main` (inspect, train, predict and the dispatcher),
:mod:`.runs` (runs list/show/stop/delete/resume, the worker), :mod:`.sweeps` (sweep and sweeps)."""
