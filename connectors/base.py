"""What the dispatch engine needs from a vendor module, and the plain types it hands over.

Every ``connectors/<vendor>.py`` has the same parts in the same order: ``LIMITS``, auth,
``build_request(client, chunk)``, ``parse_response(chunk, response)``. The engine (engine.py)
owns everything else: chunking, concurrency, rate limit, retries, the ledger, the circuit
breaker and turning outcomes into result rows. Connectors never see polars frames: they get
``Lead`` objects made from clean-lead rows, one ``Chunk`` at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import httpx

from connectors.config import TargetConfig
from connectors.errors import ConnectorError, FatalTargetError, TransientError, VendorAnswerError, truncate
from schemas.codes import Status

if TYPE_CHECKING:
    from transforms.people import People

__all__ = ["Channel", "Chunk", "Connector", "FileColumns", "Lead", "Limits", "Phone", "RowOutcome"]


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    type: str | None = None
    ext: str | None = None


@dataclass(frozen=True, slots=True)
class Lead:
    """One clean, ready lead as the vendors see it."""

    source_row: int
    external_id: str
    first_name: str | None = None
    last_name: str | None = None
    phones: tuple[Phone, ...] = ()
    email: str | None = None
    country: str | None = None
    timezone: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    call_window_end: datetime | None = None
    """End of the lead's calling window (UTC) under the target's compliance profile, None
    without one: a vendor that keeps dialling for a while (Engage's maxDuration) stops by then."""
    email_key: int | None = None
    """The email's person key (transforms.person_keys), computed with the batch's under a
    frequency limit; None otherwise, and then computed from ``email`` when needed."""
    legacy_external_id: str | None = None
    """The id an earlier version generated for this lead, where it differs from ``external_id``
    (a generated id whose first phone has an extension: transforms.identity); a delivery the
    ledger holds under it makes the lead ``already_sent`` (connectors.engine)."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Lead:
        """Build from a clean-leads row dict (schemas.clean_leads); invalid phones are skipped."""
        phones = tuple(
            Phone(row[slot], row.get(f"{slot}_type"), row.get(f"{slot}_ext"))
            for slot in ("phone1", "phone2", "phone3")
            if row.get(slot)
        )
        attributes = tuple((a["name"], a["value"]) for a in row.get("attributes") or ())
        return cls(
            source_row=int(row["source_row"]),
            external_id=str(row["external_id"]),
            first_name=row.get("first_name"),
            last_name=row.get("last_name"),
            phones=phones,
            email=row.get("email"),
            country=row.get("country"),
            timezone=row.get("timezone"),
            attributes=attributes,
            call_window_end=row.get("call_window_end"),
            email_key=row.get("email_key"),
            legacy_external_id=row.get("legacy_external_id"),
        )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class FileColumns:
    """The lead file's columns as the import mapped them (transforms.columns.AppliedMapping), for
    a target whose settings name columns: ``attributes`` are the headers kept as the leads'
    attributes (exact spelling, the names ``Lead.attributes`` carries), ``mapped`` each canonical
    column's header, ``ignored`` the headers the mapping file drops."""

    attributes: tuple[str, ...] = ()
    mapped: Mapping[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chunk:
    """The leads of one request. ``batch_id`` is deterministic (target, campaign, external ids),
    so a resend of the same chunk carries the same id (Engage batch externalId, uContact filename)."""

    target: str
    batch_id: str
    leads: tuple[Lead, ...]
    people: People | None = field(default=None, compare=False, repr=False)
    """The leads' person keys as arrays (transforms.people), when the engine was given the
    batch's under a frequency limit; None otherwise (each Lead's are read then)."""

    def __len__(self) -> int:
        return len(self.leads)


class RowOutcome(NamedTuple):
    """What the vendor said about one row of a chunk.

    A NamedTuple rather than a frozen dataclass: connectors build one per lead on every answer,
    and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) costs about three
    times as much. Change a field with ``outcome._replace(...)``."""

    source_row: int
    status: Status
    reasons: tuple[str, ...] = ()
    vendor_id: str | None = None
    vendor_status: str | None = None
    vendor_message: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """A vendor's documented limits, as declared data (never ``if len(x) > 100`` in code)."""

    max_items: int
    """Leads per request (OBI 100, Engage 100, ONC 1, ...)."""
    default_items: int | None = None
    """Leads per request when the target sets no ``chunk_size``; None: ``max_items``."""
    max_bytes: int | None = None
    """Request body bytes (MaxContact 512000); None when undocumented."""
    default_concurrency: int = 4
    default_rate_limit: float | None = None
    """Requests per second; None = unlimited."""
    max_answer_bytes: int = 8 * 1024 * 1024
    """Largest answer read (decoded) unless the target says otherwise (connectors.answers): far
    above any documented answer, far below what would hurt the process."""


@dataclass
class Connector(ABC):
    """A vendor's side of the engine. Subclasses declare ``kind``, ``channel`` and ``LIMITS``."""

    kind: ClassVar[str]
    channel: ClassVar[Channel]
    LIMITS: ClassVar[Limits]
    refuses_known_ids: ClassVar[bool] = False
    """True when the vendor refuses a lead it already holds under our external id ("already
    exists"), so a resend after a lost answer cannot store it twice. When False, the rows of a
    request whose answer was lost and that was sent again are marked ``POSSIBLY_DUPLICATED``."""

    target: TargetConfig
    secrets: dict[str, str] = field(repr=False, default_factory=dict)
    """Resolved credential values (username, password, ...), never logged."""

    # --- auth ---------------------------------------------------------------------------
    @abstractmethod
    def auth(self) -> httpx.Auth:
        """The login/refresh flow (connectors.auth); the engine attaches it to the client."""

    async def open(self, client: httpx.AsyncClient) -> None:  # noqa: B027 - optional hook
        """Prepare the target before the first chunk (e.g. MaxContact: create and link a list)."""

    async def close(self, client: httpx.AsyncClient) -> None:  # noqa: B027 - optional hook
        """End the vendor session (uContact EndSession, ONC CloseAPISession): one attempt, which
        raises when it failed (:meth:`check_logout`). The token stays: connectors.session tries
        again on a transient fault and forgets the token after the last attempt."""

    def check_logout(self, response: httpx.Response, call: str) -> None:
        """Raise unless the logout ``call`` was answered 200: a 429/5xx as ``classify`` does (a
        ``TransientError`` with the vendor's Retry-After, tried again), anything else (a 401 for a
        session already gone, a 400, a SOAP Fault) as a refusal, which another attempt won't change."""
        status = response.status_code
        if status == 200:
            return
        if status == 429 or status >= 500:
            self.classify(response)
        raise ConnectorError(f"{self.target.name}: {call} answered HTTP {status}", target=self.target.name)

    def holds_extension_only(self) -> bool:
        """True when this target holds a lead whose every phone needs an extension (option
        ``extensions = "hold"`` on a voice target): flows.importer marks such leads
        ``EXTENSION_UNSUPPORTED`` before chunking (transforms.eligibility.hold_extension_only)."""
        return False

    def schedules_by_zone(self) -> bool:
        """True when the vendor dials each lead within calling hours in the lead's own time zone
        (a per-contact zone field): under a compliance profile, a lead of one zone outside its
        window is still sent (the vendor waits for it). False (the default): the vendor dials
        when it likes, so such a lead is held with ``OUTSIDE_CALLING_WINDOW`` (README, "Calling
        windows")."""
        return False

    def check_columns(self, columns: FileColumns) -> None:  # noqa: B027 - optional hook
        """Raise a ``FatalTargetError`` (``TARGET_MISCONFIGURED``) when the target's settings
        need a column this file does not have (a uContact template's placeholder): called once
        per import, after the file's columns are mapped and before anything is sent; the import
        then sends nothing to the target and its rows fail with the error's reason and message.
        Default: the target names no column."""

    # --- payload ------------------------------------------------------------------------
    def item_size(self, lead: Lead) -> int:
        """Approximate encoded bytes of one lead in a request body (for byte-limited chunking)."""
        return 256

    @abstractmethod
    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        """One HTTP request carrying every lead of ``chunk`` (``client.build_request``)."""

    # --- response -----------------------------------------------------------------------
    def classify(self, response: httpx.Response) -> None:
        """Raise for whole-request failures before ``parse_response`` sees the response.

        Default: 429 and 5xx are transient (honouring Retry-After), 401/403 stop the target.
        SOAP vendors override this, because a SOAP 1.1 Fault arrives as HTTP 500.
        """
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(
                f"{self.target.name}: HTTP {status} from {response.request.url.path}",
                retry_after=_retry_after(response),
                status_code=status,
                target=self.target.name,
                request=response.request,
            )
        if status in (401, 403):
            raise FatalTargetError(
                f"{self.target.name}: HTTP {status}: the vendor refused our credentials; "
                "check the target's username/password references",
                target=self.target.name,
                request=response.request,
                reason="AUTH_FAILED",
            )

    @abstractmethod
    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        """Exactly one outcome per lead of ``chunk`` (in any order)."""

    async def enrich(
        self, client: httpx.AsyncClient, chunk: Chunk, outcomes: list[RowOutcome]
    ) -> list[RowOutcome]:
        """Complete outcomes the answer left partial (e.g. OBI: look up the id of a customer the
        vendor already had). Called after ``parse_response``; failures here must not raise."""
        return outcomes

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        """Ask the vendor what became of a chunk left in flight by a crashed run.

        Return one outcome per lead when the vendor can tell, or None to have the engine
        resend the chunk with the same external ids (the vendor's "already exists" then
        counts as accepted).
        """
        return None

    def unreadable(self, response: httpx.Response, what: str) -> VendorAnswerError:
        """A ``200`` that is not the vendor's answer at all (a proxy's or a login portal's page,
        garbage): this request's rows fail ``VENDOR_ANSWER_INVALID`` and the breaker counts it;
        the target goes on (README "an answer that cannot be read")."""
        return VendorAnswerError(
            f"{self.target.name}: unreadable answer from {response.request.url.path} "
            f"(HTTP {response.status_code}): {what}: {truncate(response.text)}",
            target=self.target.name,
        )

    def unexpected(self, response: httpx.Response, what: str) -> FatalTargetError:
        """A response that breaks the vendor's documented contract: stop the target."""
        return FatalTargetError(
            f"{self.target.name}: unexpected answer from {response.request.url.path} "
            f"(HTTP {response.status_code}): {what}: {truncate(response.text)}",
            target=self.target.name,
            reason="VENDOR_ANSWER_INVALID",
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
