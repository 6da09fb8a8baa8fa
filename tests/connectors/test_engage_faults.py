"""Engage Faults as a Java SOAP stack may word them map to rows through the document's templates.

Each body is an answer a real Engage could plausibly give (the document gives templates, not the
Fault's shape): Metro's fault with an ApiException detail, a bare faultstring, an en dash, a
hyphen or ``CODE=message``, and WS-Security's own authentication fault.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from connectors.base import Chunk, Lead, Phone
from connectors.config import TargetConfig
from connectors.engage import EngageConnector
from connectors.engage_faults import DOCUMENT_TEMPLATES, read_errors
from connectors.errors import AuthenticationError, FatalTargetError, TransientError
from connectors.soap import Fault
from schemas.codes import Issue, Status

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS = "http://www.soundbite.com/SOAPAPI2/110"


def _metro(faultcode: str, faultstring: str, detail: str = "", declare: str = "") -> bytes:
    return (
        f'<S:Envelope xmlns:S="{SOAP}"><S:Body><S:Fault {declare}>'
        f"<faultcode>{faultcode}</faultcode><faultstring>{faultstring}</faultstring>"
        f"{f'<detail>{detail}</detail>' if detail else ''}</S:Fault></S:Body></S:Envelope>"
    ).encode()


def _bean(code: str, message: str) -> str:
    return (
        f'<ns2:ApiException xmlns:ns2="{NS}"><errors><code>{code}</code><message>{message}</message>'
        f"</errors><message>{code} – {message}</message></ns2:ApiException>"
        '<ns3:exception xmlns:ns3="http://jax-ws.dev.java.net/" class="x.ApiException">'
        f"<message>{code} – {message}</message></ns3:exception>"
    )


def _connector() -> EngageConnector:
    target = TargetConfig(
        name="engage-t", kind="engage", base_url="http://x", campaign="C", options={"account_id": "1"}
    )
    return EngageConnector(target=target, secrets={"username": "u", "password": "p"})


CHUNK = Chunk(
    "engage-t",
    "BATCH-1",
    tuple(Lead(i, f"L-{i}", phones=(Phone(f"+4930123456{i}"),)) for i in range(1, 4)),
)


def _parse(
    body: bytes, connector: EngageConnector | None = None
) -> list[tuple[int, Status, tuple[str, ...], str | None]]:
    connector = connector or _connector()
    response = httpx.Response(500, content=body, request=httpx.Request("POST", "http://x/"))
    connector.classify(response)
    outcomes = connector.parse_response(CHUNK, response)
    return sorted((o.source_row, o.status, o.reasons, o.vendor_status) for o in outcomes)


REFUSED_ROW_2 = (2, Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,), "ATTRIBUTE_INVALID_FORMAT")
EXISTS_ROW_2 = "compare row 2 with what Engage holds"


@pytest.mark.parametrize(
    ("body", "row_2"),
    [
        (
            _metro(
                "S:Server",
                "ATTRIBUTE_INVALID_FORMAT – Attribute 'L-2' has an invalid format.",
                _bean("ATTRIBUTE_INVALID_FORMAT", "Attribute 'L-2' has an invalid format."),
            ),
            REFUSED_ROW_2,
        ),
        (
            _metro("S:Server", "ATTRIBUTE_INVALID_FORMAT - Attribute 'L-2' has an invalid format"),
            REFUSED_ROW_2,
        ),
        (_metro("S:Server", "OBJECT_EXISTS – Object 'L-2' already exists"), EXISTS_ROW_2),
        (_metro("S:Server", "OBJECT_EXISTS=Object 'L-2' already exists"), EXISTS_ROW_2),
        (
            _metro("S:Server", "refused", _bean("OBJECT_EXISTS", "Object &apos;L-2&apos; already exists")),
            EXISTS_ROW_2,
        ),
    ],
    ids=["metro-bean", "hyphen-no-detail", "en-dash-no-detail", "equals-no-detail", "bean-entity"],
)
def test_a_per_contact_fault_in_the_documents_words_settles_that_row_and_resends_the_rest(
    body: bytes, row_2: tuple[int, Status, tuple[str, ...], str | None] | str
) -> None:
    connector = _connector()
    parsed = _parse(body, connector)
    pending = connector._pending["BATCH-1"]
    assert [lead.source_row for lead in pending.left] == [1, 3], "sent again by enrich"
    if row_2 == EXISTS_ROW_2:
        assert [lead.source_row for lead in pending.contacts_exist] == [2]
    else:
        assert parsed[1] == row_2
    assert [p[1:3] for p in (parsed[0], parsed[2])] == [(Status.FAILED, (Issue.TRANSPORT_FAILED,))] * 2


def test_an_object_exists_naming_the_batch_is_compared_not_failed() -> None:
    parsed = _parse(_metro("S:Server", "OBJECT_EXISTS – Object 'BATCH-1' already exists"))
    assert {p[1] for p in parsed} == {Status.FAILED}, "left to enrich, which compares what Engage holds"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            _metro(
                "wsse:FailedAuthentication",
                "The security token could not be authenticated or authorized",
                declare=f'xmlns:wsse="{WSSE}"',
            ),
            AuthenticationError,
        ),
        (
            _metro("ns1:InvalidSecurityToken", "An invalid security token", declare=f'xmlns:ns1="{WSSE}"'),
            AuthenticationError,
        ),
        (_metro("S:Server", "INTERNAL_ERROR - Internal error while processing the request"), TransientError),
        (_metro("S:Server", "java.lang.NullPointerException"), TransientError),
        (_metro("S:Server", "OBJECT_NOT_EXISTS – Referenced object 'C' does not exist"), FatalTargetError),
        (_metro("S:Client", "Unmarshalling Error: unexpected element"), FatalTargetError),
    ],
    ids=[
        "wsse-failed-authentication",
        "wsse-invalid-token",
        "internal-error",
        "bare-server",
        "campaign",
        "client",
    ],
)
def test_faults_about_no_contact_stop_or_retry_the_request(body: bytes, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught:
        _parse(body)
    if expected is AuthenticationError:
        assert caught.value.reason == Issue.AUTH_FAILED
        assert "credentials" in str(caught.value)
    if expected is FatalTargetError:
        assert not isinstance(caught.value, AuthenticationError)


IDS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s
)


@given(
    subject=IDS,
    dash=st.sampled_from(["–", "-", "—", ":", "="]),
    code=st.sampled_from(sorted(DOCUMENT_TEMPLATES)),
)
def test_any_subject_filled_into_any_documented_template_is_read_back(
    subject: str, dash: str, code: str
) -> None:
    template = DOCUMENT_TEMPLATES[code]
    if "%s" not in template:
        return
    # a template that ends in its hole (ARG_INVALID_DATA's "Invalid Data '%s") may come back with a
    # closing quote added; a subject ending in a quote is then the same text as one without it
    # ("Invalid Data ''" is the subject "'" or the subject "" quoted), so it cannot be read back
    assume(not (template.endswith("%s") and subject.endswith("'")))
    said = f"{code} {dash} {template.replace('%s', subject)}"
    (error,) = read_errors(Fault("S:Server", said), DOCUMENT_TEMPLATES)
    assert (error.code, error.subject) == (code, subject)


def test_a_closing_quote_after_a_subject_that_ends_the_template_is_not_part_of_it() -> None:
    (quoted,) = read_errors(Fault("S:Server", "ARG_INVALID_DATA - Invalid Data 'abc'"), DOCUMENT_TEMPLATES)
    (verbatim,) = read_errors(Fault("S:Server", "ARG_INVALID_DATA - Invalid Data 'abc"), DOCUMENT_TEMPLATES)

    assert (quoted.subject, verbatim.subject) == ("abc", "abc")
