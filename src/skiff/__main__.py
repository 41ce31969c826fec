"""``python -m skiff`` runs the CLI."""

from skiff.cli.main import entry

entry()
