"""A target's person keys computed from its eligible rows of a real batch (flows.importer's
``_leads``: transforms.people.batch_people) are, lead by lead, the keys the engine would read off
its Lead (connectors.frequency.leads_people), for every channel and way of telling people apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.frequency import leads_people
from flows.importer import _leads
from flows.prepare import PrepareOptions, prepare_leads
from flows.shared_leads import SharedLeads
from tests.flows.test_shared_leads import _decided, _eligible


@pytest.mark.parametrize("channel", ["voice", "sms", "email"])
@pytest.mark.parametrize("per", ["person", "phone", "email"])
@pytest.mark.parametrize("keyed", [True, False])
def test_the_batchs_keys_are_each_leads_person_keys(
    lead_file: Callable[..., Path], channel: str, per: str, keyed: bool
) -> None:
    prepared = prepare_leads(lead_file(300), PrepareOptions(country="US"))
    shared = SharedLeads(prepared.clean, keyed=keyed)
    leads, people = _leads(_decided(prepared.clean, channel), shared, per=per)
    assert leads and people is not None
    assert people.to_lists() == leads_people(leads, per)
    assert any(len(keys) > 1 for keys in people.to_lists()) or per != "person"
    # the same from rows that are not the batch's row for row (their email keys computed apart)
    alone, apart = _leads(_eligible(prepared.clean, channel), SharedLeads(prepared.clean), per=per)
    assert alone == leads and apart is not None
    assert apart.to_lists() == people.to_lists()
