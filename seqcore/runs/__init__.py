"""Running training jobs: the on-disk run store (:mod:`.store`), the job queue and its supervisor
(:mod:`.runner`), the worker processes that train and predict (:mod:`.worker`), background-process
helpers (:mod:`.procs`) and the optional Ray backend (:mod:`.ray_backend`)."""
