"""One model of an import's settings for every entry point that imports files as they come.

``leadflow watch``, ``leadflow serve`` and the Prefect deployments (prefect.yaml) all end in
the ``import_leads`` flow. They used to describe its options three times, and the scheduled
two had lost ``--suppress``, ``--country``, ``--mapping`` and ``--target`` on the way. Now the
command-line options are declared once (``add_import_arguments``), read into one frozen
``ImportSettings``, and handed to Prefect as the flows' parameters (``flow_parameters``):
plain JSON values a deployment stores and the UI shows. A secret never goes in: credentials
are named in the targets file and read when a run starts, and a ledger URL with a password
is refused here rather than copied into a deployment.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ImportSettings", "add_import_arguments", "ledger_url_problem"]


def ledger_url_problem(ledger: str | None) -> str | None:
    """Why ``ledger`` may not be used as given, or None: a URL carrying a password would be stored
    with a run's or a deployment's parameters (every entry point checks through here)."""
    if ledger and "://" in ledger and urlsplit(ledger).password is not None:
        return (
            "the ledger URL carries a password, which Prefect would store with the run's "
            "parameters: give the URL without it and put the password in PGPASSWORD or ~/.pgpass"
        )
    return None


@dataclass(frozen=True)
class ImportSettings:
    """What every file an entry point imports is imported with (``import_leads``'s parameters)."""

    targets_file: str | None = None
    """Targets file (TOML); None validates the files only."""
    target_names: tuple[str, ...] = ()
    """Only these targets of the targets file; empty: all of them."""
    country: str | None = None
    """Default country of national numbers (ISO code or name)."""
    mapping: str | None = None
    """Per-source column mapping file (TOML)."""
    suppress: tuple[str, ...] = ()
    """Do-not-contact lists; run.json records each one applied (path, entries, sha256, mtime)."""
    out_dir: str | None = None
    """Folder or fsspec URL of the run folders; None: the entry point's default."""
    ledger: str | None = None
    """Ledger file or ``postgresql://`` URL (no password: PGPASSWORD or ~/.pgpass)."""
    dry_run: bool = False
    compliance: str | None = None
    """Calling-hours profile of every voice/SMS target without its own (connectors.config)."""
    encoding: str | None = None
    """Text encoding of every CSV imported (``--encoding cp1250``); None: each file's detected
    (or its mapping file's ``encoding``)."""

    def __post_init__(self) -> None:
        problem = ledger_url_problem(self.ledger)
        if problem:
            raise ValueError(problem)

    @classmethod
    def of(
        cls,
        *,
        targets_file: str | None = None,
        target_names: Iterable[str] | None = None,
        country: str | None = None,
        mapping: str | None = None,
        suppress: Iterable[str] | None = None,
        out_dir: str | None = None,
        ledger: str | None = None,
        dry_run: bool = False,
        compliance: str | None = None,
        encoding: str | None = None,
    ) -> ImportSettings:
        """From the flows' parameters or argparse's values (lists or None)."""
        return cls(
            targets_file=targets_file,
            target_names=tuple(target_names or ()),
            country=country or None,
            mapping=mapping or None,
            suppress=tuple(suppress or ()),
            out_dir=out_dir,
            ledger=ledger,
            dry_run=dry_run,
            compliance=compliance or None,
            encoding=encoding or None,
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ImportSettings:
        """From the options ``add_import_arguments`` declared."""
        return cls.of(
            targets_file=args.targets,
            target_names=args.target_names,
            country=args.country,
            mapping=args.mapping,
            suppress=args.suppress,
            out_dir=args.out,
            ledger=args.ledger,
            dry_run=args.dry_run,
            compliance=getattr(args, "compliance", None),
            encoding=getattr(args, "encoding", None),
        )

    def with_out_dir(self, default: str) -> ImportSettings:
        """These settings with ``default`` as the run folders when none was given."""
        return self if self.out_dir else replace(self, out_dir=default)

    def flow_parameters(self) -> dict[str, Any]:
        """``import_leads``'s keyword parameters (also ``scan_inbox``'s): JSON values only."""
        parameters: dict[str, Any] = {
            "targets_file": self.targets_file,
            "target_names": list(self.target_names) or None,
            "country": self.country,
            "mapping": self.mapping,
            "suppress": list(self.suppress) or None,
            "ledger": self.ledger,
            "dry_run": self.dry_run,
        }
        if self.compliance is not None:
            parameters["compliance"] = self.compliance
        if self.encoding is not None:
            parameters["encoding"] = self.encoding
        if self.out_dir is not None:
            parameters["out_dir"] = self.out_dir
        return parameters


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The import options of ``leadflow watch`` and ``leadflow serve`` (read by ``from_args``)."""
    parser.add_argument("--targets", help="targets file (TOML) passed to every import")
    parser.add_argument(
        "--target", action="append", dest="target_names", help="only this target (repeatable)"
    )
    parser.add_argument("--out", help="output folder for runs (default ROOT/runs)")
    parser.add_argument("--country", help="default country for national numbers (ISO code or name)")
    parser.add_argument("--mapping", help="per-source column mapping (TOML)")
    parser.add_argument(
        "--encoding", help="text encoding of every CSV, e.g. cp1250 (default: detected per file)"
    )
    parser.add_argument(
        "--suppress", action="append", help="do-not-contact list (repeatable); run.json records each"
    )
    parser.add_argument(
        "--ledger", help="ledger file or database URL (default $LEADFLOW_LEDGER, else <out>/ledger.sqlite)"
    )
    parser.add_argument("--dry-run", action="store_true", help="build payloads, send nothing")
    parser.add_argument(
        "--compliance", metavar="PROFILE", help="calling hours of every voice/SMS target without its own"
    )
