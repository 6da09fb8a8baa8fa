"""The HTML report in a real browser (headless Chromium): lead data never runs as script,
our own script and the charts do; screenshots of the lead-first report and of the trend are
kept in test-output/ (report.png, report-lead-first.png, trend.png) for CI and review."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from flows.report.command import main as report_main
from flows.report.html_page import write_html_report
from tests.report.runs import PWNED_TITLE, XSS_SCRIPT, run_meta, write_run

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
_ROW = re.compile(
    r"<tr data-outcome=\"[^\"]*\" data-status=\"([a-z_ ]+)\" data-target=\"[^\"]*\"( hidden=\"\")?>"
)


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
    assert dom.count("<svg") == 5
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
    assert len(rows) == 25  # one per lead not delivered to every target
    assert len(visible) == 3
    assert all("failed" in statuses.split() for statuses in visible)
    assert '<b id="attention-shown">3</b>' in dom
    sources = [int(n) for n in re.findall(r'<tr data-outcome="[^"]*"[^>]*><td class="num">(\d+)</td>', table)]
    assert sources == sorted(sources, reverse=True)


def _screenshot(binary: str, profile: Path, page: Path, png: Path, height: int) -> str:
    png.unlink(missing_ok=True)
    window = f"--window-size=1280,{height}"
    dom = _chromium(binary, profile, "--dump-dom", f"--screenshot={png}", window, page.as_uri())
    with Image.open(png) as image:
        assert image.size == (1280, height)
    return dom


def test_screenshot_of_the_lead_first_report_shows_one_row_per_lead(
    chromium: str, report: Path, tmp_path: Path, test_output: Path
) -> None:
    dom = _screenshot(chromium, tmp_path / "profile", report, test_output / "report-lead-first.png", 2400)

    main = dom.split("<main>", 1)[1]
    assert main.startswith('<section id="leads">')  # leads first, per target after
    assert main.index('id="lead-table"') < main.index('id="totals"')
    tiles = re.findall(
        r'<div class="tile[^"]*"><b>([\d,]+)</b><span>([^<]+)</span>', main.split("</section>", 1)[0]
    )
    counts = {label: int(value) for value, label in tiles}
    assert counts.pop("leads (rows of the file)") == 40
    assert sum(counts.values()) == 40
    table = dom.split('<table id="attention-table">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-outcome="[^"]*"[^>]*><td class="num">(\d+)</td>', table)
    assert len(rows) == len(set(rows)) == 25  # one row per lead, not per lead and target
    heads = re.findall(r'<th data-key="target:([^"]+)"', table)
    assert heads == ["engage_eu", "mail_promo", "obi_main", "sms_promo"]
    assert 'data-report-ready="1"' in dom


def test_screenshot_of_the_trend_shows_rates_over_time_and_links_each_run(
    chromium: str, tmp_path: Path, test_output: Path
) -> None:
    root = tmp_path / "runs"
    for day, rows in ((20, 30), (21, 40), (24, 50)):
        run_id = f"202611{day}T010000Z-aa00{day}"
        meta = {**run_meta(run_id, rows), "started_at": f"2026-11-{day}T01:00:00Z"}
        write_html_report(write_run(root / ("" if day == 20 else "2026-11"), run_id, meta=meta, rows=rows))
    (root / "notes").mkdir()
    page = tmp_path / "trend.html"
    assert report_main([str(root), "--html", str(page)], console=Console(file=io.StringIO())) == 0

    dom = _screenshot(chromium, tmp_path / "profile", page, test_output / "trend.png", 1400)

    assert dom.count("<svg") == 1
    assert "% of leads" in dom
    assert "20261121T010000Z" not in dom.split("<svg", 1)[1].split("</svg>", 1)[0]  # time, not ids
    links = re.findall(r'<a class="run-link" href="([^"]+)"', dom)
    assert links == [
        "runs/20261120T010000Z-aa0020/report.html",
        "runs/2026-11/20261121T010000Z-aa0021/report.html",
        "runs/2026-11/20261124T010000Z-aa0024/report.html",
    ]
    assert all((tmp_path / link).is_file() for link in links)
    assert "no run folder inside" in dom  # notes/ is named, not silently ignored


def test_link_fragment_filters_leads_by_outcome_and_a_target_they_did_not_reach(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    fragment = "#outcome=needs%20attention&target=sms_promo"

    dom = _dump_dom(chromium, tmp_path / "profile", report.as_uri() + fragment)

    table = dom.split('<table id="attention-table">', 1)[1]
    shown = re.findall(
        r'<tr data-outcome="needs attention" data-status="[^"]*" data-target="([^"]*)">', table
    )
    hidden = re.findall(
        r'<tr data-outcome="([^"]*)" data-status="[^"]*" data-target="([^"]*)" hidden=""', table
    )
    assert shown and all("sms_promo" in targets.split() for targets in shown)
    assert all(o != "needs attention" or "sms_promo" not in t.split() for o, t in hidden)
    assert f'<b id="attention-shown">{len(shown)}</b>' in dom
    assert len(shown) == 5  # rows 3, 13, 23, 33 rejected everywhere; 15 failed elsewhere, ineligible here
