"""The one reason taxonomy shared by transforms, connectors and reports.

Every rejected, skipped or failed row carries machine-readable codes from here, so that an
analyst can group by reason and a script can act on it. Free text goes next to a code
(``vendor_message``, an issue's ``value``), never instead of one.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Disposition", "Issue", "Status"]


class Issue(StrEnum):
    """Row-level findings of ingest and normalize (``issues`` column) and of the senders (``reasons``)."""

    # ingest
    RAGGED_ROW = "RAGGED_ROW"  # the CSV row had too few or too many fields
    BINARY_NOT_UTF8 = "BINARY_NOT_UTF8"  # a Parquet binary value was not UTF-8: read as cp1252/Latin-1
    UNTERMINATED_QUOTE = "UNTERMINATED_QUOTE"  # a quote opened on this row swallowed lines; read alone
    ENCODING_MIXED = "ENCODING_MIXED"  # this row's line is in another encoding than the file's
    # phones
    PHONE_MISSING = "PHONE_MISSING"  # no phone value in any phone column
    PHONE_UNPARSEABLE = "PHONE_UNPARSEABLE"  # not a phone number at all
    PHONE_NO_REGION = "PHONE_NO_REGION"  # national number with no country and no default region
    PHONE_INVALID = "PHONE_INVALID"  # parsed but not a valid number for its region, or not 7-15 digits
    COUNTRY_UNKNOWN = "COUNTRY_UNKNOWN"  # country value not recognised (default region used)
    # email
    EMAIL_MISSING = "EMAIL_MISSING"
    EMAIL_INVALID = "EMAIL_INVALID"
    # time zone
    TIMEZONE_INVALID = "TIMEZONE_INVALID"  # given time zone is not an IANA name (derived one used)
    POSTAL_CODE_UNKNOWN = (
        "POSTAL_CODE_UNKNOWN"  # a US row's ZIP code is no known ZIP code (zone from state/number)
    )
    STATE_UNKNOWN = "STATE_UNKNOWN"  # a US row's state is no US state or territory (zone from the number)
    # disposition
    NO_CHANNEL = "NO_CHANNEL"  # neither a valid phone nor a valid email
    DUPLICATE_EXTERNAL_ID = "DUPLICATE_EXTERNAL_ID"
    DUPLICATE_PHONE = "DUPLICATE_PHONE"
    DUPLICATE_EMAIL = "DUPLICATE_EMAIL"
    SUPPRESSED_PHONE = "SUPPRESSED_PHONE"
    SUPPRESSED_EMAIL = "SUPPRESSED_EMAIL"
    # per target
    NEEDS_PHONE = "NEEDS_PHONE"  # voice target, no valid phone
    NEEDS_MOBILE = "NEEDS_MOBILE"  # SMS target, no mobile phone
    NEEDS_EMAIL = "NEEDS_EMAIL"  # email target, no valid email
    ALREADY_SENT = "ALREADY_SENT"  # the ledger says an earlier run delivered it
    VENDOR_REJECTED = "VENDOR_REJECTED"  # the vendor refused this row (see vendor_status/message)
    VENDOR_DUPLICATE = "VENDOR_DUPLICATE"  # the vendor already had it: counted as accepted
    # vendor_rejected: the vendor holds another record under this id (or one it cannot show to
    # be our earlier send); vendor_message names the vendor's record
    VENDOR_ID_CONFLICT = "VENDOR_ID_CONFLICT"
    TRANSPORT_FAILED = "TRANSPORT_FAILED"  # timeouts/5xx/connection errors after all retries
    POSSIBLY_DUPLICATED = "POSSIBLY_DUPLICATED"  # an answer lost after the vendor may have stored it
    IN_PROGRESS_ELSEWHERE = "IN_PROGRESS_ELSEWHERE"  # failed: another live run holds the lead's claim
    AUTH_FAILED = "AUTH_FAILED"  # the vendor refused our credentials
    LEDGER_UNAVAILABLE = "LEDGER_UNAVAILABLE"  # the ledger could not be opened: nothing claimed, not sent
    VENDOR_ANSWER_INVALID = "VENDOR_ANSWER_INVALID"  # unreadable answer (encoding, format): outcome unknown
    VENDOR_ANSWER_TOO_LARGE = "VENDOR_ANSWER_TOO_LARGE"  # answer over the target's max_answer_bytes
    TARGET_STOPPED = "TARGET_STOPPED"  # circuit breaker opened; row not attempted
    CHUNK_TOO_LARGE = "CHUNK_TOO_LARGE"  # a single row exceeds the vendor's byte limit


class Disposition(StrEnum):
    """What dedupe/suppress decided for a row, before any target is considered."""

    READY = "ready"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"


class Status(StrEnum):
    """Final status of one (row, target) result."""

    REJECTED = "rejected"  # bad input, see reasons
    DUPLICATE = "duplicate"  # duplicate of an earlier row in the file
    SUPPRESSED = "suppressed"  # on a do-not-contact list
    INELIGIBLE = "ineligible"  # fine lead, but this target cannot use it (channel)
    READY = "ready"  # validated only (target ``validate``): would be sent
    DRY_RUN = "dry_run"  # payload built, not sent (--dry-run)
    ACCEPTED = "accepted"  # vendor confirmed this row
    SUBMITTED = "submitted"  # async vendor took the file containing this row
    VENDOR_REJECTED = "vendor_rejected"  # vendor refused this row
    FAILED = "failed"  # could not be delivered (transport, auth, circuit open)
    ALREADY_SENT = "already_sent"  # ledger: delivered by an earlier run
