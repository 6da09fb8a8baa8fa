"""A run's targets of one compliance profile share one computation of the windows, and get
exactly what each would have computed alone; nothing is shared across runs or frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.transforms.frames import clean_leads
from transforms.calling_rules import profile_of
from transforms.calling_windows import with_call_windows
from transforms.shared_windows import SharedWindows

REFERENCE = datetime(2026, 12, 4, 17, tzinfo=UTC)
TABLE = {"hours": "09:00-18:00", "holidays": "DE"}


def _clean():  # type: ignore[no-untyped-def]
    return clean_leads(
        [
            {"country": "US", "timezone_candidates": ["America/New_York"]},
            {"country": "DE", "timezone_candidates": ["Europe/Berlin"]},
            {"country": "ES", "timezone_candidates": ["Europe/Madrid", "Atlantic/Canary"]},
            {"country": None, "timezone_candidates": []},
        ]
    )


def test_equal_profiles_and_reference_compute_the_windows_once() -> None:
    clean = _clean()
    shared = SharedWindows(clean)
    # a table repeated by two targets gives two equal, distinct profiles
    first, second = profile_of(TABLE), profile_of(TABLE)
    assert first is not second
    got = [shared.windows(clean, profile, REFERENCE) for profile in (first, second)]
    assert shared.computed == 1
    assert got[0] is got[1]
    assert got[0].equals(with_call_windows(clean, first, REFERENCE))


def test_another_profile_or_reference_gets_its_own_windows() -> None:
    clean = _clean()
    shared = SharedWindows(clean)
    tcpa, table = profile_of("us-tcpa"), profile_of(TABLE)
    later = REFERENCE + timedelta(hours=20)
    for profile, reference in [(tcpa, REFERENCE), (table, REFERENCE), (tcpa, later), (tcpa, REFERENCE)]:
        assert shared.windows(clean, profile, reference).equals(with_call_windows(clean, profile, reference))
    assert shared.computed == 3


def test_the_windows_of_another_frame_are_refused() -> None:
    shared = SharedWindows(_clean())
    with pytest.raises(ValueError, match="another frame"):
        shared.windows(_clean(), profile_of("us-tcpa"), REFERENCE)
