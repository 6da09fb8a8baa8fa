"""The fast backend (rphonenumbers) must give exactly the reference's (phonenumbers) answers.

The corpus (tests/transforms/phone_corpus.py) covers every supported region and every number
type of each region in several written forms, near misses, spreadsheet damage and random digits.
"""

from __future__ import annotations

import phonenumbers
import pytest

from tests.transforms.phone_corpus import corpus
from transforms.phone_backend import BACKEND, FALLBACK_CALLING_CODES, fast_parser, parse_one

rphonenumbers = pytest.importorskip("rphonenumbers")


def test_the_fast_backend_is_selected_when_installed() -> None:
    assert BACKEND == "rphonenumbers"


Reference = list[tuple[str, str | None, tuple[object, ...]]]


@pytest.fixture(scope="module")
def reference() -> Reference:
    return [(value, region, parse_one(value, region, backend="phonenumbers")) for value, region in corpus()]


def test_fast_backend_agrees_with_phonenumbers_on_every_region_type_and_messy_form(
    reference: Reference,
) -> None:
    assert len({region for _, region, _ in reference}) > 240
    disagreements = [
        (value, region, expected, fast)
        for value, region, expected in reference
        if (fast := parse_one(value, region, backend="rphonenumbers")) != expected
    ]
    assert disagreements == []


def test_every_disagreement_of_the_unguarded_fast_backend_is_a_fallback_class(reference: Reference) -> None:
    unguarded = fast_parser(fallback=False)
    assert unguarded is not None
    disagreeing_codes: set[int] = set()
    for value, region, expected in reference:
        fast = unguarded(value, region)
        if expected != fast:
            code = expected[4] or fast[4] or phonenumbers.country_code_for_region(region or "ZZ")
            assert isinstance(code, int)
            disagreeing_codes.add(code)
    assert disagreeing_codes <= FALLBACK_CALLING_CODES
    if not FALLBACK_CALLING_CODES:
        assert disagreeing_codes == set(), "pinned metadata: no disagreement at all"


def test_fast_validity_matches_is_valid_number_of_the_reference() -> None:
    for value, region in corpus(random_per_region=0)[:3000]:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        status = parse_one(value, region, backend="rphonenumbers")[3]
        assert (status == 0) == phonenumbers.is_valid_number(number), (value, region)
