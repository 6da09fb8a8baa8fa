"""``make demo``: the whole job against the five simulated vendors, on this machine.

Starts the sandbox vendors on 127.0.0.1 (a free port), imports every sample lead file
through the ``import_leads`` Prefect flow into one target per vendor (six targets: uContact
has an SMS and an email kind), prints each run's per-target summary and where its results
and report are, and shuts the sandbox down. No Prefect server to set up: Prefect's own
ephemeral default serves the flow runs.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from flows.console import new_console
from flows.import_leads import import_leads, summary_of
from flows.report.command import run_report
from sandbox.server import SandboxServer, vendor_lines

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
RUNS: tuple[tuple[str, str | None, list[str], str | None], ...] = (
    # file, default country, do-not-contact lists, mapping file
    ("us_crm_export.csv", "US", [str(SAMPLES / "do_not_contact.csv")], None),
    ("de_kunden_cp1252.csv", "DE", [], None),
    ("latam_leads.parquet", "MX", [], None),
    ("partner_feed.tsv", None, [], str(SAMPLES / "partner_feed.mapping.toml")),
)
SANDBOX_CREDENTIALS = {
    "SANDBOX_USER": "demo",
    "SANDBOX_PASSWORD": "demo-secret",
    "SANDBOX_ONC_ACCOUNT": "demo-account",
}
"""The sandbox's published demo credentials (not secrets), as the targets file references them."""


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    out = Path(argv[0]) if argv else Path("leadflow-out") / "demo"
    console = console or new_console()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with SandboxServer() as server:
        console.rule("Sandbox vendors")
        for line in vendor_lines(server.sandbox, server.base_url):
            console.print(Text(line))
        os.environ.update(SANDBOX_CREDENTIALS, LEADFLOW_SANDBOX_URL=server.base_url)
        run_dirs: list[Path] = []
        for name, country, suppress, mapping in RUNS:
            console.rule(f"Importing {name}")
            state = import_leads(
                str(SAMPLES / name),
                str(SAMPLES / "sandbox.targets.toml"),
                out_dir=str(out),
                country=country,
                suppress=suppress,
                mapping=mapping,
                return_state=True,
            )
            run_dirs.append(Path(summary_of(state)["run_dir"]))
            run_report(run_dirs[-1], None, None, console)
    console.rule("Done")
    for run_dir in run_dirs:
        console.print(
            Text(f"{run_dir.name}: results {run_dir / 'results'}  report {run_dir / 'report.html'}")
        )
    console.print(Text(f"All runs: leadflow report {out} --html {out / 'trend.html'}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
