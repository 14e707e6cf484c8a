"""Subcommands of the ``agent`` CLI."""
