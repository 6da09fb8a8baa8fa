"""`leadflow import` of a file sent before extensions counted in generated ids: its extension
leads carry the id the earlier version gave them from the clean rows to the engine
(``legacy_external_id``), and the ledger's delivery under that id makes them ``already_sent``.

The earlier version is simulated by importing the file with its extensions left out: it hashes
the number alone, as that version did for a number with one (transforms.identity)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.flows.conftest import Vendors, read_results, write_targets
from tests.flows.test_import_cli import latest_run, run_import

pytestmark = pytest.mark.slow

BEFORE = """first_name,last_name,phone,country
Ann,Lee,+49 30 901820,DE
Cy,Main,+49 30 901899,DE
"""

AFTER = """first_name,last_name,phone,country
Ann,Lee,+49 30 901820 ext. 12,DE
Cy,Main,+49 30 901899,DE
Eve,Ng,+49 30 901898,DE
"""


@pytest.mark.parametrize("batch_rows", ["100000", "1"])
def test_a_file_sent_before_extensions_counted_in_ids_is_not_sent_again_after(
    batch_rows: str, vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", batch_rows)
    targets = write_targets(tmp_path / "targets.toml", only=("obi",))
    ledger = str(tmp_path / "ledger.sqlite")
    out = tmp_path / "out"
    for folder, text in (("before", BEFORE), ("after", AFTER)):
        file = tmp_path / folder / "leads.csv"  # one name: the source a generated id is hashed with
        file.parent.mkdir()
        file.write_text(text, encoding="utf-8")
        code, printed = run_import(file, out, "--ledger", ledger, targets=targets)
        assert code == 0, printed
        if folder == "before":
            before = read_results(latest_run(out)).sort("source_row")
            held = {c["externalId"] for c in vendors.obi_customers()}
    after = read_results(latest_run(out)).sort("source_row")

    assert before["status"].to_list() == ["accepted", "accepted"]
    assert after["status"].to_list() == ["already_sent", "already_sent", "accepted"]
    assert after["phone1_ext"].to_list() == ["12", None, None]
    ann, cy, eve = after["external_id"].to_list()
    assert ann != before["external_id"][0]  # the new id, with the extension
    assert cy == before["external_id"][1]  # no extension: the id never changed
    earlier = f"accepted in run {before['run_id'][0]} as {before['external_id'][0]}"
    assert after["vendor_message"][0] == earlier
    assert after["vendor_id"][0] == before["vendor_id"][0]
    assert {c["externalId"] for c in vendors.obi_customers()} == held | {eve}  # only Eve is new
    assert after.filter(pl.col("external_id") == ann)["batch_id"].to_list() == [before["batch_id"][0]]
