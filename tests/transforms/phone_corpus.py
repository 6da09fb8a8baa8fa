"""The phone corpus of the differential tests: what phonenumbers (the reference) must be matched on.

It covers every supported region and every number type of each region (from phonenumbers' own
example numbers) in several written forms, the non-geographic entities, near misses (one digit
changed, dropped or added), spreadsheet damage and random digit strings. Used by the fast
backend's and the columnar parser's differential tests.
"""

from __future__ import annotations

import random

import phonenumbers

__all__ = ["corpus"]

_FORMATS = phonenumbers.PhoneNumberFormat


def _written_forms(number: phonenumbers.PhoneNumber, region: str | None) -> list[tuple[str, str | None]]:
    e164 = phonenumbers.format_number(number, _FORMATS.E164)
    national = phonenumbers.format_number(number, _FORMATS.NATIONAL)
    international = phonenumbers.format_number(number, _FORMATS.INTERNATIONAL)
    nsn = phonenumbers.national_significant_number(number)
    cc = str(number.country_code)
    forms: list[tuple[str, str | None]] = [
        (e164, None),
        (international, None),
        (phonenumbers.format_number(number, _FORMATS.RFC3966), None),
        (f"+{cc} (0){nsn}", None),
        (f"00{cc}{nsn}", region),
        (f"{e164} ext. 12", None),
        (f"'{e164}", None),
        (e164[:-1] + str((int(e164[-1]) + 1) % 10), None),
        (e164[:-1], None),
        (e164 + "5", None),
    ]
    if region is not None:
        forms += [
            (national, region),
            (f"{national} x7", region),
            (nsn, region),
            (national.replace(" ", "\u00a0"), region),
            (national[:-1], region),
            (national + "1", region),
            (f"{nsn}.0", region),
        ]
    return forms


def _same_shape(nsn: str, rng: random.Random, keep: int) -> str:
    """The example number with all but its first ``keep`` digits redrawn: neighbouring ranges."""
    return nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])


def corpus(
    seed: int = 20240601, random_per_region: int = 12, shapes_per_type: int = 6
) -> list[tuple[str, str | None]]:
    """(value, default region) pairs for the differential comparison, deterministic per seed."""
    rng = random.Random(seed)
    pairs: list[tuple[str, str | None]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        cc = phonenumbers.country_code_for_region(region)
        for number_type in sorted(phonenumbers.supported_types_for_region(region)):
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                pairs += _written_forms(example, region)
                nsn = phonenumbers.national_significant_number(example)
                for n in range(shapes_per_type):
                    shaped = _same_shape(nsn, rng, keep=1 + n % 3)
                    pairs += [(f"+{cc}{shaped}", None), (shaped, region)]
        for _ in range(random_per_region):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 17)))
            pairs.append((digits, region))
            pairs.append((f"+{cc}{digits}", None))
            pairs.append((f"+{cc} {digits[:3]}-{digits[3:]}", region))
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(cc)
        if example is not None:
            pairs += _written_forms(example, None)
    pairs += [
        ("1-800-FLOWERS", "US"),
        ("1-800-flowers", None),
        ("+1 800 GOT JUNK", None),
        ("０２０ ７９４６ ０９５８", "GB"),
        ("٠٢٠٧٩٤٦٠٩٥٨", "GB"),
        ("tel:+1-415-555-2671;ext=12", None),
        ("(415) 555-2671 #123", "US"),
        ("415.555.2671 extension 5", "US"),
        ("4.155552671E9", "US"),
        ("0044 (0)20 7946 0958", "FR"),
        ("011 44 20 7946 0958", "US"),
        ("+44 (0) 7400 123456", None),
        ("n/a", "DE"),
        ("+", None),
        ("++49 30 1234567", None),
        ("+999 1234567", None),
        ("0301234567", None),
        ("+49 30 1234567 / 22", None),
        ("030-1234567-22", "DE"),
        ("1", "US"),
        ("", "US"),
    ]
    return pairs
