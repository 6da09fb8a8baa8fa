"""The cross-target contact-frequency guardrail: how often one person may be sent anywhere.

A ``frequency`` setting (run-level ``[frequency]`` in the targets file, or a target's own) says
that the same person may be sent at most ``max_contacts`` times (``count = "contacts"``) or to at
most ``max_contacts`` targets (``count = "targets"``) within ``within_hours`` / ``within_days``,
across every target and run that shares the ledger (Florida's rule: 3 per 24 h). Default: none,
and then nothing here runs.

Who a person is (``per``): ``"person"`` (default) any of the lead's phones (E.164) or its email
(lower-cased); ``"phone"`` the phones only; ``"email"`` the email only. Each is kept in the
ledger as a 64-bit key (transforms.person_keys: a phone's digits, an email's stable hash), never
as the address itself.

What counts as a contact: a lead claimed for a target (in flight, from the moment of its claim)
and every lead delivered (``accepted``/``submitted``). A lead the vendor did not take (failed,
refused, never sent) is not a contact: it stops counting when its claim is released. A resend of
the same lead (same external id) to the same target is not a new contact either, nor is taking
over a crashed run's lead (it is dated anew). Sends of a target without a limit are not
recorded: give the limit at run level for it to see every target. The decision is the
ledger's (``begin_chunk``), in the transaction that claims: connectors.ledger_contacts.

A chunk's people come as arrays (transforms.people.People, computed with the batch's columns)
and are decided by :func:`decide_people`: which keys have a contact or are shared by several
leads of the chunk is found by numpy for the whole chunk, and only the leads with such a key
go through :func:`decide`, the per-lead definition (a chunk of people never contacted and
all different, nearly every chunk, is allowed whole with no Python step per lead). The SQLite
ledger's contacts come as arrays (:class:`KeyEvents`): then the leads with a contact and no key
shared within the chunk are decided by numpy too (their distinct contacts or targets counted),
and only those sharing a key go through :func:`decide`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from itertools import chain
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.key_sorting import KeyOrder, distinct_sorted
from transforms.people import People
from transforms.person_keys import email_key, legacy_people, phone_key

if TYPE_CHECKING:
    from connectors.base import Lead

__all__ = [
    "FREQUENCY_VARIABLE",
    "Event",
    "FrequencyLimit",
    "KeyEvents",
    "decide",
    "decide_people",
    "leads_legacy",
    "leads_people",
    "limit_from_environment",
    "parse_limit",
    "person_keys",
]

Event = tuple[int, str]
"""One contact of a person: (ledger target id, external id)."""


_PLACE = (1 << 32) - 1
"""A contact number's place in its row (:class:`KeyEvents`)."""


class KeyEvents(Mapping[int, set[Event]]):
    """A chunk's keys' contacts as arrays (connectors.contact_memory.ContactMemory.found): one
    entry per (key, target id, contact number), sorted by key. A contact's number is where the
    memory found it: the log row's ``seq`` in the high 32 bits and the lead's place in that
    row in the low ones, its external id ``names(seq)[place]`` (so two numbers are one
    contact only when their rows are two claims of one lead: :func:`_decide_found` compares
    those by name). Read as a mapping (key -> its contacts, made when asked) by the paths that
    walk leads; :func:`decide_people` decides from the arrays, with no set per key."""

    __slots__ = ("eids", "names", "persons", "targets")

    def __init__(
        self,
        persons: np.ndarray,
        targets: np.ndarray,
        eids: np.ndarray,
        names: Callable[[int], Sequence[str]],
    ) -> None:
        self.persons, self.targets, self.eids, self.names = persons, targets, eids, names

    def __getitem__(self, key: int) -> set[Event]:
        low = int(np.searchsorted(self.persons, key, "left"))
        high = int(np.searchsorted(self.persons, key, "right"))
        if low == high:
            raise KeyError(key)
        return set(zip(self.targets[low:high].tolist(), self.named(self.eids[low:high]), strict=True))

    def named(self, numbers: np.ndarray) -> list[str]:
        """The external ids of contact numbers."""
        names = self.names
        return [names(n >> 32)[n & _PLACE] for n in numbers.tolist()]

    def _distinct(self) -> np.ndarray:
        return distinct_sorted(self.persons)

    def __iter__(self) -> Iterator[int]:
        return iter(self._distinct().tolist())

    def __len__(self) -> int:
        return len(self._distinct())

    def __bool__(self) -> bool:
        return len(self.persons) > 0

    def to_dict(self) -> dict[int, set[Event]]:
        """Key -> its contacts, every key at once (one pass over the arrays)."""
        events = zip(self.targets.tolist(), self.named(self.eids), strict=True)
        found: dict[int, set[Event]] = {}
        for key, event in zip(self.persons.tolist(), events, strict=True):
            known = found.get(key)
            if known is None:
                found[key] = {event}
            else:
                known.add(event)
        return found

    def items(self) -> ItemsView[int, set[Event]]:
        return self.to_dict().items()

    def values(self) -> ValuesView[set[Event]]:
        return self.to_dict().values()


class FrequencyLimit(BaseModel):
    """``max_contacts`` per ``within_hours`` or ``within_days`` (exactly one of the two)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_contacts: int = Field(ge=1)
    within_hours: float | None = Field(None, gt=0)
    within_days: float | None = Field(None, gt=0)
    count: Literal["contacts", "targets"] = "contacts"
    """``contacts``: every send counts; ``targets``: only distinct targets do."""
    per: Literal["person", "phone", "email"] = "person"
    """What identifies a person: any phone or the email, the phones only, the email only."""

    @model_validator(mode="after")
    def _one_window(self) -> FrequencyLimit:
        if (self.within_hours is None) == (self.within_days is None):
            raise ValueError("give exactly one of within_hours and within_days")
        return self

    @property
    def window_seconds(self) -> float:
        return self.within_hours * 3600 if self.within_hours is not None else (self.within_days or 0) * 86400

    def describe(self) -> str:
        """``3 contacts per 24 h`` (the result rows' message)."""
        what = "targets" if self.count == "targets" else "contacts"
        span = f"{self.within_hours:g} h" if self.within_hours is not None else f"{self.within_days:g} days"
        return f"{self.max_contacts} {what} per {span}"


FREQUENCY_VARIABLE = "LEADFLOW_FREQUENCY"
"""The environment's run-level limit, in place of a targets file's ``[frequency]``."""

_SPEC = re.compile(r"(\d+)/(\d+(?:\.\d+)?)(h|d)((?:,[a-z]+)*)")
_OPTIONS = {"contacts": "count", "targets": "count", "person": "per", "phone": "per", "email": "per"}


def parse_limit(spec: str) -> FrequencyLimit:
    """``MAX/WINDOW`` with the window in hours or days (``3/24h``, ``2/7d``), then optionally
    ``,targets`` (or ``,contacts``) and ``,phone`` / ``,email`` (or ``,person``): the
    ``[frequency]`` table in one word. Raises ValueError saying the expected form."""
    form = "expected MAX/WINDOW such as 3/24h or 2/7d, optionally followed by ,targets and ,phone or ,email"
    match = _SPEC.fullmatch(spec.replace(" ", "").lower())
    if match is None:
        raise ValueError(f"{spec!r}: {form}")
    table: dict[str, object] = {"max_contacts": int(match[1])}
    table["within_hours" if match[3] == "h" else "within_days"] = float(match[2])
    for option in filter(None, match[4].split(",")):
        if option not in _OPTIONS or _OPTIONS[option] in table:
            raise ValueError(f"{spec!r}: {option!r} is not allowed here; {form}")
        table[_OPTIONS[option]] = option
    try:
        return FrequencyLimit.model_validate(table)
    except ValueError:
        raise ValueError(f"{spec!r}: the count and the window must be above 0; {form}") from None


def limit_from_environment() -> FrequencyLimit | None:
    """``$LEADFLOW_FREQUENCY`` as a limit (:func:`parse_limit`); None when unset or empty."""
    spec = os.environ.get(FREQUENCY_VARIABLE, "").strip()
    return parse_limit(spec) if spec else None


def person_keys(phones: Iterable[str], email: str | None, per: str) -> tuple[int, ...]:
    """The keys that identify a lead's person (transforms.person_keys): each phone's E.164
    digits as an integer, and the email's stable hash (negative, so never a phone's key)."""
    keys = [] if per == "email" else [phone_key(phone) for phone in phones]
    if email and per != "phone" and email.strip(" \t\n\v\f\r"):
        keys.append(email_key(email))
    return tuple(dict.fromkeys(keys))


def leads_people(leads: Iterable[Lead], per: str) -> list[tuple[int, ...]]:
    """:func:`person_keys` of each lead, without a hash: the email's key was computed with the
    batch's (``Lead.email_key``, transforms.person_keys.email_keys, vectorized) and a phone's is
    an integer parse. A lead built without its email key (a resend, a test) gets it here."""
    phones_too, email_too = per != "email", per != "phone"
    out: list[tuple[int, ...]] = []
    append = out.append
    for lead in leads:
        phones, email = lead.phones, lead.email
        key = None
        if email_too and email:
            key = lead.email_key
            if key is None and email.strip(" \t\n\v\f\r"):
                key = email_key(email)
        if not phones_too or not phones:
            append(() if key is None else (key,))
        elif len(phones) == 1:
            phone = int(phones[0].e164)
            append((phone,) if key is None else (phone, key))
        else:
            append(person_keys([p.e164 for p in phones], email, per))
    return out


def leads_legacy(leads: Sequence[Lead], per: str) -> Callable[[], list[tuple[int, ...]]]:
    """The leads' version 1 keys, computed when called (transforms.person_keys.legacy_people)."""
    return lambda: legacy_people([([p.e164 for p in lead.phones], lead.email) for lead in leads], per)


def decide(
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    recent: Mapping[int, set[Event]],
    limit: FrequencyLimit,
) -> list[bool]:
    """Which leads of a chunk may be sent, in order: ``recent`` maps each key to the contacts
    within the window (left as it is); an allowed lead counts for the later leads of the chunk
    that share a key with it. A lead's own earlier contact at this target is not counted.
    Only the keys several leads of the chunk share are followed within it (most are not); a
    chunk where none does is decided without that bookkeeping (:func:`_decide_apart`)."""
    flat = list(chain.from_iterable(people))
    if len(set(flat)) == len(flat):
        return _decide_apart(target_id, external_ids, people, recent, limit)
    seen: set[int] = set()
    shared: set[int] = set()
    for key in flat:
        if key in seen:
            shared.add(key)
        seen.add(key)
    added: dict[int, set[Event]] = {}
    nothing: frozenset[Event] = frozenset()
    allowed: list[bool] = []
    by_target, maximum = limit.count == "targets", limit.max_contacts
    for external_id, keys in zip(external_ids, people, strict=True):
        own = (target_id, external_id)
        events: set[Event] = set()
        for key in keys:
            events.update(recent.get(key, nothing))
            if key in shared:
                events.update(added.get(key, nothing))
        events.discard(own)
        if by_target:
            ok = len({target for target, _ in events} | {target_id}) <= maximum
        else:
            ok = len(events) < maximum
        allowed.append(ok)
        if ok:
            for key in keys:
                if key in shared:
                    added.setdefault(key, set()).add(own)
    return allowed


def _decide_apart(
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    recent: Mapping[int, set[Event]],
    limit: FrequencyLimit,
) -> list[bool]:
    """:func:`decide` for a chunk whose leads share no key: each lead on its own, its keys'
    contact sets read in place (copied only to join two different ones: the contact memory
    gives the keys of one earlier lead one set). For ``targets`` the lead's own
    earlier contact needs no removal: its target is this one, which counts anyway."""
    get = recent.get
    by_target, maximum = limit.count == "targets", limit.max_contacts
    allowed: list[bool] = []
    append = allowed.append
    for external_id, keys in zip(external_ids, people, strict=True):
        hits = [events for key in keys if (events := get(key)) is not None]
        if not hits:
            append(True)
            continue
        events = hits[0]
        if len(hits) == 2:
            if hits[1] is not events:  # one set (a lead's phone and email): no join
                events = events | hits[1]
        elif len(hits) > 2:
            events = events.union(*hits[1:])
        if by_target:
            append(len({target for target, _ in events} | {target_id}) <= maximum)
        else:
            append(len(events) - ((target_id, external_id) in events) < maximum)
    return allowed


def decide_people(
    target_id: int,
    external_ids: Sequence[str],
    people: People,
    recent: Mapping[int, set[Event]],
    limit: FrequencyLimit,
    *,
    distinct: bool | None = None,
    ordered: KeyOrder | None = None,
    shared: np.ndarray | None = None,
) -> list[bool] | None:
    """:func:`decide` for a chunk's people as arrays: which leads may be sent, or None when all
    may (nothing found and no key shared: no list made). Only the leads with a key in
    ``recent`` or shared with another lead of the chunk are decided by :func:`decide`, in
    their order; the others read and add nothing any of those read (a key of theirs is in no
    one else's lead and has no contact), so each is allowed, as there. When contacts were found
    for most keys (every lead is then likely involved) all leads are decided, without finding
    out which are: the same verdicts, for less work. ``distinct``: the caller knows the keys
    are all different (the contact memory's filter found their words so), or not (None).
    ``ordered`` and ``shared``: the keys' order and which are there twice, when the caller has
    them (a plan's, connectors.ledger_contacts.sqlite_plan: not sorted again here)."""
    keys = people.flat
    if not len(keys) or (distinct and not recent):
        return None
    if distinct:
        shared = None
    elif shared is None:
        shared = (ordered or KeyOrder.of(keys)).repeated()
    if isinstance(recent, KeyEvents):
        return _decide_found(target_id, external_ids, people, recent, limit, ordered=ordered, shared=shared)
    any_shared = shared is not None and bool(shared.any())
    if not recent and not any_shared:
        return None
    if len(recent) * 4 >= len(keys):
        lists = people.to_lists()
        if any_shared:
            return decide(target_id, external_ids, lists, recent, limit)
        return _decide_apart(target_id, external_ids, lists, recent, limit)
    involved = np.zeros(len(keys), dtype=bool)
    if shared is not None:
        involved |= shared
    if recent:
        involved |= np.fromiter(map(recent.__contains__, keys.tolist()), dtype=bool, count=len(keys))
    if not involved.any():
        return None
    counts = people.counts()
    marked = np.zeros(len(counts), dtype=bool)
    marked[np.repeat(np.arange(len(counts)), counts)[involved]] = True
    leads = np.flatnonzero(marked).tolist()
    allowed = [True] * len(counts)
    mine = decide(target_id, [external_ids[i] for i in leads], people.take(leads).to_lists(), recent, limit)
    for lead, ok in zip(leads, mine, strict=True):
        allowed[lead] = ok
    return allowed


def _sharing(repeated: np.ndarray, lead_of: np.ndarray, leads: int) -> np.ndarray | None:
    """Which leads have a key another lead of the chunk has (``repeated``: which keys are there
    twice, key_sorting.KeyOrder.repeated; None: no lead has)."""
    if not repeated.any():
        return None
    shared = np.zeros(leads, dtype=bool)
    shared[lead_of[repeated]] = True
    return shared


_SORTED_SEARCH = 4096
"""Keys from which :func:`_bounds` sorts them first."""


def _bounds(
    persons: np.ndarray, keys: np.ndarray, known: KeyOrder | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Where each key's contacts start in ``persons`` (sorted) and how many there are. A plan's
    keys (connectors.frequency_plan, 200,000 of them) are sorted first (or come sorted:
    ``known``): binary searches in their order miss the cache at nearly every step (55 ms for
    200,000 in 200,000, against 15 with the sort)."""
    if known is None and len(keys) < _SORTED_SEARCH:
        bounds = persons.searchsorted(np.concatenate((keys, keys + 1)))  # integers: k + 1 is past k
        return bounds[: len(keys)], bounds[len(keys) :] - bounds[: len(keys)]
    if known is None:
        known = KeyOrder.of(keys)
    order, ordered = known.order, known.ordered
    low = np.empty(len(keys), dtype=np.intp)
    many = np.empty(len(keys), dtype=np.intp)
    low[order] = start = persons.searchsorted(ordered)
    many[order] = persons.searchsorted(ordered, "right") - start
    return low, many


def _decide_found(
    target_id: int,
    external_ids: Sequence[str],
    people: People,
    found: KeyEvents,
    limit: FrequencyLimit,
    *,
    ordered: KeyOrder | None,
    shared: np.ndarray | None,
) -> list[bool] | None:
    """:func:`decide_people` over contacts as arrays: each lead whose keys no other lead of the
    chunk has is decided by counting, in numpy, the distinct contacts of its keys (without its
    own earlier one at this target) or their distinct targets (with this one), as :func:`decide`
    counts them; only the leads sharing a key within the chunk go through :func:`decide`, in
    their order (they read and add only each other's contacts). ``shared``: which keys are
    there twice (None: the keys are all different)."""
    keys = people.flat
    counts = people.counts()
    leads = len(counts)
    lead_of = np.arange(leads).repeat(counts)
    sharing = None if shared is None else _sharing(shared, lead_of, leads)
    low, many = _bounds(found.persons, keys, ordered)
    total = int(many.sum())
    if not total and sharing is None:
        return None
    # every contact of every key of the chunk: its lead, target and number
    if total == len(keys) and many.all():  # one each
        which, at = lead_of, low
    else:
        which = lead_of.repeat(many)
        at = (low - many.cumsum() + many).repeat(many) + np.arange(total)
    targets, eids = found.targets[at], found.eids[at]
    if limit.count == "targets":  # this target counts anyway: the others, distinct, and it
        here = targets == target_id
        which, targets = which[~here], targets[~here]
        order = np.lexsort((targets, which))
        which, targets = which[order], targets[order]
        new = np.ones(len(which), dtype=bool)
        new[1:] = (which[1:] != which[:-1]) | (targets[1:] != targets[:-1])
        allowed = np.bincount(which[new], minlength=leads) + 1 <= limit.max_contacts
    else:
        number = _contacts(
            found, external_ids, target_id, leads, (which, targets, eids), limit=limit.max_contacts
        )
        allowed = number < limit.max_contacts
    if sharing is None:
        return None if allowed.all() else allowed.tolist()
    flags: list[bool] = allowed.tolist()
    positions = np.flatnonzero(sharing).tolist()
    lists = people.take(positions).to_lists()
    recent = {key: found[key] for key in set(chain.from_iterable(lists)) if key in found}
    mine_flags = decide(target_id, [external_ids[i] for i in positions], lists, recent, limit)
    for lead, ok in zip(positions, mine_flags, strict=True):
        flags[lead] = ok
    return flags


def _contacts(
    found: KeyEvents,
    external_ids: Sequence[str],
    target_id: int,
    leads: int,
    contacts: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    limit: int,
) -> np.ndarray:
    """Each lead's number of distinct contacts, from every contact of its keys (lead, target,
    number), less its own earlier one at this target: exact for the leads that reach ``limit``,
    at most what the others have counted with no name read. Both corrections only lower a
    count, and telling a lead's own contact needs the contact's external id (its row's journal
    row, read and parsed): a plan of a file whose people recur read one for nearly every
    contact found (40% of its decision), where a lead under the limit needs none."""
    which, targets, eids = contacts
    upper = _distinct_contacts(which, eids, leads)
    over = upper >= limit
    if not over.any():
        return upper
    if over.all():
        return _exact_contacts(found, external_ids, target_id, leads, contacts)
    keep = over[which]
    upper[over] = _exact_contacts(
        found, external_ids, target_id, leads, (which[keep], targets[keep], eids[keep])
    )[over]
    return upper


def _distinct_contacts(which: np.ndarray, eids: np.ndarray, leads: int) -> np.ndarray:
    """Each lead's number of distinct contact numbers (a contact claimed in two rows counts
    twice; the lead's own is counted)."""
    order = np.lexsort((eids, which))
    which, eids = which[order], eids[order]
    new = np.ones(len(which), dtype=bool)
    new[1:] = (which[1:] != which[:-1]) | (eids[1:] != eids[:-1])
    return np.bincount(which[new], minlength=leads)


def _exact_contacts(
    found: KeyEvents,
    external_ids: Sequence[str],
    target_id: int,
    leads: int,
    contacts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """:func:`_contacts`, exactly for every lead."""
    which, targets, eids = contacts
    total = len(which)
    here = targets == target_id
    if here.any():  # the lead's own earlier contact at this target is not counted
        mine = np.flatnonzero(here)
        own = [
            name == external_ids[lead]
            for name, lead in zip(found.named(eids[mine]), which[mine].tolist(), strict=True)
        ]
        kept = np.ones(total, dtype=bool)
        kept[mine[np.asarray(own, dtype=bool)]] = False
        which, targets, eids = which[kept], targets[kept], eids[kept]
    # a number is one row's (one target's) lead: distinct (lead, number) are distinct contacts,
    # but for one contact claimed in two rows (below)
    order = np.lexsort((eids, which))
    which, eids = which[order], eids[order]
    new = np.ones(len(which), dtype=bool)
    new[1:] = (which[1:] != which[:-1]) | (eids[1:] != eids[:-1])
    which, eids = which[new], eids[new]
    number = np.bincount(which, minlength=leads)
    rows = eids >> 32
    if ((which[1:] == which[:-1]) & (rows[1:] != rows[:-1])).any():
        # a lead's contacts from two rows of one target may be one contact: counted by name
        targets = targets[order][new]
        again = np.lexsort((rows, targets, which))
        by_lead, by_target, by_row = which[again], targets[again], rows[again]
        twice = (
            (by_lead[1:] == by_lead[:-1]) & (by_target[1:] == by_target[:-1]) & (by_row[1:] != by_row[:-1])
        )
        for lead in np.unique(by_lead[1:][twice]).tolist():
            at = which == lead
            number[lead] = len(set(zip(targets[at].tolist(), found.named(eids[at]), strict=True)))
    return number
