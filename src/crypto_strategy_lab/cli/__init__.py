"""The ``csl`` command line (typer + rich)."""
