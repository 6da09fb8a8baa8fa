"""A target's plan decided ahead by the frequency guardrail, confirmed chunk by chunk (issue 18).

The guardrail's decision (connectors.frequency.decide_people) is the ledger's, per chunk, in
the transaction that claims it (connectors.ledger_contacts.sqlite_admit). Most of what that cost
was per chunk, not per contact: the filter's test, the lookup and about 25 numpy calls for 100
leads. So when a target's plan for a batch is made (connectors.engine, SQLite ledger), every
chunk of it is decided at once (:func:`connectors.ledger_contacts.sqlite_plan`: one probe of
the contact memory's filter, one exact lookup, one decision over the whole plan in its order, a
person in two chunks counting the earlier one), and each chunk's claim then only confirms the
verdict, which is "all its leads allowed" for nearly every chunk.

Why a confirmed verdict is the per-chunk decision. The plan's verdict for a lead counted the
contacts the memory held when the plan was made and the plan's earlier leads it allowed. The
claim's own decision would count the contacts it holds then: those, less the ones that expired
or were erased or whose leads were not claimed after all, plus the rows written since. When no
row written since touches the chunk's people except the plan's own chunks before it, the claim's
contacts are a subset of the plan's, and a chunk whose leads are all allowed with more contacts
counted is all allowed with fewer (each lead's count can only drop; the leads of the chunk it
allows count the same for each other). So a chunk takes the verdict only when (:meth:`confirm`):

* the plan allowed all its leads;
* no row written since the plan by anyone else (another process or machine, another plan of
  this ledger object, a resend) has a key of its leads: each such row read by the catch-up is
  checked against the plan's keys once, and marks the leads it touches;
* every chunk of the plan this ledger object recorded is before it (claims out of order decide
  per chunk), and none recorded a lead the plan refused (a chunk decided per chunk may allow
  one, a claim having been released since: then the rest decides per chunk);
* the memory is the one the plan read (not read anew after an erasure or a pruning).

Otherwise the chunk is decided as before, exactly, from the contacts the plan found when they
are still the memory's (:meth:`contacts`), else from the memory. Nothing is written ahead: a contact still
counts from its chunk's claim, and a crash leaves what it left. The plan's keys are put in the
memory's filter ahead (a key of a chunk never claimed only passes the filter later, a false
positive, which the exact lookup answers).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence

import numpy as np

from connectors.contact_memory import ContactMemory, Contacts, chunk_keys
from connectors.frequency import Event, FrequencyLimit, KeyEvents
from connectors.key_sorting import sort_order
from transforms.people import People

__all__ = ["FrequencyPlan"]


class FrequencyPlan:
    """The verdicts of one target's plan (module docstring). Positions are places in the
    batch's ``keys`` array (a chunk's people are a slice of it): a lead is known by its first
    key's place, and a chunk by its keys' range; a lead with no key is always allowed."""

    def __init__(
        self,
        memory: Contacts,
        epoch: int,
        people: People,
        *,
        allowed: Sequence[bool] | None,
        limit: FrequencyLimit,
        found: Mapping[int, set[Event]],
        distinct: bool,
        fresh: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.limit = limit
        self.current: ContactMemory = memory.current
        self.reading = memory.current.reading
        """The memory's reading of the window the plan was made in."""
        self.fresh = fresh
        """Which of the plan's keys may be among the memory's fresh keys, but for rows written
        by others since: those that were when it was made (until the fresh keys are next
        sorted into a run: :attr:`folds`), and those two of its leads share (its chunks record
        them for each other). None: not known."""
        self.folds = memory.current.folds
        """The memory's sorts of its fresh keys when the plan was made."""
        self.made = memory.current.seq
        """The memory's last row when the plan was made."""
        self.generation = memory.generation
        self.epoch = epoch
        """The memory's filters' epoch once the plan's keys were put in them."""
        self.keys = people.keys
        self.ends = people.ends
        self.seen = memory.current.seq
        """The last row of the memory checked against the plan (or written by it)."""
        self.own: set[int] = set()
        """The rows this plan's chunks wrote."""
        self.high = int(people.ends[0])
        """The end of the latest chunk of the plan recorded."""
        self.broken = False
        refused = np.zeros(0, dtype=np.intp)
        if allowed is not None:
            refused = np.flatnonzero(~np.asarray(allowed, dtype=bool))
        self.refused: list[int] = people.ends[refused].tolist()
        """The leads the plan refused (first key's place), in order."""
        self.bad: list[int] = list(self.refused)
        """The leads (first key's place) whose chunks decide per chunk: refused, or touched."""
        self.touched: list[int] = []
        """The leads (first key's place) a row written since the plan touches."""
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self.distinct = distinct
        """Whether the plan's keys are all different (then no chunk of it counts for another)."""
        self.found = found if isinstance(found, KeyEvents) else None
        """The contacts the plan found (None: none)."""
        self.oldest = float("inf")
        """The time of the oldest row they are in."""
        if self.found is not None:
            rows = memory.current.rows
            self.oldest = min(rows[seq][0] for seq in np.unique(self.found.eids >> 32).tolist())

    def covers(self, people: People) -> bool:
        """Whether ``people`` are a slice of the plan's (a chunk of it)."""
        return (
            people.keys is self.keys
            and int(people.ends[0]) >= int(self.ends[0])
            and int(people.ends[-1]) <= int(self.ends[-1])
        )

    def confirm(self, memory: Contacts, people: People) -> bool:
        """Whether the chunk (``people``, covered) is all allowed as the plan decided: called
        after the memory caught up, in the claim's transaction."""
        if not self._current(memory):
            return False
        ends = people.ends
        first = int(ends[0])
        if first < self.high:
            return False
        return _none_in(self.bad, first, ends)

    def contacts(self, memory: Contacts, people: People, since: float) -> Mapping[int, set[Event]] | None:
        """The contacts after ``since`` of a chunk that does not :meth:`confirm` (its leads are
        decided again, a refused lead's contacts may have been released since), as the memory
        would find them: those the plan found, and those the rows written since add, for the
        only keys of the chunk they can have (a key another lead of the plan shares: its
        chunks' rows; every key of a lead a row by anyone else touches), searched in those rows
        alone; None when they may differ (then the memory is asked): the plan no longer holds,
        the memory read its window anew or sorted the rows since into a run, a chunk after this
        one was recorded first, or a contact the plan found is older than ``since``. A plan
        refusing many leads would otherwise look them up twice (+25% a contact when all are
        refused); a chunk of a file whose people recur searched every fresh key (1.6 ms a
        chunk among 1M)."""
        if not self._holds_in_reading(memory):
            return None
        ends = people.ends
        first, end = int(ends[0]), int(ends[-1])
        if first < self.high:
            return None
        found = self.found
        if found is not None and self.oldest <= since:
            return None
        before: Mapping[int, set[Event]] = {}
        if found is not None:
            keys = np.sort(people.flat)
            low = found.persons.searchsorted(keys)
            many = found.persons.searchsorted(keys, "right") - low
            total = int(many.sum())
            if total:
                at = (low - many.cumsum() + many).repeat(many) + np.arange(total)
                before = KeyEvents(found.persons[at], found.targets[at], found.eids[at], found.names)
        if self.fresh is None:
            if not self.distinct or not _none_in(self.touched, first, ends):
                return None
            return before
        start = int(self.ends[0])
        mask = self._with_touched(self.fresh[1][first - start : end - start].copy(), ends)
        if not mask.any():
            return before
        if memory.current.folds != self.folds:
            return None
        after = memory.current.found_after(people.flat[mask], since, self.made)
        return _joined(before, after)

    def maybe_fresh(self, memory: Contacts, people: People) -> np.ndarray | None:
        """The keys of a chunk (``people``, covered) that may be among the memory's fresh keys,
        for its own lookup (connectors.contact_memory.ContactMemory.found): the plan put every
        key of it in the fresh filter ahead, so the filter lets them all through, and a chunk
        the plan does not confirm searched the fresh keys for all of them (a sort of the fresh
        keys into a run nearly every such chunk: most of the guardrail's cost on a file whose
        people recur). A key of the chunk can be among them only if it was when the plan was
        made and they were not sorted into a run since, or an earlier chunk of the plan recorded
        it since (a key two of its leads share: :attr:`fresh` both), or a row written since by
        anyone else has it (every key of a lead such a row touches). None when that is not
        known: the plan no longer holds, or the memory read its window anew (then the fresh
        filter says)."""
        if self.fresh is None or not self.covers(people) or not self._holds_in_reading(memory):
            return None
        start = int(self.ends[0])
        first, end = int(people.ends[0]), int(people.ends[-1])
        before, shared = self.fresh
        mask = shared[first - start : end - start].copy()
        if memory.current.folds == self.folds:
            mask |= before[first - start : end - start]
        found: np.ndarray = people.flat[self._with_touched(mask, people.ends)]
        return found

    def _with_touched(self, mask: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """``mask`` (over a chunk's keys, ``ends`` its leads') with every key of the leads a row
        written since by anyone else touches set too."""
        first, end = int(ends[0]), int(ends[-1])
        touched = self.touched[bisect_left(self.touched, first) : bisect_left(self.touched, end)]
        for lead in (np.searchsorted(ends, touched, "right") - 1).tolist():
            mask[int(ends[lead]) - first : int(ends[lead + 1]) - first] = True
        return mask

    def _current(self, memory: Contacts) -> bool:
        """Whether the plan still holds (read the rows written since against it)."""
        if self.broken:
            return False
        current = memory.current
        if current is not self.current or memory.generation != self.generation:
            self.broken = True
            return False
        if current.seq != self.seen:
            self._check_since(current)
        return True

    def _holds_in_reading(self, memory: Contacts) -> bool:
        """:meth:`_current`, and the memory has not read its window anew since the plan was made
        (then its fresh keys and rows are no longer those the plan knew)."""
        return self._current(memory) and memory.current.reading == self.reading

    def recorded(self, seq: int, people: People, external_ids: Sequence[str], claimed: Sequence[str]) -> None:
        """The chunk's (``people``, ``external_ids``) row ``seq`` was committed with its
        ``claimed`` leads."""
        self.own.add(seq)
        if self.seen == seq - 1:
            self.seen = seq
        end = int(people.ends[-1])
        self.high = max(self.high, end)
        refused = self.refused
        if refused:
            mine = refused[bisect_left(refused, int(people.ends[0])) : bisect_left(refused, end)]
            if mine:  # the chunk's leads whose first key is there
                leads = np.searchsorted(people.ends, mine, "right") - 1
                ids = {external_ids[lead] for lead in leads.tolist()}
                if not ids.isdisjoint(claimed):
                    self.broken = True  # a lead the plan refused counts from now on

    def _check_since(self, current: ContactMemory) -> None:
        """Mark the leads that the rows after ``seen`` not written by the plan touch."""
        own, rows = self.own, current.rows
        for seq in range(self.seen + 1, current.seq + 1):
            row = rows.get(seq)
            if row is not None and seq not in own:
                self._touch(np.asarray(chunk_keys(row[2]), dtype=np.int64))
        self.seen = current.seq

    def _touch(self, keys: np.ndarray) -> None:
        if not len(keys):
            return
        if self._sorted is None:
            flat = self.keys[int(self.ends[0]) : int(self.ends[-1])]
            order = sort_order(flat)
            self._sorted = flat[order], order + int(self.ends[0])
        ordered, places = self._sorted
        low = ordered.searchsorted(keys, "left")
        count = ordered.searchsorted(keys, "right") - low
        total = int(count.sum())
        if not total:
            return
        at = (low - count.cumsum() + count).repeat(count) + np.arange(total)
        leads = np.searchsorted(self.ends, places[at], "right") - 1
        for place in set(self.ends[leads].tolist()) - set(self.touched):
            insort(self.touched, place)
            if place not in self.bad:
                insort(self.bad, place)


def _joined(before: Mapping[int, set[Event]], after: Mapping[int, set[Event]]) -> Mapping[int, set[Event]]:
    """Two lookups' contacts (arrays, or none) as one, by key."""
    if not isinstance(after, KeyEvents):
        return before
    if not isinstance(before, KeyEvents):
        return after
    persons = np.concatenate((before.persons, after.persons))
    order = np.argsort(persons, kind="stable")
    targets = np.concatenate((before.targets, after.targets))[order]
    eids = np.concatenate((before.eids, after.eids))[order]
    return KeyEvents(persons[order], targets, eids, after.names)


def _none_in(places: list[int], first: int, ends: np.ndarray) -> bool:
    """Whether none of ``places`` (sorted) is in a chunk's range of keys."""
    if not places:
        return True
    at = bisect_left(places, first)
    return at == len(places) or places[at] >= int(ends[-1])
