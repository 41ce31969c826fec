"""``python -m skiff`` runs the CLI."""

import sys

from skiff.cli.main import main

sys.exit(main())
