"""A file sent in batches keeps one vendor session per target for the whole run (issue 17, "Any
file size in bounded memory"): one login at the start, one logout at the end, however many
batches, also when a batch raises or the run is interrupted between batches.

Against the sandbox vendors over HTTP; the logins and logouts are the sandbox's own counts
(``OpenAPISession``/``CloseAPISession`` at ONC, ``getUserToken``/``EndSession`` at uContact, the
token login at MaxContact, which documents no logout).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from connectors.errors import ConnectorError
from flows.commands.import_file import main as import_main
from flows.import_batches import BatchProgress, SendSettings, send_in_batches
from flows.importer import load_connectors
from flows.prepare import PrepareOptions
from flows.prepare_batches import prepare_batches
from tests.flows.conftest import SANDBOX_TARGETS, Vendors, held_ids, only_run, read_results, write_targets
from transforms.ingest_batches import BATCH_ROWS_VARIABLE

pytestmark = pytest.mark.slow

ROWS = 30
SESSION_VENDORS = ("onc", "ucontact", "maxcontact")


def sessions(vendors: Vendors) -> dict[str, tuple[int, int | None]]:
    """(logins, logouts) per sandbox vendor with a session; MaxContact has no logout (None)."""
    found: dict[str, tuple[int, int | None]] = {}
    for kind in SESSION_VENDORS:
        state = vendors.state(kind)
        found[kind] = (state["logins"], state.get("logouts"))
    return found


def test_a_file_of_six_batches_logs_in_once_per_target_and_delivers_every_lead_once(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "5")
    buffer = io.StringIO()
    argv = [str(lead_file(ROWS, 3)), "--targets", str(SANDBOX_TARGETS), "--out", str(tmp_path / "out")]

    code = import_main(argv, console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    results = read_results(only_run(tmp_path / "out"))
    assert results.height == ROWS * 6
    assert results.group_by("target", "source_row").len()["len"].max() == 1
    # two uContact targets (SMS and email): a session each
    assert sessions(vendors) == {"onc": (1, 1), "ucontact": (2, 2), "maxcontact": (1, None)}
    delivered = results.filter(pl.col("status").is_in(["accepted", "submitted"]))
    assert delivered["target"].n_unique() == 6
    assert len(vendors.onc_contacts()) == delivered.filter(pl.col("target") == "onc").height
    for target, held in held_ids(vendors, results).items():
        assert held and max(held.values()) == 1, (target, held.most_common(3))


class _Interrupt(BatchProgress):
    """Ctrl-C as the third batch is read (the CLI's KeyboardInterrupt between two batches)."""

    def __init__(self) -> None:
        self.batches = 0

    def read(self, rows: int) -> None:
        self.batches += 1
        if self.batches == 3:
            raise KeyboardInterrupt


class _Fail(BatchProgress):
    """A batch that raises half-way, while its requests are out (the engine reports a fault of
    our own as a ConnectorError)."""

    def sent(self, target: str, rows: int) -> None:
        if rows > 10:
            raise RuntimeError("the batch failed")


@pytest.mark.parametrize(("progress", "raised"), [(_Interrupt, KeyboardInterrupt), (_Fail, ConnectorError)])
def test_a_run_that_ends_early_still_logs_out_of_every_session_it_opened(
    vendors: Vendors,
    lead_file: Callable[..., Path],
    tmp_path: Path,
    progress: Callable[[], BatchProgress],
    raised: type[BaseException],
) -> None:
    targets = write_targets(tmp_path / "targets.toml", ["onc", "ucontact-sms"])
    batched = prepare_batches(lead_file(ROWS, 3), PrepareOptions(), rows=5)
    settings = SendSettings("20261204T000000Z-000000001", tmp_path / "ledger.sqlite", datetime.now(UTC))

    with pytest.raises(raised):
        send_in_batches(
            batched, load_connectors(targets), settings, out_dir=tmp_path / "out", progress=progress()
        )

    state = sessions(vendors)
    assert state["onc"] == (1, 1)
    assert state["ucontact"] == (1, 1)
    assert vendors.state("onc")["open_sessions"] == 0
    assert vendors.state("ucontact")["active_sessions"] == 0


def test_a_session_that_expires_mid_run_is_opened_again_and_closed_once_at_the_end(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    # a fifth of ONC's session checks say "expired" (seeded): the flow logs in again and replays
    vendors.set_faults({"seed": 3, "vendors": {"onc": {"*": {"rate_expire": 0.2}}}})
    targets = write_targets(tmp_path / "targets.toml", ["onc"])
    batched = prepare_batches(lead_file(ROWS, 3), PrepareOptions(), rows=5)
    settings = SendSettings("20261204T000000Z-000000002", tmp_path / "ledger.sqlite", datetime.now(UTC))

    run_dir, facts = send_in_batches(batched, load_connectors(targets), settings, out_dir=tmp_path / "out")

    logins, logouts = sessions(vendors)["onc"]
    assert logins > 1 and logouts == 1, (logins, logouts)
    assert vendors.state("onc")["open_sessions"] == 0
    results = read_results(run_dir)
    accepted = results.filter(pl.col("status") == "accepted")
    assert accepted.height > 10 and "failed" not in facts["onc"]["statuses"], facts
    assert len(vendors.onc_contacts()) == accepted.height


EXPIRING = ("onc", "maxcontact", "ucontact-sms", "ucontact-email")
SESSION_ID = re.compile(r"\b(?:[0-9a-f]{32}|[0-9a-f]{40})\b")
"""The sandbox's session ids and tokens (ONC, uContact: 32 hex digits; MaxContact: 40)."""


def test_an_import_whose_sessions_expire_early_and_often_delivers_every_row_once_and_exits_0(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    # four in ten session checks at ONC, MaxContact and uContact find a valid session expired
    # (seeded), and the vendor forgets it for every request then carrying it: each request that
    # meets it logs in again and is sent again, however often it comes back expired
    rule = {"*": {"rate_expire": 0.4}}
    vendors.set_faults({"seed": 1, "vendors": dict.fromkeys(SESSION_VENDORS, rule)})
    targets = write_targets(tmp_path / "targets.toml", EXPIRING)
    out = tmp_path / "out"
    buffer = io.StringIO()

    code = import_main(
        [str(lead_file(300, 3)), "--targets", str(targets), "--out", str(out)],
        console=Console(file=buffer, width=200),
    )

    output = buffer.getvalue()
    assert code == 0, output
    results = read_results(only_run(out))
    assert results.group_by("target", "source_row").len()["len"].to_list() == [1] * 300 * len(EXPIRING)
    assert results.filter(pl.col("status") == "failed").rows() == []
    assert sessions(vendors)["onc"][0] > 5  # the sessions did expire, and were opened again
    assert len(vendors.onc_contacts()) == results.filter(pl.col("target") == "onc", status="accepted").height
    for target, held in held_ids(vendors, results).items():
        if target in EXPIRING:
            assert held and max(held.values()) == 1, (target, held.most_common(3))
    written = output + "".join(p.read_text(errors="replace") for p in only_run(out).glob("*.json"))
    written += str(results["vendor_message"].drop_nulls().to_list())
    assert SESSION_ID.findall(written) == [] and "demo-secret" not in written
