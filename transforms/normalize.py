"""From canonical raw leads to clean leads: names, phones, emails, ids, then disposition.

The order matters: phones and emails must be normalized before external ids are hashed
(the hash is over the normalized contact, so "+1 415..." and "(415)..." give one id) and
before dedupe (duplicates are the same E.164 number, not the same spelling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from schemas.clean_leads import CLEAN_LEADS, CLEAN_LEADS_CONTRACT, PHONE_SLOTS
from schemas.raw_leads import RAW_LEADS_CONTRACT
from transforms.dedupe import DEDUPE_KEYS, DedupeKey, disposition_columns
from transforms.emails import email_columns
from transforms.identity import assign_external_ids
from transforms.issues import append_issue_rows
from transforms.names import normalize_names, placeholder_names
from transforms.phones import phone_columns
from transforms.suppress_keys import SuppressionKeys

__all__ = ["Suppression", "clean_leads"]

Suppression = SuppressionKeys | tuple[pl.Series, pl.Series]
"""What is on the do-not-contact lists: their keys (transforms.suppress_keys: what the runs
hold), or the values themselves, (E.164 phones, emails in any case), keyed here."""


def clean_leads(
    raw: pl.DataFrame,
    *,
    default_region: str | None,
    source: str,
    dedupe_keys: Sequence[DedupeKey] = DEDUPE_KEYS,
    suppression: Suppression | None = None,
    erased: Callable[[pl.Series], pl.Series] | None = None,
    workers: int | None = None,
) -> pl.DataFrame:
    """Normalize raw leads and decide each row's disposition (schemas.clean_leads).

    ``erased``: given the file's normalized phones and lower-cased emails, those an erasure
    request names (connectors.dnc); they are suppressed as if listed (the store keeps only
    their hashes, so they can only be found from the file's side)."""
    RAW_LEADS_CONTRACT.validate(raw)
    # one name for the frame as it goes: each stage's input is dropped as soon as the next
    # exists, or a million-row file keeps five generations of its issues and contacts alive
    frame = normalize_names(raw).collect()
    del raw  # the columns normalization replaces go with it, when the caller has let go too
    # each stage hands back its findings and they join ``issues`` once, at the end: appended
    # stage by stage, every row's earlier issues were laid out and rebuilt three times
    frame, phone_issues = phone_columns(frame, default_region, workers=workers)
    frame, email_issues = email_columns(frame)
    frame = assign_external_ids(frame, source=source)
    # after the ids: they are hashed from the names as written, as they always were
    frame, name_issues = placeholder_names(frame)
    phones, emails = _listed_here(frame, suppression, erased)
    frame, disposition_issues = disposition_columns(
        frame, keys=dedupe_keys, suppressed_phones=phones, suppressed_emails=emails
    )
    frame = append_issue_rows(frame, [phone_issues, email_issues, *name_issues, *disposition_issues])
    clean = frame.select(list(CLEAN_LEADS)).cast(CLEAN_LEADS)  # type: ignore[arg-type]
    del frame
    return CLEAN_LEADS_CONTRACT.validate(clean)


def _listed_here(
    frame: pl.DataFrame, suppression: Suppression | None, erased: Callable[[pl.Series], pl.Series] | None
) -> tuple[pl.Series | None, pl.Series | None]:
    """The listed phones and emails that occur in ``frame``, and the erased ones found in it.

    A registry of millions of numbers against a file of thousands: the file's distinct
    contacts are keyed and looked up in the lists' sorted keys (transforms.suppress_keys,
    binary search: no set is built over the list), and only the listed ones go on, so that
    each phone slot's check below tests against a few values, not a million."""
    if suppression is None and erased is None:
        return None, None
    file_phones = pl.concat([frame.get_column(slot) for slot in PHONE_SLOTS]).drop_nulls().unique()
    file_emails = frame.get_column("email").str.to_lowercase().drop_nulls().unique()
    phones: pl.Series | None = None
    emails: pl.Series | None = None
    if suppression is not None:
        keys = (
            suppression
            if isinstance(suppression, SuppressionKeys)
            else SuppressionKeys.from_values(*suppression)
        )
        phones, emails = keys.listed_phones(file_phones), keys.listed_emails(file_emails)
    if erased is not None:
        contacts = pl.concat([file_phones, file_emails]).unique()
        found = erased(contacts)
        phones = found if phones is None else pl.concat([phones, found])
        emails = found if emails is None else pl.concat([emails, found])
    return phones, emails
