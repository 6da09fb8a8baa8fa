"""The ledger's name for a vendor endpoint: one name however a targets file spells the URL.

Two targets files that reach one vendor as ``http://localhost:8765/obi`` and
``http://127.0.0.1:8765/obi/`` must share what was sent, or the second sends everything again.
:func:`normalize_endpoint` lower-cases the scheme and host, drops the scheme's default port, the
user info (credentials never reach the ledger), the fragment, trailing slashes and dot segments,
and writes every loopback alias (``localhost``, ``127.0.0.1``, ``::1``) as ``localhost``. A vendor
reached through several host names that no rule can know are one (a load balancer and its
nodes) is named by the target's explicit ``ledger_key`` instead (connectors.config).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["LOOPBACK", "normalize_endpoint"]

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1"})
"""Host names written ``localhost`` in a ledger key."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _without_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 on a path split by ``/``; empty segments (``//``) dropped too."""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    return "/" + "/".join(kept) if kept else ""


def normalize_endpoint(url: str) -> str:
    """``url`` as the ledger names it; a value that is not an http(s) URL is returned as is
    (an explicit ``ledger_key``)."""
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return text
    host = parts.hostname.lower()
    if host in LOOPBACK:
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, _without_dot_segments(parts.path), parts.query, ""))
