"""``python -m avzone``: the same as the ``avzone`` command."""

import sys

from avzone.cli import main

sys.exit(main())
