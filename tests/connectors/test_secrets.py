"""SecretSet: every form of a secret we send or receive is redacted, however it comes back."""

from __future__ import annotations

import base64
import logging
from html import escape
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import redact
from connectors.secrets import SecretSet

USERS = st.text(st.characters(codec="utf-8", exclude_characters=":*\x00"), min_size=1, max_size=12)
SECRETS = st.text(st.characters(codec="utf-8", exclude_characters="*\x00"), min_size=3, max_size=24)
TOKENS = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="*;"), min_size=3)
"""Tokens as vendors issue them: printable ASCII."""
FILLER = st.text(st.sampled_from("ab cd<>\"'=;:/"), max_size=8)


def forms(user: str, secret: str) -> list[str]:
    """What a vendor or gateway could echo: computed here, independently of SecretSet."""
    return [
        secret,
        base64.b64encode(f"{user}:{secret}".encode()).decode(),
        base64.b64encode(secret.encode()).decode(),
        quote(secret, safe=""),
        quote_plus(secret),
        escape(secret),
    ]


@given(user=USERS, secret=SECRETS, before=FILLER, after=FILLER)
def test_every_derived_form_of_a_basic_credential_is_redacted(
    user: str, secret: str, before: str, after: str
) -> None:
    known = SecretSet()
    known.add_pair(user, secret)
    for form in forms(user, secret):
        said = known.redact(f"{before}{form}{after}")
        assert form not in said, (form, said)


@given(user=USERS, token=TOKENS)
def test_a_token_sent_in_a_header_is_known_by_the_header_alone(user: str, token: str) -> None:
    """uContact's ``Basic base64(user:token)``, MaxContact's ``base64(password)`` and
    ``Cookie: TokenKey=...``: registering the request as it leaves is enough."""
    pair = base64.b64encode(f"{user}:{token}".encode()).decode()
    bare = base64.b64encode(token.encode()).decode()
    known = SecretSet()
    known.harvest(httpx.Request("POST", "http://v/x", headers={"Authorization": f"Basic {pair}"}))
    known.harvest(httpx.Request("GET", "http://v/y", headers={"Authorization": bare}))
    cookie_token = "Tk" + pair[:20].replace(";", "")
    known.harvest(httpx.Request("GET", "http://v/z", headers={"Cookie": f"TokenKey={cookie_token}; x=1"}))

    for text in (token, pair, bare, cookie_token, escape(token)):
        assert text not in known.redact(f"echo: {text} ."), text


def test_redact_accepts_the_set_and_plain_lists_longest_first() -> None:
    known = SecretSet(["pass", "password1"])
    assert known.redact("password1 and pass") == "*** and ***"
    assert redact("password1 and pass", ["pass", "password1"]) == "*** and ***"
    assert redact("password1", known) == "***"


def test_short_values_are_not_redacted_so_words_survive() -> None:
    known = SecretSet(["ab", ""])
    assert not known
    assert known.redact("ab cd") == "ab cd"


def test_a_connector_log_line_holding_a_derived_or_received_form_is_redacted_before_any_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connector that logs with only its raw credentials at hand (Engage's resend warning)
    still never writes base64(user:password) or a token the vendor handed out."""
    secrets = SecretSet()
    secrets.add_pair("demo", "demo-secret")
    secrets.add("tok-8f3a91")
    pair = base64.b64encode(b"demo:demo-secret").decode()
    log = logging.getLogger("leadflow.connectors")

    with caplog.at_level(logging.WARNING, logger="leadflow.connectors"):
        log.warning("gateway echoed Authorization: Basic %s", pair)
        try:
            raise ValueError("answer carried TokenKey=tok-8f3a91")
        except ValueError:
            log.exception("reading failed")

    assert caplog.records, "nothing was logged"
    assert pair not in caplog.text
    assert "tok-8f3a91" not in caplog.text
    assert "Basic ***" in caplog.text
    assert "TokenKey=***" in caplog.text
    del secrets
