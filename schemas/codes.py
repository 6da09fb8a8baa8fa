"""The one reason taxonomy shared by transforms, connectors and reports.

Every rejected, skipped or failed row carries machine-readable codes from here, so that an
analyst can group by reason and a script can act on it. Free text goes next to a code
(``vendor_message``, an issue's ``value``), never instead of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["GLOSSARY", "CodeHelp", "Disposition", "Issue", "Status"]


class Issue(StrEnum):
    """Row-level findings of ingest and normalize (``issues`` column) and of the senders (``reasons``)."""

    # ingest
    RAGGED_ROW = "RAGGED_ROW"  # the CSV row had too few or too many fields
    BINARY_NOT_UTF8 = "BINARY_NOT_UTF8"  # a Parquet binary value was not UTF-8: read as cp1252/Latin-1
    UNTERMINATED_QUOTE = "UNTERMINATED_QUOTE"  # a quote opened on this row swallowed lines; read alone
    ENCODING_MIXED = "ENCODING_MIXED"  # this row's line is in another encoding than the file's
    NUL_BYTE_REMOVED = "NUL_BYTE_REMOVED"  # NUL bytes (0x00) removed from this row's line, its text kept
    ROW_EMPTY = "ROW_EMPTY"  # the row holds no value at all (a spreadsheet's empty row, ",,,")
    # phones
    PHONE_MISSING = "PHONE_MISSING"  # no phone value in any phone column
    PHONE_UNPARSEABLE = "PHONE_UNPARSEABLE"  # not a phone number at all
    PHONE_NO_REGION = "PHONE_NO_REGION"  # national number with no country and no default region
    PHONE_INVALID = "PHONE_INVALID"  # parsed but not a valid number for its region, or not 7-15 digits
    COUNTRY_UNKNOWN = "COUNTRY_UNKNOWN"  # country value not recognised (default region used)
    # names
    NAME_PLACEHOLDER = "NAME_PLACEHOLDER"  # a name was a placeholder (N/A, unknown, -): left empty
    # email
    EMAIL_MISSING = "EMAIL_MISSING"
    EMAIL_INVALID = "EMAIL_INVALID"
    # time zone
    TIMEZONE_INVALID = (
        "TIMEZONE_INVALID"  # given zone is no IANA place name (EST, UTC: none; derived one used)
    )
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
    # ineligible: every phone the target could dial needs an extension it cannot pass on, and the
    # target holds such leads (``extensions = "hold"``) rather than reach a switchboard
    EXTENSION_UNSUPPORTED = "EXTENSION_UNSUPPORTED"
    # ineligible: under the target's compliance profile the lead may not be called at the run's
    # start (or has no window at all), and the vendor does not schedule by the lead's zone
    OUTSIDE_CALLING_WINDOW = "OUTSIDE_CALLING_WINDOW"
    ALREADY_SENT = "ALREADY_SENT"  # the ledger says an earlier run delivered it
    VENDOR_REJECTED = "VENDOR_REJECTED"  # the vendor refused this row (see vendor_status/message)
    VENDOR_DUPLICATE = "VENDOR_DUPLICATE"  # the vendor already had it: counted as accepted
    # vendor_rejected: the vendor holds another record under this id (or one it cannot show to
    # be our earlier send); vendor_message names the vendor's record
    VENDOR_ID_CONFLICT = "VENDOR_ID_CONFLICT"
    TRANSPORT_FAILED = "TRANSPORT_FAILED"  # timeouts/5xx/connection errors after all retries
    POSSIBLY_DUPLICATED = "POSSIBLY_DUPLICATED"  # an answer lost after the vendor may have stored it
    IN_PROGRESS_ELSEWHERE = "IN_PROGRESS_ELSEWHERE"  # failed: another live run holds the lead's claim
    FREQUENCY_LIMIT = "FREQUENCY_LIMIT"  # suppressed: the person reached the contact-frequency limit
    AUTH_FAILED = "AUTH_FAILED"  # the vendor refused our credentials
    LEDGER_UNAVAILABLE = "LEDGER_UNAVAILABLE"  # the ledger could not be opened: nothing claimed, not sent
    VENDOR_ANSWER_INVALID = "VENDOR_ANSWER_INVALID"  # unreadable answer (encoding, format): outcome unknown
    VENDOR_ANSWER_TOO_LARGE = "VENDOR_ANSWER_TOO_LARGE"  # answer over the target's max_answer_bytes
    # failed, not attempted: the target was stopped for failures that may pass with time (its
    # circuit breaker opened after repeated failed requests, or the vendor or Prefect's global
    # limits stayed out of reach); another attempt later may send the row
    TARGET_STOPPED = "TARGET_STOPPED"
    # failed: the vendor refused the target's setup (an unknown campaign or list, a setting or
    # batch refused as a whole), or the import did before sending (a uContact template naming a
    # column the file lacks), so the target was stopped; another attempt with the same settings
    # meets the same answer: a person must fix the target's settings first
    TARGET_MISCONFIGURED = "TARGET_MISCONFIGURED"
    CHUNK_TOO_LARGE = "CHUNK_TOO_LARGE"  # a single row exceeds the vendor's byte limit
    PARTITION_FAILED = "PARTITION_FAILED"  # the row's partition of a split import did not finish


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
    SUPPRESSED = "suppressed"  # on a do-not-contact list, or held by the contact-frequency limit
    INELIGIBLE = "ineligible"  # fine lead, but this target cannot use it (channel)
    READY = "ready"  # validated only (target ``validate``): would be sent
    DRY_RUN = "dry_run"  # payload built, not sent (--dry-run)
    ACCEPTED = "accepted"  # vendor confirmed this row
    SUBMITTED = "submitted"  # async vendor took the file containing this row
    VENDOR_REJECTED = "vendor_rejected"  # vendor refused this row
    FAILED = "failed"  # could not be delivered (transport, auth, circuit open, target misconfigured)
    ALREADY_SENT = "already_sent"  # ledger: delivered by an earlier run


@dataclass(frozen=True)
class CodeHelp:
    """What a code means and what a reader does about it, in one plain sentence each.

    Kept here, beside the enums, so that a new code without an explanation fails
    tests/schemas/test_glossary.py; the README table and the report's glossary are generated
    from it (schemas.glossary), so neither can drift from the code list.
    """

    meaning: str
    action: str


_H = CodeHelp

GLOSSARY: dict[str, dict[str, CodeHelp]] = {
    "Status": {
        Status.REJECTED: _H(
            "The row was kept back because its input is unusable; its reasons say which value.",
            "Fix the values named in the reasons in the source file and import the row again.",
        ),
        Status.DUPLICATE: _H(
            "The row repeats an earlier row of the file (same external id, phone or email); "
            "`duplicate_of` names it.",
            "Nothing, unless the two rows are different people: then correct the shared value.",
        ),
        Status.SUPPRESSED: _H(
            "The row's phone or email is on a do-not-contact list (a --suppress file, or a list of "
            "the managed store, leadflow dnc, erasure requests included), or (reason FREQUENCY_LIMIT, "
            "this target only) its person reached the contact-frequency limit.",
            "Nothing: the lead must not be contacted.",
        ),
        Status.INELIGIBLE: _H(
            "The lead is fine, but this target cannot use it (it lacks the channel the target needs).",
            "Nothing, or add the missing phone, mobile or email if this target should reach the lead.",
        ),
        Status.READY: _H(
            "Validated only (leadflow validate, target `validate`): the row would be sent.",
            "Nothing: import the file to send it.",
        ),
        Status.DRY_RUN: _H(
            "The payload was built but not sent (--dry-run).",
            "Nothing: run without --dry-run to send.",
        ),
        Status.ACCEPTED: _H(
            "The vendor confirmed it stored this row.",
            "Nothing.",
        ),
        Status.SUBMITTED: _H(
            "An asynchronous vendor took the file that contains this row.",
            "Nothing; check the vendor's own upload report if rows go missing there.",
        ),
        Status.VENDOR_REJECTED: _H(
            "The vendor refused this row; `vendor_status` and `vendor_message` say why.",
            "Fix the row as the vendor's message says and import it again.",
        ),
        Status.FAILED: _H(
            "The row could not be delivered "
            "(transport, credentials, target settings, circuit breaker, ledger).",
            "Fix the cause named in the reasons, then run the same import again: "
            "the ledger sends each row once.",
        ),
        Status.ALREADY_SENT: _H(
            "The ledger says an earlier run already delivered this row to this target.",
            "Nothing: it is not sent twice.",
        ),
    },
    "Disposition": {
        Disposition.READY: _H(
            "Dedupe and suppression kept the row for the targets (internal, before targets are considered).",
            "Nothing: each target then decides the row's status.",
        ),
        Disposition.REJECTED: _H(
            "The row has no usable channel; it becomes status `rejected` at every target.",
            "Fix the values named in the reasons and import the row again.",
        ),
        Disposition.DUPLICATE: _H(
            "The row repeats an earlier row; it becomes status `duplicate` at every target.",
            "Nothing, unless the two rows are different people.",
        ),
        Disposition.SUPPRESSED: _H(
            "The row is on a do-not-contact list; it becomes status `suppressed` at every target.",
            "Nothing: the lead must not be contacted.",
        ),
    },
    "Issue": {
        Issue.RAGGED_ROW: _H(
            "The CSV row had too few or too many fields, so its values may sit in the wrong columns.",
            "Check the row in the file (a stray delimiter or a missing quote) and fix it.",
        ),
        Issue.BINARY_NOT_UTF8: _H(
            "A Parquet text value was not UTF-8 and was read as cp1252/Latin-1.",
            "Check the value reads correctly; write the file as UTF-8 to be sure.",
        ),
        Issue.UNTERMINATED_QUOTE: _H(
            "A quote opened on this row never closed, so the row was read on its own.",
            "Close or remove the stray quote in the file.",
        ),
        Issue.ENCODING_MIXED: _H(
            "This row's line is in another text encoding than the rest of the file.",
            "Check the row's names read correctly; save the whole file in one encoding (UTF-8).",
        ),
        Issue.NUL_BYTE_REMOVED: _H(
            "This row's line held NUL bytes (0x00, left by a crashed export or a binary field); "
            "they were removed and the text around them kept.",
            "Check the row's values read correctly; export the file again to be sure.",
        ),
        Issue.ROW_EMPTY: _H(
            'The row holds no value at all (a spreadsheet\'s empty row, saved as ",,,"): nothing to send. '
            'The report counts it as an "empty row", not a lead needing attention, leaves it out of the '
            "leads to look at, and the alerts' `rejected_share` leaves it out.",
            "Nothing to fix; delete the empty rows from the export to keep them out of the results.",
        ),
        Issue.PHONE_MISSING: _H(
            "No phone column of the row holds a value.",
            "Add a phone number if the lead should be called or texted.",
        ),
        Issue.PHONE_UNPARSEABLE: _H(
            "A phone value is not a phone number at all.",
            "Correct the phone value in the file.",
        ),
        Issue.PHONE_NO_REGION: _H(
            "A national phone number came with no country and no default country to read it by.",
            "Add the country to the row, write the number in +E.164 form, or pass --country.",
        ),
        Issue.PHONE_INVALID: _H(
            "A phone number is not valid for its country, or has fewer than 7 or more than 15 digits.",
            "Correct the number, or the row's country if the number belongs to another one.",
        ),
        Issue.COUNTRY_UNKNOWN: _H(
            "The country value was not recognised, so the default country was used.",
            "Write the country as an ISO code (DE, DEU) or its name (Germany, Deutschland).",
        ),
        Issue.NAME_PLACEHOLDER: _H(
            "A first or last name was a placeholder (N/A, none, unknown, test, xxx, or no letter at all, "
            "like - or ?), so it was left empty and is not sent; the row goes on as a lead without "
            "that name.",
            "Nothing, or write the person's real name in the file.",
        ),
        Issue.EMAIL_MISSING: _H(
            "The row has no email address.",
            "Add an email address if the lead should be emailed.",
        ),
        Issue.EMAIL_INVALID: _H(
            "The email value is not a valid address.",
            "Correct the email address in the file.",
        ),
        Issue.TIMEZONE_INVALID: _H(
            "The given time zone is not an IANA name of a place (like Europe/Berlin): "
            "not one at all, or a fixed offset such as EST or UTC, which keeps no daylight saving time; "
            "one derived from the address, phone number or country was used.",
            "Write the time zone as an IANA place name (America/New_York, not EST), or leave it empty.",
        ),
        Issue.POSTAL_CODE_UNKNOWN: _H(
            "A US row's ZIP code is not a known ZIP code; its time zone came from its state or number.",
            "Correct the ZIP code (five digits) if the lead's local time matters for calling.",
        ),
        Issue.STATE_UNKNOWN: _H(
            "A US row's state is not a US state or territory; its time zone came from its number.",
            "Write the state as its two-letter code (CA) or its name.",
        ),
        Issue.NO_CHANNEL: _H(
            "The row has neither a valid phone nor a valid email, so no target can contact it.",
            "Correct or add a phone number or email address.",
        ),
        Issue.DUPLICATE_EXTERNAL_ID: _H(
            "An earlier row of the file has the same external id.",
            "Nothing, unless they are different leads: then give each its own id.",
        ),
        Issue.DUPLICATE_PHONE: _H(
            "An earlier row of the file has the same phone number and extension (another extension "
            "of one switchboard is another lead).",
            "Nothing, unless they are different leads sharing a number.",
        ),
        Issue.DUPLICATE_EMAIL: _H(
            "An earlier row of the file has the same email address.",
            "Nothing, unless they are different leads sharing an address.",
        ),
        Issue.SUPPRESSED_PHONE: _H(
            "The row's phone number is on a do-not-contact list (--suppress or leadflow dnc), or a "
            "person with it asked to be erased.",
            "Nothing: the lead must not be called or texted.",
        ),
        Issue.SUPPRESSED_EMAIL: _H(
            "The row's email address is on a do-not-contact list (--suppress or leadflow dnc), or "
            "its owner asked to be erased.",
            "Nothing: the lead must not be emailed.",
        ),
        Issue.NEEDS_PHONE: _H(
            "This voice target needs a valid phone number and the row has none.",
            "Add or correct the phone number if this target should call the lead.",
        ),
        Issue.NEEDS_MOBILE: _H(
            "This SMS target needs a mobile number and the row has none.",
            "Add a mobile number if this target should text the lead.",
        ),
        Issue.NEEDS_EMAIL: _H(
            "This email target needs a valid email address and the row has none.",
            "Add or correct the email address if this target should email the lead.",
        ),
        Issue.EXTENSION_UNSUPPORTED: _H(
            "Every phone of the row this target could dial needs an extension, the target cannot "
            'pass one on, and it is set to hold such leads (`extensions = "hold"`) rather than '
            "reach a switchboard.",
            "Add a direct number, or set the target's `extensions` option to `drop` to call the "
            "main number without the extension.",
        ),
        Issue.OUTSIDE_CALLING_WINDOW: _H(
            "Under the target's compliance profile the lead may not be called at the run's start "
            "(or has no calling window: no time zone, or no allowed hour within 14 days), and this "
            "vendor does not wait for the lead's own hours; `call_window_start` says when it may be.",
            "Import the file again (the ledger skips the rows already sent) inside the lead's window.",
        ),
        Issue.ALREADY_SENT: _H(
            "The ledger says an earlier run already delivered this row to this target.",
            "Nothing: it is not sent twice.",
        ),
        Issue.VENDOR_REJECTED: _H(
            "The vendor refused this row; `vendor_status` and `vendor_message` say why.",
            "Fix the row as the vendor's message says and import it again.",
        ),
        Issue.VENDOR_DUPLICATE: _H(
            "The vendor already held this row (an earlier send of ours), so it counts as accepted.",
            "Nothing.",
        ),
        Issue.VENDOR_ID_CONFLICT: _H(
            "The vendor holds another record under this external id, or one not shown to be our "
            "earlier send; `vendor_message` names it.",
            "Compare the vendor's record with the row; "
            "give the row its own id or remove the vendor's record.",
        ),
        Issue.TRANSPORT_FAILED: _H(
            "The vendor could not be reached or kept failing "
            "(timeouts, 5xx, dropped connections) after all retries.",
            "Check the vendor is reachable, then run the same import again.",
        ),
        Issue.POSSIBLY_DUPLICATED: _H(
            "An answer was lost after the vendor may have stored the row, and the row was sent again, "
            "so the vendor may hold it twice.",
            "Look the lead up at the vendor and remove a second copy if there is one.",
        ),
        Issue.IN_PROGRESS_ELSEWHERE: _H(
            "Another run sharing the ledger had claimed this lead, so this run did not send it.",
            "Run the same import again once the other run has finished.",
        ),
        Issue.FREQUENCY_LIMIT: _H(
            "The person (any of the row's phones or its email) was already sent as often as the "
            "contact-frequency limit allows within its window (the target's `frequency`, else "
            "`LEADFLOW_FREQUENCY`, else the targets file's `[frequency]`), across targets and runs "
            "sharing the ledger, so this target did not get the row.",
            "Nothing: import the row again once the window has passed, if it should still go out.",
        ),
        Issue.AUTH_FAILED: _H(
            "The vendor refused our credentials.",
            "Fix the target's username or password (leadflow secrets), then run the same import again.",
        ),
        Issue.LEDGER_UNAVAILABLE: _H(
            "The ledger could not be opened (locked or unreachable), or stopped taking writes part-way "
            "through the run (its disk full, read-only, an I/O error: the target stops, its message "
            "names the file), so this lead was not claimed and not sent. A lead whose request was "
            "answered but whose answer the ledger could not record keeps the vendor's answer in its row "
            "and stays in flight in the ledger: the next run settles it with the vendor, as after a crash "
            "(`POSSIBLY_DUPLICATED` where the vendor cannot be asked).",
            "Make the ledger reachable or free space on its disk (or raise LEADFLOW_LEDGER_WAIT), then run "
            "the same import again.",
        ),
        Issue.VENDOR_ANSWER_INVALID: _H(
            "The vendor's answer could not be read (encoding, format), so the outcome is unknown.",
            "Check at the vendor whether the row arrived; a rerun resends it through the ledger.",
        ),
        Issue.VENDOR_ANSWER_TOO_LARGE: _H(
            "The vendor's answer exceeded the target's max_answer_bytes, so the outcome is unknown.",
            "Check at the vendor whether the row arrived; raise max_answer_bytes if the answer is genuine.",
        ),
        Issue.TARGET_STOPPED: _H(
            "The target was stopped for failures that may pass with time (its circuit breaker "
            "opened after repeated failed requests, the vendor stayed out of reach while the target "
            "was prepared, the vendor answered that the session had expired to every session it "
            "opened for us, or a slot of Prefect's global limits could not be had), so this row was "
            "not attempted; `vendor_message` names the failure.",
            "Fix what `vendor_message` names (usually the vendor's or the Prefect server's "
            "reachability), then run the same import again.",
        ),
        Issue.TARGET_MISCONFIGURED: _H(
            "The vendor refused the target's setup (an unknown campaign or list, a setting or a "
            "batch refused as a whole), or the import refused it before sending anything (a "
            "uContact template or email `variables` naming a column the file does not have), so "
            "the target was stopped and this row was not delivered; `vendor_message` says what the "
            "vendor answered or which name is missing and which columns could be meant. Another "
            "attempt with the same settings gets the same answer.",
            "Fix the target's campaign or settings in the targets file (leadflow check tests them), "
            "or give the file the column the template names, then run the same import again.",
        ),
        Issue.CHUNK_TOO_LARGE: _H(
            "This single row is larger than the vendor's byte limit for a request.",
            "Shorten the row's long values (attributes, message) and import it again.",
        ),
        Issue.PARTITION_FAILED: _H(
            "The row was in a partition of a split import (--partitions) whose flow run did not "
            "finish (crashed, failed or timed out); what it sent is in the ledger, its results are not.",
            "Run the same import again: the ledger skips what the partition delivered and sends the rest.",
        ),
    },
}
"""Every code of every enum above, by enum name, then code value: a meaning and what to do."""
