"""Thin click commands over the library, one module per area.

Each module exports `COMMANDS`, a list of click commands or groups; `coach.cli`
registers them all. Keeping areas in their own modules keeps the CLI thin.
"""
