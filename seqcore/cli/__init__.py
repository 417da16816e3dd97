"""The command line, ``python -m seqcore``: :mod:`.main` (inspect, train, predict and the dispatcher),
:mod:`.runs` (runs list/show/stop/delete/resume, the worker), :mod:`.sweeps` (sweep and sweeps), and what
they share: :mod:`.common` (parsers, input files, the data folder, output) and :mod:`.spec` (the train flags
and :func:`~seqcore.cli.spec.build_spec`). Imports go one way: common <- spec <- runs, sweeps <- main."""
