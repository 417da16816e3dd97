"""``python -m seqcore``: see :mod:`seqcore.cli.main`."""

import sys

from seqcore.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
