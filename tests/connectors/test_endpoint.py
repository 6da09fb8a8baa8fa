"""The ledger's name for a vendor endpoint: one name for every spelling of one URL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.endpoint import normalize_endpoint


@pytest.mark.parametrize(
    "spelling",
    [
        "http://localhost:8765/obi",
        "http://127.0.0.1:8765/obi/",
        "HTTP://LocalHost:8765/obi//",
        "http://[::1]:8765/./obi",
        "http://127.0.0.1:8765/x/../obi/",
        "http://user:secret@127.0.0.1:8765/obi#top",
    ],
)
def test_every_spelling_of_a_loopback_endpoint_has_one_name(spelling: str) -> None:
    assert normalize_endpoint(spelling) == "http://localhost:8765/obi"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://Vendor.Example:443/api/", "https://vendor.example/api"),
        ("http://vendor.example:80", "http://vendor.example"),
        ("http://vendor.example:8080/", "http://vendor.example:8080"),
        ("https://vendor.example:80/a", "https://vendor.example:80/a"),
        ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
    ],
)
def test_the_default_port_and_case_are_dropped_other_ports_kept(url: str, name: str) -> None:
    assert normalize_endpoint(url) == name


def test_a_name_that_is_no_url_is_kept_as_given() -> None:
    assert normalize_endpoint("obi-production") == "obi-production"


def test_distinct_paths_and_hosts_stay_distinct() -> None:
    names = {
        normalize_endpoint(u)
        for u in ("http://localhost:8765/obi", "http://localhost:8765/engage", "http://localhost:8766/obi")
    }
    assert len(names) == 3


@given(
    host=st.sampled_from(["localhost", "127.0.0.1", "[::1]", "vendor.example"]),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    segments=st.lists(st.text("abc-_~%0123", min_size=1, max_size=5), max_size=4),
)
def test_normalizing_twice_changes_nothing(host: str, port: int | None, segments: list[str]) -> None:
    url = f"http://{host}{'' if port is None else f':{port}'}/{'/'.join(segments)}/"
    once = normalize_endpoint(url)
    assert normalize_endpoint(once) == once
