"""``python -m studies NAME ...``: the same as ``fullspike reproduce NAME ...``."""

import sys

from fullspike.cli import main

sys.exit(main(["reproduce", *sys.argv[1:]]))
