"""The ``leadflow`` subcommands, one module each (flows.cli dispatches to them).

Each parses its own options, imports what it needs only after parsing (start-up stays
fast), and turns the project's errors into one line and an exit code.
"""
