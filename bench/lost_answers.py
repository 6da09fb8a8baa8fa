"""Duplicates when the vendor stores a request and its answer is lost, per vendor.

    .venv/bin/python -m bench.lost_answers --rows 3000 --rate 0.15 [--fault lost|late] [--seeds 10]
    .venv/bin/python -m bench.lost_answers --rows 3000 --incidents 1      # exactly one lost answer

For each of the six target kinds, the in-process sandbox faults ``--rate`` of the send requests
with ``rate_lost`` (the vendor stores the request, then the connection drops) or ``rate_late``
(the vendor stores it and answers after the client's timeout), and ``connectors.engine.dispatch``
sends ``--rows`` leads with its retries. Counted from the sandbox's own state: leads stored more
than once (``dup_leads``) and the extra copies (``extra``); from the results: rows marked
``POSSIBLY_DUPLICATED`` (``marked``), duplicated leads whose rows are not marked (``hidden``), and
rows not accepted/submitted (``not_sent``). Each kind runs once per seed 1..``--seeds``; the
table shows the mean and, for duplicated leads, the worst run: with a per-request fault rate the
mean number of duplicates is about rate x rows whatever the file size, while the worst run (one
lost answer) costs a whole file. ``--incidents N`` instead loses exactly the first N answers of
the run (a network blip, a deploy on the vendor's side): the cost of one incident. Never a timed
test: a measurement to compare code.

Measured (3,000 leads, in process, 2 shared cores; before = 1000-row uContact files, no marking):

- one lost answer (``--incidents 1``): uContact SMS and email 1000 duplicated rows before, 100
  after; MaxContact 1 and 1; OBI, Engage, ONC 0 and 0. Hidden (unmarked) 1000/1000/1 before, 0 after.
- ``rate_lost`` 15%, 10 seeds, mean (worst): SMS 200 (1000) before, 320 (500) after; email 300
  (1000), 440 (1000); MaxContact 444 (467), 444 (465); OBI, Engage, ONC 0. Every duplicate was
  hidden before and is marked after. ``rate_late`` 15%, 5 seeds: SMS 200 (1000) / 280 (400),
  email 600 (1000) / 560 (1000), MaxContact 448 / 453, the others 0.
- With a per-request rate the mean is about rate x rows whatever the file size (three 1000-row
  files make the "before" mean a lottery: 0 or 1000); a smaller file bounds what one lost answer
  costs. Neither document offers a read of what the vendor holds, so nothing here can avoid the
  resend itself; the results now say which rows it may have doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from connectors.base import Lead, Phone  # noqa: E402
from connectors.config import RetryPolicy, TargetConfig  # noqa: E402
from connectors.engine import dispatch  # noqa: E402
from connectors.ledger import Ledger  # noqa: E402
from connectors.registry import build_connector  # noqa: E402
from sandbox.app import build_app  # noqa: E402
from schemas.codes import Status  # noqa: E402

CREDENTIALS = {"username": "demo", "password": "demo-secret", "login": "demo", "account_id": "demo-account"}

# kind -> (sandbox vendor, faulted endpoint glob, target fields, stored identities from the dump)
_Stored = Callable[[dict[str, Any]], list[str]]
VENDORS: dict[str, tuple[str, str, dict[str, Any], _Stored]] = {
    "sinch_obi": (
        "sinch_obi",
        "/campaigns/*/customers/list",
        {"campaign": "00000000000000000000000000000001"},
        lambda d: [c["externalId"] for x in d["campaigns"].values() for c in x["customers"]],
    ),
    "engage": (
        "engage",
        "*",
        {"campaign": "LEADFLOW-DEMO", "options": {"account_id": "1001"}},
        lambda d: [c["externalId"] for x in d["campaigns"] for b in x["batches"] for c in b["contacts"]],
    ),
    "ucontact_sms": (
        "ucontact",
        "/Integra/resources/SMS/uploadbase",
        {"campaign": "somecampaign", "options": {"template": "Hi {first_name}"}},
        lambda d: [r["number"] for r in d["sms_rows"]],
    ),
    "ucontact_email": (
        "ucontact",
        "/IntegraChannels/resources/DialersResources/uploadDialerBase",
        {"campaign": "CampName", "options": {"template": "Dear {first_name}", "dialer": "EmailDialer"}},
        lambda d: [r["email"] for r in d["email_rows"]],
    ),
    "onc": (
        "onc",
        "*",
        {"campaign": "6f1c1f1e-0000-4000-8000-000000000001"},
        lambda d: [c["Id"] for x in d["campaigns"] for c in x["contacts"]],
    ),
    "maxcontact": (
        "maxcontact",
        "/webservices/services/LeadManagement/addlead",
        {"campaign": "1"},
        lambda d: [lead["email"] for x in d["lists"].values() for lead in x["leads"]],
    ),
}


def make_leads(n: int) -> list[Lead]:
    return [
        Lead(i, f"lost-{i:06d}", f"Ana{i}", "Ruiz", (Phone(f"+4477{i:08d}", "mobile"),), f"a{i}@example.org")
        for i in range(1, n + 1)
    ]


async def measure(
    kind: str, rows: int, rate: float, fault: str, seed: int, incidents: int | None = None
) -> dict[str, int]:
    vendor, endpoint, fields, stored = VENDORS[kind]
    rule: dict[str, Any] = {f"rate_{fault}": rate}
    if incidents is not None:
        rule = {f"rate_{fault}": 1.0, "max_faults": incidents}
    if fault == "late":
        rule["late_seconds"] = 5.0
    app = build_app()
    sandbox = app.state.sandbox
    sandbox.faults.configure({"seed": seed, "vendors": {vendor: {endpoint: rule}}})
    target = TargetConfig.model_validate(
        {
            "name": kind,
            "kind": kind,
            "base_url": f"http://sandbox{sandbox.simulators[vendor].prefix}",
            "timeout": 0.5,
            "retry": RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.01, breaker_failures=50),
            **fields,
        }
    )
    connector = build_connector(target, CREDENTIALS)
    leads = make_leads(rows)
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "ledger.sqlite") as ledger:
        results = await dispatch(
            connector, leads, ledger=ledger, run_id="bench", transport=httpx.ASGITransport(app=app)
        )
    copies = Counter(stored(sandbox.simulators[vendor].dump()))

    def identity(lead: Lead) -> str:
        """What the vendor's state shows of a lead (uContact and MaxContact keep no id of ours)."""
        if kind == "ucontact_sms":
            return lead.phones[0].e164
        return str(lead.email) if kind in ("ucontact_email", "maxcontact") else lead.external_id

    marked = {r.source_row for r in results if "POSSIBLY_DUPLICATED" in r.reasons}
    duplicated = [lead for lead in leads if copies.get(identity(lead), 0) > 1]
    if kind == "onc":  # stored by a Guid derived from the external id: one per lead at most
        duplicated = []
    return {
        "dup_leads": len(duplicated),
        "extra": sum(count - 1 for count in copies.values() if count > 1),
        "marked": len(marked),
        "hidden": sum(1 for lead in duplicated if lead.source_row not in marked),
        "not_sent": sum(1 for r in results if r.status not in (Status.ACCEPTED, Status.SUBMITTED)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=0.15)
    parser.add_argument("--fault", choices=("lost", "late"), default="lost")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--incidents", type=int, help="lose exactly this many answers (no rate, one seed)")
    parser.add_argument("--kinds", default=",".join(VENDORS))
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    if args.incidents is not None:
        args.seeds = 1
        print(f"rows={args.rows} {args.fault} answers={args.incidents} (the first requests of the run)")
    else:
        print(f"rows={args.rows} rate_{args.fault}={args.rate} seeds=1..{args.seeds} (mean per run; worst)")
    columns = ("dup_leads", "extra", "marked", "hidden", "not_sent")
    print(f"{'kind':<15}" + "".join(f"{c:>10}" for c in columns) + f"{'worst dup':>11}")
    for kind in args.kinds.split(","):
        runs = [
            asyncio.run(measure(kind, args.rows, args.rate, args.fault, seed, args.incidents))
            for seed in range(1, args.seeds + 1)
        ]
        means = [sum(run[c] for run in runs) / len(runs) for c in columns]
        worst = max(run["dup_leads"] for run in runs)
        print(f"{kind:<15}" + "".join(f"{m:>10.0f}" for m in means) + f"{worst:>11}")


if __name__ == "__main__":
    main()
