"""Which ledger a run uses: ``--ledger``, else $LEADFLOW_LEDGER, else ``<out>/ledger.sqlite``.

Its own module (no httpx, no psycopg) because ``leadflow validate`` and ``leadflow dnc``, which
send nothing, read the do-not-contact store kept in the same database as the send ledger.
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.config_error import ConfigError
from flows.run.store import is_remote, local_folder
from flows.settings import ledger_url_problem

__all__ = ["is_database_url", "ledger_path", "store_ledger"]


def is_database_url(spec: str | Path) -> bool:
    """A ``postgresql://`` / ``postgres://`` URL (connectors.ledger_pg.is_postgres_url, without psycopg)."""
    return isinstance(spec, str) and spec.startswith(("postgresql://", "postgres://"))


def ledger_path(out_dir: Path | str, given: str | Path | None = None) -> str | Path:
    """The ledger: ``--ledger``, else $LEADFLOW_LEDGER, else ``<out>/ledger.sqlite``. A
    ``postgresql://`` URL (kept a string) selects the PostgreSQL ledger, anything else is a file.
    ``out_dir`` may be a URL (flows.run.store): a ``file://`` one defaults to a ledger in its
    folder; any other cannot hold a SQLite file, so the ledger must then be given."""
    chosen = given if given is not None else os.environ.get("LEADFLOW_LEDGER") or None
    if chosen is None:
        if is_remote(str(out_dir)):
            raise ConfigError(
                f"the output {out_dir} is not a folder of this machine, so the ledger cannot default "
                "to a file in it: give the ledger (--ledger or LEADFLOW_LEDGER)"
            )
        return local_folder(str(out_dir)) / "ledger.sqlite"
    if is_database_url(chosen):
        problem = ledger_url_problem(str(chosen))
        if problem:
            raise ConfigError(problem)
        return str(chosen)
    return Path(chosen)


def store_ledger(out_dir: Path | str, given: str | Path | None = None) -> str | None:
    """The ledger whose do-not-contact store a run applies: :func:`ledger_path`, except that a
    run sending nothing (``validate``) to a remote output with no ledger given reads none (its
    run.json then says ``dnc_store: null``) instead of failing."""
    try:
        return str(ledger_path(out_dir, given))
    except ConfigError:
        if given is not None or os.environ.get("LEADFLOW_LEDGER"):
            raise
        return None
