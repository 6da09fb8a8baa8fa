"""A batch's Leads are built once and shared by its targets (flows.shared_leads): each target
still gets exactly the Leads it would have built from its own rows (its phone first, its calling
window, its person keys), while the names, emails and phones of the batch are held once, not
once per target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from connectors.base import Lead
from connectors.engine import prefer_phone
from flows.prepare import PrepareOptions, prepare_leads
from flows.shared_leads import SharedLeads
from transforms.calling_rules import profile_of
from transforms.calling_windows import hold_outside_windows, with_call_windows
from transforms.eligibility import eligibility, hold_extension_only
from transforms.person_keys import email_key_column

STARTED = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def _decided(clean: pl.DataFrame, channel: str, *, compliance: str | None = None) -> pl.DataFrame:
    """A target's rows, decided as flows.importer.send_target decides them (row for row)."""
    decided = eligibility(clean, channel, sms_allow_unknown_type=False)
    if compliance is not None:
        windows = with_call_windows(clean, profile_of(compliance), STARTED)
        decided = hold_outside_windows(decided, windows, STARTED, scheduled=channel == "voice")
    return hold_extension_only(decided)


def _eligible(
    clean: pl.DataFrame, channel: str, *, compliance: str | None = None, keyed: bool = False
) -> pl.DataFrame:
    """A target's eligible rows, decided as flows.importer.send_target decides them."""
    eligible = _decided(clean, channel, compliance=compliance).filter(pl.col("eligible"))
    return eligible.with_columns(email_key_column(eligible["email"])) if keyed else eligible


def _built_alone(eligible: pl.DataFrame) -> list[Lead]:
    """What each target built from its own rows before the batch's Leads were shared."""
    return [prefer_phone(Lead.from_row(row), row["channel_phone"]) for row in eligible.iter_rows(named=True)]


def test_every_target_gets_the_leads_of_its_own_rows_and_the_batch_holds_their_values_once(
    lead_file: Callable[..., Path],
) -> None:
    prepared = prepare_leads(lead_file(400), PrepareOptions(country="US"))
    clean = prepared.clean
    shared = SharedLeads(clean)
    targets = {
        "voice": _eligible(clean, "voice"),
        "sms": _eligible(clean, "sms"),
        "email": _eligible(clean, "email"),
        "voice-tcpa": _eligible(clean, "voice", compliance="us-tcpa"),
        "email-keyed": _eligible(clean, "email", keyed=True),
    }
    got = {name: shared.leads(rows) for name, rows in targets.items()}
    for name, rows in targets.items():
        assert got[name] == _built_alone(rows), name
        assert got[name], name

    by_row = {name: {lead.source_row: lead for lead in leads} for name, leads in got.items()}
    voice, email = by_row["voice"], by_row["email"]
    both = voice.keys() & email.keys()
    assert both
    # nothing of its own differs: the very same object for both targets
    assert all(voice[row] is email[row] for row in both)
    # an SMS target's mobile first, a window's end, a person key: its own Lead, the same values
    sms_first = [row for row, lead in by_row["sms"].items() if lead is not voice.get(row)]
    assert any(by_row["sms"][row].phones[0] != voice[row].phones[0] for row in sms_first if row in voice)
    for name in ("sms", "voice-tcpa", "email-keyed"):
        for row, lead in by_row[name].items():
            alone = voice.get(row) or email[row]
            assert lead.email is alone.email and lead.external_id is alone.external_id, name
            assert {id(phone) for phone in lead.phones} == {id(phone) for phone in alone.phones}, name
    assert any(lead.call_window_end is not None for lead in got["voice-tcpa"])
    assert all(lead.email_key is not None for lead in got["email-keyed"] if lead.email)


def test_a_keyed_batch_computes_its_email_keys_once_and_a_limited_target_gets_the_shared_leads(
    lead_file: Callable[..., Path],
) -> None:
    prepared = prepare_leads(lead_file(400), PrepareOptions(country="US"))
    clean = prepared.clean
    shared = SharedLeads(clean, keyed=True)
    voice, email = _decided(clean, "voice"), _decided(clean, "email")
    key = shared.email_key(voice)
    assert shared.email_key(email) is key  # the batch's, once for all its targets
    assert key.to_list() == email_key_column(clean["email"]).to_list()
    eligible = email.filter(pl.col("eligible"))
    own = shared.email_key(eligible)  # not the batch's rows: computed for these
    assert own is not key
    assert own.to_list() == email_key_column(eligible["email"]).to_list()

    limited = voice.with_columns(key).filter(pl.col("eligible"))
    leads = shared.leads(limited)
    assert leads == _built_alone(limited)
    again = {lead.source_row: lead for lead in shared.leads(_eligible(clean, "email", keyed=True))}
    # the same objects for two limited targets: no copy a lead to give it its key
    assert any(again.get(lead.source_row) is lead for lead in leads)
    assert all(again[lead.source_row] is lead for lead in leads if lead.source_row in again)
    # a target without a limit: its own rows' Leads, with the batch's email keys
    plain = _eligible(clean, "sms")
    keys = email_key_column(plain["email"]).to_list()
    assert any(keys)
    assert shared.leads(plain) == [
        replace(lead, email_key=k) for lead, k in zip(_built_alone(plain), keys, strict=True)
    ]
