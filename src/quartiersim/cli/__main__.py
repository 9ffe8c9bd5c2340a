"""``python -m quartiersim.cli``: the command line."""

import sys

from quartiersim.cli import main

sys.exit(main())
