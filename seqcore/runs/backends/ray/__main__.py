"""``python -m seqcore.runs.backends.ray worker --home H``: the Ray supervisor (what ``ensure_supervisor``
starts when ``SEQSTUDIO_RUNNER=ray``)."""

import sys

from seqcore.runs.backends.ray.supervisor import main

sys.exit(main())
