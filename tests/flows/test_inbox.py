"""The watched folder's mechanics on a real file system, with a small real import step."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.inbox.intake import InboxSettings, Layout, Verdict, claim, process, run_once, scan
from flows.inbox.names import display_name, ignore_reason, safe_name
from tests.flows.inbox_steps import CountingImport, lead_csv

NOW = InboxSettings(settle_seconds=0)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "watched"


@pytest.fixture
def step(tmp_path: Path) -> CountingImport:
    return CountingImport(tmp_path / "runs")


def drop(root: Path, name: str | bytes, data: bytes) -> Path:
    inbox = Layout.at(root).inbox
    path = inbox / os.fsdecode(name)
    path.write_bytes(data)
    return path


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_layout_folders_are_created_on_demand(root: Path) -> None:
    layout = Layout.at(root)
    assert [p.is_dir() for p in (layout.inbox, layout.processing, layout.archive, layout.failed)] == [
        True
    ] * 4


def test_complete_drop_is_imported_and_archived_beside_a_note_pointing_to_its_run(
    root: Path, step: CountingImport, sample_data: Path
) -> None:
    data = (sample_data / "us_crm_export.csv").read_bytes()
    drop(root, "us_crm_export.csv", data)

    [done] = run_once(root, step, NOW)

    layout = Layout.at(root)
    assert done.verdict is Verdict.IMPORTED
    assert files_in(layout.inbox) == files_in(layout.processing) == files_in(layout.failed) == []
    assert done.path.parent == layout.archive and done.path.read_bytes() == data
    assert done.path.name.endswith("-us_crm_export.csv")
    note = json.loads((layout.archive / f"{done.path.name}.result.json").read_text(encoding="utf-8"))
    assert note["file"] == "us_crm_export.csv"
    assert note["fingerprint"] == f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert note["run_id"] == done.run_id == "run-1"
    assert Path(note["run_dir"]) == done.run_dir and (done.run_dir / "rows.txt").read_text() == "1507"


def test_file_is_taken_once_unchanged_for_a_window_that_grows_with_its_writing_time(root: Path) -> None:
    settings = InboxSettings(settle_seconds=5, settle_growth=0.5)
    path = drop(root, "leads.csv", lead_csv("a"))
    t0 = 1_000_000.0

    assert scan(root, settings, now=t0) == []
    assert scan(root, settings, now=t0 + 4.9) == []
    assert scan(root, settings, now=t0 + 5) == [path]

    with path.open("ab") as handle:
        handle.write(b"late,row,+49301234567,late@example.com\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert scan(root, settings, now=t0 + 6) == []
    assert scan(root, settings, now=t0 + 11) == []  # written over 6 s: 5 + 6 x 0.5 = 8 s to wait
    assert scan(root, settings, now=t0 + 13.9) == []
    assert scan(root, settings, now=t0 + 14) == [path]


def test_ready_marker_makes_a_file_complete_at_once_and_is_consumed_by_the_claim(root: Path) -> None:
    settings = InboxSettings(settle_seconds=3600)
    path = drop(root, "leads.csv", lead_csv("a"))
    drop(root, "leads.csv.ready", b"")

    assert scan(root, settings) == [path]
    taken = claim(path)

    assert taken is not None and not taken.forced
    assert files_in(Layout.at(root).inbox) == []


def test_the_second_claim_of_the_same_file_gets_none(root: Path) -> None:
    path = drop(root, "leads.csv", lead_csv("a"))

    first, second = claim(path), claim(path)

    assert first is not None and first.path.exists()
    assert second is None
    assert files_in(Layout.at(root).processing) == [first.path.name]


def test_bad_file_goes_to_failed_with_what_is_wrong_and_what_to_do_and_no_traceback(
    root: Path, step: CountingImport, caplog: pytest.LogCaptureFixture
) -> None:
    drop(root, "notes.csv", b"colour,size\nred,3\n")

    with caplog.at_level(logging.INFO, logger="leadflow.inbox"):
        [done] = run_once(root, step, NOW)

    assert done.verdict is Verdict.FAILED and done.path.parent == Layout.at(root).failed
    text = (done.path.parent / f"{done.path.name}.error.txt").read_text(encoding="utf-8")
    assert "File:        notes.csv" in text
    assert "Problem:     no phone or email column in the header" in text
    assert "What to do:  Add a header row." in text
    assert all(record.exc_info is None for record in caplog.records)
    [line] = [record.getMessage() for record in caplog.records if "notes.csv failed" in record.getMessage()]
    assert line == (
        "inbox: notes.csv failed: no phone or email column in the header. Add a header row "
        f"-> failed/{done.path.name}"
    )


def test_unexpected_import_error_fails_the_file_and_keeps_the_watcher_going(root: Path) -> None:
    def broken(path: Path) -> object:
        raise RuntimeError("vendor config missing")

    drop(root, "a.csv", lead_csv("a"))
    drop(root, "b.csv", lead_csv("b"))

    done = run_once(root, broken, NOW)  # type: ignore[arg-type]

    assert [d.verdict for d in done] == [Verdict.FAILED, Verdict.FAILED]
    assert "RuntimeError: vendor config missing" in (done[0].problem or "")


def test_zero_byte_file_fails_as_empty(root: Path, step: CountingImport) -> None:
    drop(root, "empty.csv", b"")

    [done] = run_once(root, step, NOW)

    assert done.verdict is Verdict.FAILED and done.problem == "it is empty (0 bytes)"
    assert step.imported == []


def test_file_over_the_size_limit_fails_without_being_imported(root: Path, step: CountingImport) -> None:
    drop(root, "big.csv", lead_csv("a", rows=100))

    [done] = run_once(root, step, InboxSettings(settle_seconds=0, max_bytes=1000))

    assert done.verdict is Verdict.FAILED and "more than this watcher's limit of 1000" in (done.problem or "")
    assert step.imported == []


def test_large_file_fingerprint_is_read_in_chunks_and_matches_the_whole_content(
    root: Path, step: CountingImport
) -> None:
    data = lead_csv("big", rows=60_000)
    drop(root, "big.csv", data)

    [done] = run_once(root, step, InboxSettings(settle_seconds=0, chunk_bytes=4096))

    note = json.loads(Path(f"{done.path}.result.json").read_text(encoding="utf-8"))
    assert note["fingerprint"] == f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_same_content_dropped_again_is_archived_as_duplicate_drop_not_imported(
    root: Path, step: CountingImport
) -> None:
    drop(root, "monday.csv", lead_csv("a"))
    [first] = run_once(root, step, NOW)
    drop(root, "monday-copy.csv", lead_csv("a"))

    [second] = run_once(root, step, NOW)

    assert second.verdict is Verdict.DUPLICATE_DROP and second.path.parent == Layout.at(root).archive
    assert len(step.imported) == 1
    note = json.loads(Path(f"{second.path}.duplicate-drop.json").read_text(encoding="utf-8"))
    assert note["duplicate_of"]["file"] == "monday.csv"
    assert note["duplicate_of"]["run_id"] == first.run_id
    assert ".force" in note["what_to_do"]


def test_force_marker_imports_a_duplicate_again(root: Path, step: CountingImport) -> None:
    drop(root, "monday.csv", lead_csv("a"))
    run_once(root, step, NOW)
    drop(root, "monday.csv", lead_csv("a"))
    drop(root, "monday.csv.force", b"")

    [again] = run_once(root, step, InboxSettings(settle_seconds=3600))

    assert again.verdict is Verdict.IMPORTED
    assert len(step.imported) == 2


def test_forced_scan_imports_a_duplicate_again(root: Path, step: CountingImport) -> None:
    drop(root, "monday.csv", lead_csv("a"))
    run_once(root, step, NOW)
    drop(root, "monday.csv", lead_csv("a"))

    [again] = run_once(root, step, NOW, force=True)

    assert again.verdict is Verdict.IMPORTED and len(step.imported) == 2


def test_content_that_failed_may_be_dropped_again(root: Path, tmp_path: Path) -> None:
    calls: list[Path] = []

    def flaky(path: Path) -> object:
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("vendor down")
        return CountingImport(tmp_path / "runs")(path)

    drop(root, "a.csv", lead_csv("a"))
    [first] = run_once(root, flaky, NOW)  # type: ignore[arg-type]
    drop(root, "a.csv", lead_csv("a"))
    [second] = run_once(root, flaky, NOW)  # type: ignore[arg-type]

    assert (first.verdict, second.verdict) == (Verdict.FAILED, Verdict.IMPORTED)


def test_file_changed_while_imported_ends_in_failed_with_its_run_named(root: Path, tmp_path: Path) -> None:
    def writer_still_busy(path: Path) -> None:
        with path.open("ab") as handle:
            handle.write(b"x-9,Bob,+493012345699,bob@example.com\n")

    step = CountingImport(tmp_path / "runs", during=writer_still_busy)
    drop(root, "a.csv", lead_csv("a"))

    [done] = run_once(root, step, NOW)

    assert done.verdict is Verdict.FAILED and "changed while it was being imported" in (done.problem or "")
    text = Path(f"{done.path}.error.txt").read_text(encoding="utf-8")
    assert f"Run folder:  {tmp_path / 'runs' / 'run-1'}" in text


def test_symlink_in_the_inbox_is_refused_and_its_target_never_read(
    root: Path, step: CountingImport, tmp_path: Path
) -> None:
    secret = tmp_path / "outside.csv"
    secret.write_bytes(lead_csv("secret"))
    Layout.at(root).inbox.joinpath("link.csv").symlink_to(secret)

    [done] = run_once(root, step, NOW)

    assert done.verdict is Verdict.FAILED and "symbolic link" in (done.problem or "")
    assert done.path.is_symlink() and done.path.parent == Layout.at(root).failed
    assert secret.read_bytes() == lead_csv("secret") and step.imported == []


def test_pipe_in_the_inbox_is_refused_without_blocking(root: Path, step: CountingImport) -> None:
    os.mkfifo(Layout.at(root).inbox / "pipe.csv")

    [done] = run_once(root, step, NOW)

    assert done.verdict is Verdict.FAILED and "not a regular file" in (done.problem or "")


def test_folder_dropped_in_the_inbox_is_left_alone_with_one_log_line(
    root: Path, step: CountingImport, caplog: pytest.LogCaptureFixture
) -> None:
    folder = Layout.at(root).inbox / "batch-42"
    folder.mkdir()
    (folder / "inner.csv").write_bytes(lead_csv("a"))

    with caplog.at_level(logging.INFO, logger="leadflow.inbox"):
        assert run_once(root, step, NOW) == []
        assert run_once(root, step, NOW) == []

    assert (folder / "inner.csv").exists()
    assert [r.getMessage() for r in caplog.records].count(
        "inbox: ignoring batch-42 (a folder; drop the files themselves)"
    ) == 1


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.csv",
        "..%2f..%2fetc%2fpasswd.csv",
        "leads.csv.part",
        "leads.csv.tmp",
        "~$leads.xlsx",
        "leads.csv~",
        "x.csv.crdownload",
    ],
)
def test_work_in_progress_and_hidden_files_are_ignored(root: Path, step: CountingImport, name: str) -> None:
    drop(root, name, lead_csv("a"))

    assert run_once(root, step, NOW) == []
    assert files_in(Layout.at(root).inbox) == [name]


HOSTILE_NAMES: list[bytes] = [
    b"%2e%2e%2f%2e%2e%2fetc%2fpasswd.csv",
    b"x..%2f..%2f..%5c.csv",
    b"line\nbreak.csv",
    b"bell\x07\x1b[31mred.csv",
    b"--rm -rf.csv",
    b"-",
    b"\xff\xfe not utf8 \xc3(.csv",
    "é".encode() * 120 + b".csv",
    b"a" * 250 + b".csv",
    b"  spaced  .csv",
    b"\t.csv",
]


def test_hostile_names_are_imported_or_failed_inside_root_and_nothing_escapes(
    tmp_path: Path, root: Path, step: CountingImport
) -> None:
    for i, name in enumerate(HOSTILE_NAMES):
        drop(root, name, lead_csv(f"h{i}"))
    step.out.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())

    done = run_once(root, step, NOW)

    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert len(done) == len(HOSTILE_NAMES) and {d.verdict for d in done} == {Verdict.IMPORTED}
    layout = Layout.at(root)
    assert files_in(layout.inbox) == files_in(layout.processing) == []
    for d in done:
        assert d.path.parent == layout.archive and d.path.exists()
        assert len(os.fsencode(d.path.name)) < 255 and not any(c in d.path.name for c in "\n\x07\x1b/")
    assert sorted(os.fsencode(d.original_name) for d in done) == sorted(HOSTILE_NAMES)


def test_error_note_shows_a_hostile_name_on_one_escaped_line(root: Path, step: CountingImport) -> None:
    drop(root, b"evil\nProblem: none\xff.csv", b"no,contact\n1,2\n")

    [done] = run_once(root, step, NOW)

    lines = Path(f"{done.path}.error.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "File:        evil\\nProblem: none\\xff.csv"
    assert [line.split(":")[0] for line in lines] == ["File", "Received", "Problem", "What to do"]


def test_concurrent_scanners_never_import_the_same_content_twice(root: Path, step: CountingImport) -> None:
    for i in range(24):
        drop(root, f"drop-{i:02}.csv", lead_csv(f"c{i % 8}"))
    results: list[list[Verdict]] = []
    lock = threading.Lock()

    def scanner() -> None:
        verdicts = [d.verdict for d in run_once(root, step, NOW)]
        with lock:
            results.append(verdicts)

    threads = [threading.Thread(target=scanner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    verdicts = [v for vs in results for v in vs]
    assert len(results) == 4 and len(verdicts) == 24
    assert verdicts.count(Verdict.IMPORTED) == 8 == len(step.imported) == len(set(step.imported))
    assert verdicts.count(Verdict.DUPLICATE_DROP) == 16


def test_a_claim_from_elsewhere_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "leads.csv"
    outside.parent.mkdir()
    outside.write_bytes(b"x")

    with pytest.raises(ValueError, match="not a file directly inside an inbox"):
        claim(outside)


def test_processing_a_claim_moves_it_out_of_processing(root: Path, step: CountingImport) -> None:
    taken = claim(drop(root, "a.csv", lead_csv("a")))
    assert taken is not None

    done = process(taken, step, NOW)

    assert not taken.path.exists() and done.path.exists()


@given(st.binary(min_size=1, max_size=400).filter(lambda b: b"/" not in b and b"\x00" not in b))
def test_safe_name_is_one_short_printable_component_that_cannot_be_an_option(raw: bytes) -> None:
    name = safe_name(os.fsdecode(raw))

    assert name and len(name.encode("utf-8")) <= 120
    assert "/" not in name and "\\" not in name and name not in (".", "..")
    assert name.isprintable() and not name.startswith(("-", ".", " ")) and not name.endswith(" ")


@given(st.text(min_size=1, max_size=60))
def test_safe_name_keeps_a_short_extension(stem: str) -> None:
    assert safe_name(f"{stem}.csv").endswith(".csv")


@given(st.binary(max_size=200))
def test_display_name_is_one_printable_line(raw: bytes) -> None:
    shown = display_name(os.fsdecode(raw))

    assert shown.isprintable() and "\n" not in shown


def test_marker_names_are_not_drops() -> None:
    assert ignore_reason("leads.csv.ready") == ignore_reason("leads.csv.force") == "marker file"
    assert ignore_reason("leads.csv") is None


# --- what a run of a claimed file records as its source (results' source_file, run.json) ----


@given(st.text(min_size=1, max_size=80).filter(lambda name: "/" not in name and "\x00" not in name))
def test_a_claimed_file_is_recorded_at_its_archive_path_with_the_name_it_was_dropped_as(name: str) -> None:
    from datetime import UTC, datetime

    from flows.inbox.layout import claimed_name, recorded_source

    root = Path("/srv/watched")
    claimed = claimed_name(name, datetime.now(UTC))

    source = recorded_source(root / "processing" / claimed)

    assert source.source_file == str(root / "archive" / claimed)
    assert source.dropped_as == str(root / "inbox" / safe_name(name))


@pytest.mark.parametrize(
    "path",
    ["leads.csv", "/data/processing/leads.csv", "/data/in/20261204T154209Z-1@0123abcd-0beef-leads.csv"],
)
def test_a_file_outside_a_watched_folders_processing_is_recorded_as_given(path: str) -> None:
    from flows.inbox.layout import recorded_source

    source = recorded_source(Path(path))

    assert source.source_file == path and source.dropped_as is None


_PROCESS_ONE = """
import sys
from pathlib import Path
from flows.inbox.intake import InboxSettings, run_once
from tests.flows.inbox_steps import CountingImport

root = Path(sys.argv[1])
[done] = run_once(root, CountingImport(root / "runs"), InboxSettings(settle_seconds=0))
print(done.verdict.value, done.path.parent.name, done.fix, sep="\\n")
"""


def test_a_file_the_watcher_may_not_read_fails_saying_to_let_it_read_the_file(root: Path) -> None:
    path = drop(root, "locked.csv", lead_csv("a"))
    path.chmod(0)
    as_user = [sys.executable, "-c", _PROCESS_ONE, str(root)]
    if os.geteuid() == 0:  # root reads any file: run without the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop root's right to read any file")
        as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *as_user]

    done = subprocess.run(as_user, cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60)

    verdict, folder, fix = done.stdout.splitlines()
    assert (verdict, folder) == ("failed", "failed")
    assert fix.startswith("Let the user the watcher runs as read the file") and "NAME.part" not in fix
