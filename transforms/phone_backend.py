"""Parse distinct phone values, once each, with the fastest backend that is known to be right.

Why this module exists: libphonenumber in Python (``phonenumbers``) does about 14k
parse+validate+format per second per core, far too slow for a million-row file. ``rphonenumbers``
exposes the same API over the Rust port of libphonenumber and is about ten times faster, but it is
alpha and built from older metadata (9.0.41) than our ``phonenumbers`` (the reference). So:

* ``phonenumbers`` is the reference and the fallback. Every answer the fast path gives must be
  the answer ``phonenumbers`` gives (E.164, validity, number type, extension, failure class);
  tests/transforms/test_phone_backend_differential.py proves it on a generated corpus covering
  every supported region and number type plus spreadsheet damage and random digit strings.
* The backend is chosen once per process, at its first use, from ``LEADFLOW_PHONE_BACKEND``
  (``auto``, the default: rphonenumbers when importable and its self-check agrees with
  phonenumbers, else phonenumbers; or ``phonenumbers`` / ``rphonenumbers`` to force one). Until
  then, a call with fewer than ``SMALL_INPUT`` values is parsed by phonenumbers.
* Disagreement classes, each routed to phonenumbers by the fast path:

  - ``FALLBACK_REGIONS``: the regions whose metadata differs between libphonenumber 9.0.41
    (rphonenumbers' build) and the installed phonenumbers: exactly the ``phonenumbers/data/
    region_XX.py`` files that differ between the two wheels (``METADATA_DIFFERENCES``; empty
    with the pinned 9.0.41; 29 regions with 9.0.43). Number ranges were
    added, withdrawn or re-typed there (the differential corpus shows it, e.g. +267 BW new
    fixed-line ranges, +86 CN, +61 AU and +91 IN mobile/fixed re-typing, +45 DK withdrawn
    ranges). Input with one of these default regions goes to phonenumbers.
  - ``FALLBACK_CALLING_CODES``: the calling codes of those regions (so "+49 ..." without a
    region falls back too; +7 takes KZ along with RU, +61 CC/CX with AU, +358 AX with FI).
    Regenerate both when either library is upgraded (see bench/phones.py --diff-metadata).
  - Any input for which rphonenumbers raises something other than ``NumberParseException``
    (Rust panics surface as ``BaseException`` subclasses): the reference decides.

  Validity on the fast path is ``number_type != UNKNOWN``, which is how libphonenumber defines
  ``is_valid_number`` (both go through the same region metadata); the differential test checks
  it against ``phonenumbers.is_valid_number``.

Most values never get here: transforms.phone_columnar parses the plainly written ones as whole
columns first (``LEADFLOW_PHONE_COLUMNAR``), and this module takes what it hands on.

Large inputs are spread over a pool of spawned processes in chunks of plain lists (no per-row
objects cross the process boundary); small inputs are parsed in the calling process. The pool
is started at its first use and kept for the process's later batches (:func:`_pool`).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Final, Literal

import phonenumbers

__all__ = [
    "BACKEND",
    "COLUMNAR",
    "FALLBACK_CALLING_CODES",
    "FALLBACK_REGIONS",
    "SMALL_INPUT",
    "STATUS_INVALID",
    "STATUS_NO_REGION",
    "STATUS_UNPARSEABLE",
    "STATUS_VALID",
    "BackendName",
    "ParsedPhones",
    "fast_parser",
    "parse_one",
    "parse_values",
    "selected_backend",
]

BackendName = Literal["phonenumbers", "rphonenumbers"]

STATUS_VALID: Final = 0
STATUS_INVALID: Final = 1
STATUS_UNPARSEABLE: Final = 2
STATUS_NO_REGION: Final = 3

METADATA_DIFFERENCES: Final[dict[str, frozenset[str]]] = {
    # phonenumbers release -> regions whose metadata differs from rphonenumbers 0.1.0's (9.0.41)
    "9.0.41": frozenset(),
    "9.0.43": frozenset(
        "AU AX BJ BW CC CN CO CR CV CX DE DK EC ES ET FI GE GH GY IN KE KW LA PG PY RO RU SH ZW".split()  # noqa: SIM905
    ),
}
"""pyproject pins phonenumbers to 9.0.41, the metadata rphonenumbers was built from, so no
region needs the fallback. Another release whose differences nobody listed disables the fast
path in ``auto`` mode: an unverified fast answer is worse than a slow right one."""
FAST_PATH_VERIFIED: Final = phonenumbers.__version__ in METADATA_DIFFERENCES
FALLBACK_REGIONS: Final[frozenset[str]] = METADATA_DIFFERENCES.get(phonenumbers.__version__, frozenset())
FALLBACK_CALLING_CODES: Final[frozenset[int]] = frozenset(
    phonenumbers.country_code_for_region(region) for region in FALLBACK_REGIONS
)

_E164: Final = phonenumbers.PhoneNumberFormat.E164
_UNKNOWN: Final = phonenumbers.PhoneNumberType.UNKNOWN
_TYPE_NAMES: Final[dict[int, str]] = {
    getattr(phonenumbers.PhoneNumberType, name): name.lower()
    for name in (
        "FIXED_LINE",
        "MOBILE",
        "FIXED_LINE_OR_MOBILE",
        "TOLL_FREE",
        "PREMIUM_RATE",
        "SHARED_COST",
        "VOIP",
        "PERSONAL_NUMBER",
        "PAGER",
        "UAN",
        "VOICEMAIL",
        "UNKNOWN",
    )
}

Parsed = tuple[str | None, str | None, str | None, int, int | None]
"""(e164, number type name, extension, status, country calling code) of one value."""


@dataclass(frozen=True, slots=True)
class ParsedPhones:
    """Column-wise parse results, aligned with the input values.

    ``e164``, ``number_type`` and ``extension`` are set only for valid numbers; ``country_code``
    is set whenever the value parsed (valid or not).
    """

    e164: list[str | None]
    number_type: list[str | None]
    extension: list[str | None]
    status: list[int]
    country_code: list[int | None]

    def __len__(self) -> int:
        return len(self.status)


def _failure(error_type: int, value: str, region: str | None) -> Parsed:
    if error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
        return None, None, None, STATUS_UNPARSEABLE, None
    if (
        error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE
        and region is None
        and "+" not in value
        and "＋" not in value
    ):
        return None, None, None, STATUS_NO_REGION, None
    return None, None, None, STATUS_INVALID, None


def _parse_reference(value: str, region: str | None) -> Parsed:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        return _failure(exc.error_type, value, region)
    except Exception:
        return None, None, None, STATUS_UNPARSEABLE, None
    country_code: int | None = number.country_code
    if not phonenumbers.is_valid_number(number):
        return None, None, None, STATUS_INVALID, country_code
    number_type = _TYPE_NAMES[phonenumbers.number_type(number)]
    e164: str = phonenumbers.format_number(number, _E164)
    return e164, number_type, number.extension or None, STATUS_VALID, country_code


def fast_parser(*, fallback: bool = True) -> Callable[[str, str | None], Parsed] | None:
    """The rphonenumbers parser (None when it is not installed).

    ``fallback=False`` turns off the routing of the disagreement classes to phonenumbers: only the
    differential test wants that, to show that the classes are still needed and still enough.
    """
    try:
        import rphonenumbers as fast
    except ImportError:
        return None
    fast_parse = fast.parse
    fast_type = fast.number_type
    fast_error = fast.NumberParseException
    fallback_codes = FALLBACK_CALLING_CODES if fallback else frozenset()
    fallback_regions = FALLBACK_REGIONS if fallback else frozenset()

    def parse_fast(value: str, region: str | None) -> Parsed:
        if region in fallback_regions:
            return _parse_reference(value, region)
        try:
            number = fast_parse(value, region)
        except fast_error as exc:
            return _failure(exc.error_type, value, region)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            return _parse_reference(value, region)
        country_code: int = number.country_code
        if country_code in fallback_codes:
            return _parse_reference(value, region)
        number_type = fast_type(number)
        if number_type == _UNKNOWN:
            return None, None, None, STATUS_INVALID, country_code
        zeros = 0
        if number.italian_leading_zero:
            zeros = 1 if number.number_of_leading_zeros is None else number.number_of_leading_zeros
        e164 = f"+{country_code}{'0' * zeros}{number.national_number}"
        return e164, _TYPE_NAMES[number_type], number.extension or None, STATUS_VALID, country_code

    return parse_fast


_SELF_CHECK: Final[tuple[tuple[str, str | None], ...]] = (
    ("+1 650-253-0000 ext. 12", None),
    ("(415) 555-2671", "US"),
    ("1-800-FLOWERS", "US"),
    ("020 7946 0958", "GB"),
    ("07400 123456", "GB"),
    ("0151 12345678", "DE"),
    ("06 12 34 56 78", "FR"),
    ("+52 55 1234 5678", None),
    ("(11) 96123-4567", "BR"),
    ("0412 345 678", "AU"),
    ("98765 43210", "IN"),
    ("0044 20 7946 0958", "DE"),
    ("12", "US"),
    ("not a number", "US"),
    ("0301234567", None),
)


def _choose(requested: str) -> tuple[BackendName, Callable[[str, str | None], Parsed]]:
    if requested not in ("auto", "phonenumbers", "rphonenumbers"):
        raise ValueError(
            f"LEADFLOW_PHONE_BACKEND={requested!r} is not one of auto, phonenumbers, rphonenumbers"
        )
    if requested == "phonenumbers":
        return "phonenumbers", _parse_reference
    fast = fast_parser()
    if fast is None:
        if requested == "rphonenumbers":
            raise ValueError("LEADFLOW_PHONE_BACKEND=rphonenumbers but rphonenumbers is not installed")
        return "phonenumbers", _parse_reference
    if requested == "auto" and (
        not FAST_PATH_VERIFIED or any(fast(v, r) != _parse_reference(v, r) for v, r in _SELF_CHECK)
    ):
        return "phonenumbers", _parse_reference
    return "rphonenumbers", fast


COLUMNAR: Final[bool] = os.environ.get("LEADFLOW_PHONE_COLUMNAR", "1").strip().lower() not in (
    "0",
    "false",
    "no",
    "off",
)
"""Whether plainly written values are parsed as columns (transforms.phone_columnar) before the
per-value backend sees the rest; ``LEADFLOW_PHONE_COLUMNAR=0`` sends every value to the backend."""

_PARSERS: dict[BackendName, Callable[[str, str | None], Parsed]] = {}


@functools.cache
def selected_backend() -> BackendName:
    """The backend of this process (``LEADFLOW_PHONE_BACKEND``), chosen at its first use, not at
    import: in ``auto`` the choice imports rphonenumbers and parses the self-check with both
    libraries (8 regions' metadata), which a file of a few numbers need not pay for."""
    backend, parser = _choose(os.environ.get("LEADFLOW_PHONE_BACKEND", "auto").strip().lower())
    _PARSERS.setdefault(backend, parser)
    return backend


BACKEND: BackendName
"""``selected_backend()``, read as a module attribute (module ``__getattr__``)."""


def __getattr__(name: str) -> Any:
    if name == "BACKEND":
        return selected_backend()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SMALL_INPUT: Final = 64
"""Fewer distinct values than this, while no backend is chosen yet, go to the reference: the
choice costs more than parsing them (tens of reference parses and rphonenumbers' import), and
both backends answer alike (the differential test)."""


def _parser(backend: BackendName) -> Callable[[str, str | None], Parsed]:
    parser = _PARSERS.get(backend)
    if parser is None:
        parser = _choose(backend)[1]
        _PARSERS[backend] = parser
    return parser


def parse_one(value: str, region: str | None, *, backend: BackendName | None = None) -> Parsed:
    """Parse one cleaned value: (e164, number type, extension, status, country code)."""
    return _parser(backend or selected_backend())(value, region)


def _parse_chunk(job: tuple[BackendName, list[str], list[str | None]]) -> ParsedPhones:
    backend, values, regions = job
    parse = _parser(backend)
    results = [parse(value, region) for value, region in zip(values, regions, strict=True)]
    if not results:
        return ParsedPhones([], [], [], [], [])
    e164, number_type, extension, status, country_code = (
        list(column) for column in zip(*results, strict=True)
    )
    return ParsedPhones(e164, number_type, extension, status, country_code)


def _default_workers() -> int:
    affinity: Any = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def parse_values(
    values: Sequence[str],
    regions: Sequence[str | None],
    *,
    workers: int | None = None,
    pool_threshold: int = 20_000,
    chunk_size: int = 4_000,
    backend: BackendName | None = None,
) -> ParsedPhones:
    """Parse ``values[i]`` with default region ``regions[i]`` for every i, results aligned.

    Serial in this process when there are at most ``pool_threshold`` values or one worker;
    otherwise chunks of ``chunk_size`` values go to ``workers`` spawned processes (default: the
    CPUs this process may use). Values are expected cleaned (see transforms.phones) and distinct.
    """
    if len(values) != len(regions):
        raise ValueError(f"{len(values)} values but {len(regions)} regions")
    if backend is not None:
        chosen = backend
    elif len(values) < SMALL_INPUT and selected_backend.cache_info().currsize == 0:
        chosen = "phonenumbers"
    else:
        chosen = selected_backend()
    n_workers = workers if workers is not None else _default_workers()
    if len(values) <= pool_threshold or n_workers <= 1:
        return _parse_chunk((chosen, list(values), list(regions)))
    size = max(1, min(chunk_size, -(-len(values) // n_workers)))
    jobs = [
        (chosen, list(values[start : start + size]), list(regions[start : start + size]))
        for start in range(0, len(values), size)
    ]
    try:
        parts = list(_pool(n_workers).map(_parse_chunk, jobs))
    except BrokenProcessPool:
        _drop_pool()  # a worker died (killed, out of memory): the next call starts a new pool
        raise
    return ParsedPhones(
        [item for part in parts for item in part.e164],
        [item for part in parts for item in part.number_type],
        [item for part in parts for item in part.extension],
        [item for part in parts for item in part.status],
        [item for part in parts for item in part.country_code],
    )


_POOL_LOCK = threading.Lock()
_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """The process's pool of ``workers`` spawned parsers, started at its first use and kept.

    Why kept: a spawned worker imports phonenumbers and its backend before its first value
    (about 0.3 s of CPU each), and a pool a call paid that for every batch: a 200k-row file over
    all 245 regions sends its 150k values a batch to the pool, and spent about a fifth of its
    CPU starting workers. Idle workers hold their memory (tens of MB each) until the process
    ends; concurrent.futures shuts the pool down at exit."""
    with _POOL_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            _POOLS[workers] = pool
        return pool


def _drop_pool() -> None:
    """Forget the pools (one is broken); their workers are shut down without waiting."""
    with _POOL_LOCK:
        for pool in _POOLS.values():
            pool.shutdown(wait=False, cancel_futures=True)
        _POOLS.clear()
