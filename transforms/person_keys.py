"""Who a lead's person is, for the frequency guardrail: 64-bit keys computed a chunk at a time.

A **phone**'s key is the exact integer of its E.164 digits (``+4930123456`` -> 4930123456): at
most 15 digits, so below 10**15, positive, and no hash at all. An **email**'s key is
:func:`email_keys`' stable hash of its UTF-8 bytes, trimmed of ASCII whitespace and ASCII letters
lower-cased (no Unicode table, which may change between versions), with the top bit set, so
always negative: a phone and an email never share a key, and ``per = "phone"`` / ``"email"``
select keys by sign. Keys are the ledger's stored identity of a person (connectors.ledger_contacts),
so their definition may never change without a ledger step; :data:`KEY_VERSION` names it.

A phone's key is the number dialled, without its extension: leads at two extensions of one
switchboard, two leads to dedupe (transforms.dedupe), are one person here, because a
contact-frequency rule counts the calls to a line and every call to either rings it.

The email hash (version 2), over the bytes ``b[0..n-1]``, all arithmetic modulo 2**64::

    h = sum(b[i] * P ** (n - 1 - i)) + n * L      # a polynomial hash, Horner's rule's value
    h = splitmix64(h)                              # the finalizer of Steele et al. (2014)
    key = h | 2**63, read as a signed 64-bit integer

with ``P = 0x100000001B3`` (FNV's 64-bit prime) and ``L = 0x9E3779B97F4A7C15``.

:func:`email_keys` computes the sum for a whole batch in numpy over the Arrow buffer, with no
Python per email and no power per byte. P is odd, so it has an inverse ``Q`` modulo 2**64, and
for a string at bytes ``[s, e)`` of a buffer and any ``o <= s``::

    sum(b[k] * P ** (e - 1 - k)) = P ** (e - 1 - o) * sum(b[k] * Q ** (k - o))

The strings that start in one block of ``_BLOCK`` bytes (32 KiB) are a group, ``o`` its first
byte: its bytes are weighted by one slice of a table of Q's powers (a multiply, no gather),
each string's weighted bytes summed (``np.add.reduceat``: a cumulative sum and a difference a
string cost twice as much), then multiplied by P's power. A group spans at most two blocks (a
string longer than one is a group alone), so two tables of two blocks' powers (1 MB, made
once) serve any batch; a string longer than two blocks is summed alone by Horner's rule over
pieces. Each row's segment runs to the next row's start (an Arrow buffer's strings are
contiguous), so every row gets a sum and a blank or null row's is masked. 100,000 emails of a
real batch (mean 31 bytes), best of 7, load 3: 10-12.5 ms CPU, was 44 (a power's index for
each byte, its gather and a cumulative sum), and 7 MB of numpy arrays at the peak, was 92
(~30 bytes a byte of email). :func:`email_key` is the same in plain Python, the definition
the tests hold the vectorized one to (tests/connectors/test_person_keys.py: fixed vectors, and
any text in blocks of a few bytes, so that short text takes every path). The version 1 key
(blake2b, per lead in Python) is :func:`legacy_people`, read only while a ledger still holds
contacts it keyed (connectors.ledger_contacts).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "KEY_VERSION",
    "email_key",
    "email_key_column",
    "email_keys",
    "legacy_people",
    "phone_key",
]

KEY_VERSION = 2
"""1: blake2b of ``"p:" + e164`` / ``"e:" + email`` (until this module); 2: this module's keys."""

_MASK = (1 << 64) - 1
_P = 0x100000001B3
_Q = pow(_P, -1, 1 << 64)  # P is odd: its inverse modulo 2**64
_L = 0x9E3779B97F4A7C15
_TOP = 1 << 63
_BLOCK = 1 << 15
"""The strings starting in a block of this many bytes are weighted by one slice of the tables."""
_ASCII_SPACE = " \t\n\v\f\r"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def phone_key(e164: str) -> int:
    """A phone's key: its E.164 digits as an integer."""
    return int(e164.lstrip("+"))


def _splitmix64(z: int) -> int:
    z = (z + _L) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def email_key(email: str) -> int:
    """An email's key, in plain Python: the definition of :func:`email_keys`."""
    data = email.strip(_ASCII_SPACE).translate(_ASCII_LOWER).encode()
    h = 0
    for byte in data:
        h = (h * _P + byte) & _MASK
    h = _splitmix64((h + len(data) * _L) & _MASK) | _TOP
    return h - (1 << 64)


def _power_table(base: int, size: int) -> np.ndarray:
    """``base**k`` modulo 2**64 for k below ``size``, by doubling (a few numpy calls)."""
    powers = np.empty(size, dtype=np.uint64)
    powers[0] = 1
    done, step = 1, base  # step: base**done
    while done < size:
        more = min(done, size - done)
        np.multiply(powers[:more], np.uint64(step), out=powers[done : done + more])
        done, step = done + more, step * step & _MASK
    return powers


@functools.cache
def _tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """P**k and Q**k for k below ``size``: two blocks and one (:func:`email_keys`), 1 MB in all."""
    return _power_table(_P, size), _power_table(_Q, size)


def _is_space(values: np.ndarray) -> np.ndarray:
    """Which bytes are ASCII whitespace (``\\t\\n\\v\\f\\r`` are 9-13)."""
    space: np.ndarray = (values == 32) | ((values - np.uint8(9)) <= 4)
    return space


def _long_sum(data: np.ndarray, powers: np.ndarray) -> int:
    """The polynomial sum of one string longer than a block, by Horner's rule over pieces of
    at most a block (each piece its bytes times P's powers in reverse: the table's view)."""
    h = 0
    for at in range(0, len(data), _BLOCK):
        piece = data[at : at + _BLOCK]
        size = len(piece)
        part = np.multiply(piece, powers[size - 1 :: -1][:size], dtype=np.uint64).sum(dtype=np.uint64)
        h = (h * int(powers[size]) + int(part)) & _MASK
    return h


def _ranges(array: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bytes of ``array`` (a view of its buffer), each string's start and end in them, and
    which strings are neither null nor empty."""
    size = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + size + 1]
    first, last = int(offsets[0]), int(offsets[-1])
    buffer = array.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8)[first:last] if buffer is not None else np.empty(0, np.uint8)
    starts, ends = offsets[:-1] - first, offsets[1:] - first
    present = ends > starts
    if array.null_count:
        # the validity bitmap's bits, read in place: pyarrow's to_numpy of a boolean array
        # imports pandas, 0.15-0.25 s the first time in a process, more than a million keys
        bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
        valid = np.unpackbits(bits, count=array.offset + size, bitorder="little")[array.offset :]
        present &= valid.astype(bool)
    return data, starts, ends, present


def _edged_with_space(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, present: np.ndarray) -> bool:
    """Whether a string starts or ends with whitespace (an empty one's index may fall on its
    neighbour's byte or past the end: clipped, and its answer not asked)."""
    if not len(data):
        return False
    firsts, lasts = data[np.minimum(starts, len(data) - 1)], data[ends - 1]
    return bool((present & (_is_space(firsts) | _is_space(lasts))).any())


def _lowered(emails: pa.Array | Sequence[str | None]) -> pa.LargeStringArray:
    """``emails`` as a large_string array, ASCII letters lower-cased."""
    array = emails if isinstance(emails, pa.Array) else pa.array(emails, type=pa.large_string())
    array = array.cast(pa.large_string())
    offsets = array.buffers()[1]
    if len(array) and np.frombuffer(offsets, dtype=np.int64, count=1, offset=8 * array.offset)[0]:
        # e.g. a string slice cast to large: pyarrow 26's ascii_lower misreads an array whose
        # offsets do not start at 0 (it writes only their bytes); trimming makes a fresh one
        array = pc.ascii_trim_whitespace(array)
    lowered: pa.LargeStringArray = pc.ascii_lower(array)
    return lowered


def _hashes(array: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """Every string's key (int64; any number for a null or blank one) and which strings have
    one, computed over the Arrow buffer as the module docstring says. Trimmed by pyarrow only
    when some string starts or ends with whitespace."""
    data, starts, ends, present = _ranges(array)
    if _edged_with_space(data, starts, ends, present):
        data, starts, ends, present = _ranges(pc.ascii_trim_whitespace(array))
    if not present.any():
        return np.zeros(len(starts), dtype=np.int64), present
    powers, inverses = _tables(2 * _BLOCK + 1)
    lengths = ends - starts
    # groups: the strings starting in one block, a string longer than a block alone; each
    # string's bytes run to the next one's start (an Arrow buffer's strings are contiguous)
    cuts = np.flatnonzero(np.diff(starts // _BLOCK)) + 1
    long = np.flatnonzero(lengths > _BLOCK)
    if len(long):
        cuts = np.union1d(cuts, np.concatenate((long, long + 1)))
    bounds = [0, *cuts[(cuts > 0) & (cuts < len(starts))].tolist(), len(starts)]
    sums = np.empty(len(starts), dtype=np.uint64)
    base = np.empty(len(starts), dtype=np.int64)
    weighted = np.empty(2 * _BLOCK + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for a, b in itertools.pairwise(bounds):
            lo, hi = int(starts[a]), int(ends[b - 1])
            base[a:b] = lo
            if hi - lo > 2 * _BLOCK:  # one string longer than two blocks: no table slice for it
                sums[a], base[a] = _long_sum(data[lo:hi], powers), hi - 1
                continue
            part = weighted[: hi - lo + 1]  # + 1: a 0 after the last, so that reduceat ends there
            np.copyto(part[:-1], data[lo:hi])  # widened, then weighted in place (less than at once)
            np.multiply(part[:-1], inverses[: hi - lo], out=part[:-1])
            part[-1] = 0
            sums[a:b] = np.add.reduceat(part, starts[a:b] - lo)  # an empty string's: any number
        h = powers[ends - 1 - base] * sums + lengths.astype(np.uint64) * np.uint64(_L)
        z = h + np.uint64(_L)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z | np.uint64(_TOP)).view(np.int64), present


def email_keys(emails: pa.Array | Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the non-blank emails and their positions: (positions int32, keys int64); a
    null or blank email is left out."""
    keys, present = _hashes(_lowered(emails))
    where = np.flatnonzero(present)
    return where.astype(np.int32), keys[where]


def email_key_column(emails: pl.Series) -> pl.Series:
    """``email_key``: each email's key (:func:`email_keys`), null where there is none."""
    keys, present = _hashes(_lowered(emails.to_arrow()))
    keys *= present  # a null's value 0, as a polars column built from values and nulls has
    valid = pa.py_buffer(np.packbits(present, bitorder="little"))
    array = pa.Array.from_buffers(pa.int64(), len(emails), [valid, pa.py_buffer(keys)])
    return pl.Series("email_key", array, dtype=pl.Int64)


def legacy_people(leads: Iterable[tuple[Sequence[str], str | None]], per: str) -> list[tuple[int, ...]]:
    """Version 1 keys ((phones, email) per lead): blake2b-64 of ``"p:" + e164`` and
    ``"e:" + lower(trimmed email)``, little-endian signed. Only to read contacts an earlier
    leadflow recorded, for as long as they are within a window."""
    out: list[tuple[int, ...]] = []
    for phones, email in leads:
        keys = [] if per == "email" else [_blake("p:" + phone) for phone in phones]
        if email and per != "phone":
            keys.append(_blake("e:" + email.strip().lower()))
        out.append(tuple(dict.fromkeys(keys)))
    return out


def _blake(text: str) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
