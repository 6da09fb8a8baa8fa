"""Deterministic external ids: the vendor recognises a resend because the id does not change.

A lead keeps the file's own id when it has one (``external_id_origin = "file"``). Otherwise
the id is ``lf-`` + a 64-bit hash of the source name and the normalized contact (first valid
phone, email, names), so the same person in tomorrow's re-export of the same source gets the
same id. Rows with no usable channel hash their raw values and row number instead, only so
that every result row has an id.

The phone is spelt as dedupe keys it (transforms.dedupe.phone_key): the E.164 number alone, or
``+E164;ext=N`` when it has an extension, so that two people at one switchboard (extensions 12
and 34, no names or emails to tell them apart), both of whom dedupe keeps, never share an id.
Ids of phones without an extension are those of earlier versions; a lead whose first phone
has an extension got an id without it before. That id is kept beside the new one
(``legacy_external_id``, the same hash over the bare E.164, computed with it by one function and
only for those rows), and the engine counts a delivery the ledger holds under it as this lead's
(connectors.engine, ``_skip_already_sent``): a file imported before that change and imported
again (or a crashed run resumed) after it is recognised, its extension leads ``already_sent``.

The hash (``stable_hash_64``) is defined here and must never change: ledgers keep ids for
months. It is computed with numpy over the Arrow string buffers, eight bytes at a time,
rather than with hashlib in a per-row Python loop (several times slower) or with polars'
``hash`` (its values may change between polars versions).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from schemas.clean_leads import PHONE_SLOTS
from transforms.arrow_series import arrow_series
from transforms.dedupe import phone_key

__all__ = ["assign_external_ids", "stable_hash_64"]

_SEED = np.uint64(0xCBF29CE484222325)  # FNV-1a offset basis
_PRIME = np.uint64(0x100000001B3)  # FNV prime
_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)  # murmur3 fmix64 constants
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT_33 = np.uint64(33)
_SHIFT_32 = np.uint64(32)
_SEP = "\x1f"


def _fmix64(h: np.ndarray) -> np.ndarray:
    h ^= h >> _SHIFT_33
    h *= _FMIX_1
    h ^= h >> _SHIFT_33
    h *= _FMIX_2
    h ^= h >> _SHIFT_33
    return h


def _hash_words(values: pl.Series) -> np.ndarray:
    array = values.cast(pl.String).fill_null("").to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    # the same bytes seen as binary: a view where the layout is already large (64-bit offsets),
    # which spares a one-row run importing pyarrow.compute (~30 ms) for a cast
    array = (
        array.view(pa.large_binary()) if array.type == pa.large_string() else array.cast(pa.large_binary())
    )
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64, count=n + 1, offset=array.offset * 8)
    data_buffer = array.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    # words[i] = the 8 bytes starting at byte i (little endian), an unaligned strided view
    words = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=padded, strides=(1,))
    lengths = np.diff(offsets)
    # sorted by descending length, the rows that still have a word w form a prefix [:k]
    order = np.argsort(-lengths, kind="stable")
    starts = offsets[:-1][order]
    sorted_lengths = lengths[order]
    hashes = np.full(n, _SEED, dtype=np.uint64)
    n_words = int(-(-sorted_lengths.max(initial=0) // 8))
    for w in range(n_words):
        k = int(np.searchsorted(-sorted_lengths, -(8 * w), side="left"))
        word = words[starts[:k] + 8 * w].astype(np.uint64)
        remaining = np.minimum(sorted_lengths[:k] - 8 * w, 8).astype(np.uint64)
        keep = np.where(
            remaining >= 8,
            np.uint64(0xFFFFFFFFFFFFFFFF),
            (np.uint64(1) << (remaining * np.uint64(8))) - np.uint64(1),
        )
        hashes[:k] ^= word & keep
        hashes[:k] *= _PRIME
        hashes[:k] ^= hashes[:k] >> _SHIFT_32
    hashes ^= sorted_lengths.astype(np.uint64)
    result = np.empty(n, dtype=np.uint64)
    result[order] = _fmix64(hashes)
    return result


def stable_hash_64(values: pl.Series) -> pl.Series:
    """A stable 64-bit hash of each UTF-8 string, as 16 lower-case hex digits; null stays null."""
    hashes = _hash_words(values)
    big_endian = pa.py_buffer(hashes.astype(">u8").tobytes())
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), len(hashes), [None, big_endian])
    hexed = arrow_series(values.name, fixed).cast(pl.Binary).bin.encode("hex")
    return pl.select(pl.when(values.is_null()).then(None).otherwise(hexed)).to_series().alias(values.name)


def assign_external_ids(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Set ``external_id`` (never null), ``external_id_origin`` ("file" or "hash") and
    ``legacy_external_id``: the id the previous formula gave (first phone without its
    extension), only on generated ids it differs from (their first phone has an extension),
    null elsewhere.

    Expects normalized columns: external_id (the file's, raw), phone1..3 and phone1..3_ext, email, names,
    phoneN_raw, email_raw, source_row.
    """
    file_id = pl.col("external_id").str.strip_chars()
    file_id = pl.when(file_id == "").then(None).otherwise(file_id)
    contact = pl.coalesce(*(phone_key(frame, slot) for slot in PHONE_SLOTS))
    given = frame.select(file_id.alias("external_id")).to_series()
    needs_hash = given.is_null()
    hashed = _hashed_ids(frame, needs_hash, _hash_input(source, contact))
    legacy = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    if any(not frame.get_column(f"{slot}_ext").is_null().all() for slot in PHONE_SLOTS):
        # only when some phone has an extension (most files have none: nothing more is done)
        bare = pl.coalesce(*PHONE_SLOTS)
        changed = frame.select((pl.lit(needs_hash) & (contact != bare)).fill_null(False)).to_series()
        legacy = _hashed_ids(frame, changed, _hash_input(source, bare))
    return frame.with_columns(
        external_id=given.fill_null(hashed),
        external_id_origin=pl.when(needs_hash).then(pl.lit("hash")).otherwise(pl.lit("file")),
        legacy_external_id=legacy,
    )


def _hash_input(source: str, contact: pl.Expr) -> pl.Expr:
    """The string a generated id hashes, with ``contact`` as the row's phone (null: none)."""
    has_channel = contact.is_not_null() | pl.col("email").is_not_null()
    return (
        pl.when(has_channel)
        .then(
            # a missing field counts as empty (the same string a present-but-empty one gives)
            pl.concat_str(
                [
                    pl.lit(source),
                    contact.fill_null(""),
                    pl.col("email").fill_null(""),
                    pl.col("first_name").fill_null(""),
                    pl.col("last_name").fill_null(""),
                ],
                separator=_SEP,
            )
        )
        .otherwise(
            pl.concat_str(
                [
                    pl.lit(source),
                    pl.lit("row"),
                    pl.col("source_row").cast(pl.String),
                    pl.col("phone1_raw").fill_null(""),
                    pl.col("email_raw").fill_null(""),
                ],
                separator=_SEP,
            )
        )
    )


def _hashed_ids(frame: pl.DataFrame, rows: pl.Series, fields: pl.Expr) -> pl.Series:
    """``lf-`` + the hash of ``fields`` on the ``rows`` marked true, null on the others."""
    # the hash inputs only for the rows marked (often none), read from a narrow plan:
    # filtering or joining the frame itself would copy every column of it
    inputs = frame.lazy().filter(pl.lit(rows)).select(fields.alias("_hash_input")).collect().to_series()
    return pl.repeat(None, frame.height, dtype=pl.String, eager=True).scatter(
        rows.arg_true(), "lf-" + stable_hash_64(inputs)
    )
