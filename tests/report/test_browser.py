"""The HTML report in a real browser (headless Chromium): lead data never runs as script,
our own script and the charts do, and a screenshot is kept in test-output/ for CI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from flows.report.html_page import write_html_report
from tests.report.runs import PWNED_TITLE, XSS_SCRIPT, write_run

pytestmark = pytest.mark.browser

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
_INJECTED = '<p id="pwned">'
"""The element the lead's script would add (as text the serialiser writes ``&lt;p id="pwned"&gt;``)."""
_ACCEPTED_GREEN = (0x2E, 0x7D, 0x32)
_ROW = re.compile(r"<tr data-status=\"([a-z_]+)\" data-target=\"[^\"]*\"( hidden=\"\")?>")


def _chromium(binary: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [binary, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _dump_dom(binary: str, profile: Path, url: str) -> str:
    return _chromium(binary, profile, "--dump-dom", url)


def _title(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html_report(write_run(tmp_path_factory.mktemp("browser") / "out"))


def test_detector_sees_an_injected_script_run(chromium: str, tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe.html"
    unsafe.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body>{XSS_SCRIPT}</body></html>")

    dom = _dump_dom(chromium, tmp_path / "profile", unsafe.as_uri())

    assert _title(dom) == PWNED_TITLE
    assert _INJECTED in dom


def test_lead_script_shows_as_text_and_our_script_and_charts_run(
    chromium: str, report: Path, tmp_path: Path, test_output: Path
) -> None:
    screenshot = test_output / "report.png"
    screenshot.unlink(missing_ok=True)
    window = "--window-size=1280,2000"
    dom = _chromium(
        chromium, tmp_path / "profile", "--dump-dom", f"--screenshot={screenshot}", window, report.as_uri()
    )

    assert _title(dom) == "Leadflow run 20261124T012233Z-ab12cd"
    assert _INJECTED not in dom
    assert "&lt;script&gt;document.title='pwned'" in dom
    assert 'data-report-ready="1"' in dom
    assert dom.count("<svg") == 4
    assert 'fill="#2e7d32"' in dom
    with Image.open(screenshot) as image:
        assert image.size == (1280, 2000)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 22) or []
        assert _ACCEPTED_GREEN in {color for _, color in colors}


def test_escaping_alone_keeps_lead_script_inert_without_the_policy(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    page = report.read_text(encoding="utf-8")
    no_policy = tmp_path / "no-csp.html"
    no_policy.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page), encoding="utf-8"
    )
    assert "Content-Security-Policy" not in no_policy.read_text(encoding="utf-8")

    dom = _dump_dom(chromium, tmp_path / "profile", no_policy.as_uri())

    assert _title(dom) == "Leadflow run 20261124T012233Z-ab12cd"
    assert _INJECTED not in dom
    assert 'data-report-ready="1"' in dom


def test_link_fragment_filters_and_sorts_the_attention_table(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    dom = _dump_dom(chromium, tmp_path / "profile", report.as_uri() + "#status=failed&sort=source_row:desc")

    table = dom.split('<table id="attention-table">', 1)[1]
    rows = _ROW.findall(table)
    visible = [status for status, hidden in rows if not hidden]
    assert len(rows) == 22
    assert visible == ["failed"] * 3
    assert '<b id="attention-shown">3</b>' in dom
    sources = [
        int(n) for n in re.findall(r'<tr data-status="[a-z_]+"[^>]*><td class="num">(\d+)</td>', table)
    ]
    assert sources == sorted(sources, reverse=True)
