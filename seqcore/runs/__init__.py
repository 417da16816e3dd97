"""Running training jobs: the on-disk run store (:mod:`.store`), the job queue (:mod:`.queue`), the supervisor
process of a data folder (:mod:`.supervisor`), the backends that execute the queue (:mod:`.backends`:
``local`` worker processes, optional ``ray``), the worker processes that train and predict (:mod:`.worker`)
and background-process helpers (:mod:`.procs`). :mod:`.runner` gathers the public names in one place."""
