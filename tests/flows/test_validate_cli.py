"""`leadflow validate` end to end: real sample files in, real Parquet and summary out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from flows.cli import main as leadflow
from flows.commands.validate import main as validate
from schemas.results import RESULTS_SCHEMA
from tests.conftest import SAMPLE_DATA
from transforms.ingest import read_lead_file

SAMPLES = [
    ("us_crm_export.csv", ["--country", "US", "--suppress", str(SAMPLE_DATA / "do_not_contact.csv")]),
    ("de_kunden_cp1252.csv", ["--country", "DE"]),
    ("latam_leads.parquet", ["--country", "MX"]),
    ("partner_feed.tsv", ["--mapping", str(SAMPLE_DATA / "partner_feed.mapping.toml")]),
]


def _run(args: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    code = validate(args, console=Console(file=buffer, width=120))
    return code, buffer.getvalue()


def _only_run(out: Path) -> Path:
    (run_dir,) = list(out.iterdir())
    return run_dir


@pytest.mark.parametrize(("name", "options"), SAMPLES)
def test_every_sample_row_gets_exactly_one_result(name: str, options: list[str], tmp_path: Path) -> None:
    code, printed = _run([str(SAMPLE_DATA / name), "--out", str(tmp_path), *options])
    assert code == 0, printed
    run_dir = _only_run(tmp_path)
    results = pl.read_parquet(run_dir / "results" / "target=validate" / "part-0.parquet")
    RESULTS_SCHEMA.validate(results)
    rows = read_lead_file(SAMPLE_DATA / name).frame.height
    assert results.height == rows
    assert sorted(results["source_row"].to_list()) == list(range(1, rows + 1))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rows"] == rows
    run = json.loads((run_dir / "run.json").read_text())
    assert run["rows"] == rows and run["source_file"].endswith(name)
    assert (run_dir / "report.html").stat().st_size > 0
    assert "Results by target and status" in printed


def test_suppressed_and_duplicate_rows_are_reported_with_reasons(tmp_path: Path) -> None:
    name, options = SAMPLES[0]
    _run([str(SAMPLE_DATA / name), "--out", str(tmp_path), *options])
    results = pl.read_parquet(_only_run(tmp_path) / "results" / "*" / "*.parquet")
    suppressed = results.filter(pl.col("status") == "suppressed")
    assert suppressed.height > 0
    assert suppressed["reasons"].list.first().str.starts_with("SUPPRESSED_").all()
    duplicates = results.filter(pl.col("status") == "duplicate")
    kept = results.filter(pl.col("source_row").is_in(duplicates["duplicate_of"].implode()))
    assert kept["status"].unique().to_list() == ["ready"]


def test_a_lists_national_numbers_read_without_a_country_are_counted_and_shown(tmp_path: Path) -> None:
    # a do-not-contact list's national numbers need the run's region; without one they suppress
    # no one, and "1 entries" alone did not say that the list's other number was never applied
    leads = tmp_path / "leads.csv"
    leads.write_text("Name,Phone,Country\nAnn,0612345678,FR\nBob,+33698765432,FR\n", encoding="utf-8")
    listed = tmp_path / "dnc.csv"
    listed.write_text("phone\n0612345678\n+33698765432\n", encoding="utf-8")
    code, printed = _run([str(leads), "--suppress", str(listed), "--out", str(tmp_path / "out")])
    assert code == 0
    assert "1 national number not read (no country: give --country)" in " ".join(printed.split())
    run = json.loads((_only_run(tmp_path / "out") / "run.json").read_text(encoding="utf-8"))
    assert run["suppression_lists"][0]["entries"] == 1
    assert run["suppression_lists"][0]["unread_numbers"] == 1


def test_the_hand_written_messy_rows_are_normalized(tmp_path: Path) -> None:
    _run([str(SAMPLE_DATA / "us_crm_export.csv"), "--out", str(tmp_path), "--country", "US"])
    results = pl.read_parquet(_only_run(tmp_path) / "results" / "*" / "*.parquet")
    by_id = {r["external_id"]: r for r in results.iter_rows(named=True)}
    assert by_id["C900002"]["phone1"] == "+14155552671" or by_id["C900002"]["phone2"] == "+14155552671"
    assert by_id["C900003"]["email"] == "carla@example.com"
    assert by_id["C900004"]["status"] == "rejected"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x03binary\xff\xfe" * 50, "binary"),
        (b"name,notes\nAnn,hello\n", "no phone or email column"),
        ("phone,name\n1,Иванов Пётр\n2,Смирнова Анна\n3,Кузнецов Олег\n".encode("cp1251"), "utf-8"),
        # a JSON export read as CSV: its one line was a header of leads ("phone" + digits took
        # the phone1 alias) and the run ended 0 with no row; JSON lines lost their first lead
        (b'[{"phone":"+14155552671","email":"a@x.com"},{"phone":"+14155552672"}]', "looks like json"),
        (b'{"phone": "+14155552671"}\n{"phone": "+14155552672"}\n', "json"),
        (b'\xef\xbb\xbf[\n  {\n    "Phone": "+14155552671"\n  }\n]\n', "json"),
        # an "Excel" export that is an HTML table, and Excel's XML Spreadsheet 2003: the error
        # asked for a column named "Phone" in a file whose only fix is saving it as CSV
        (b"<html xmlns:o='urn:schemas-microsoft-com:office:office'>\n<table><tr><td>Phone", "like an html"),
        (b"\n<!DOCTYPE html>\n<table><tr><th>Phone</th></tr><tr><td>+14155552671</td>", "like an html"),
        (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:sheet">', "like an xml"),
    ],
)
def test_bad_files_give_one_clear_line_and_exit_1(content: bytes, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    code, printed = _run([str(path), "--out", str(tmp_path / "out")])
    assert code == 1
    assert printed.startswith("Error: ")
    assert str(path) in printed
    assert expected in printed.lower()
    assert "Traceback" not in printed
    assert not (tmp_path / "out").exists()


def test_missing_file_and_unknown_country_are_user_errors(tmp_path: Path) -> None:
    code, printed = _run([str(tmp_path / "nope.csv")])
    assert code == 1 and "Error: " in printed
    code, printed = _run(
        [str(SAMPLE_DATA / "us_crm_export.csv"), "--country", "Atlantis", "--out", str(tmp_path)]
    )
    assert code == 1 and "Atlantis" in printed


def test_leadflow_lists_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert leadflow(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("validate", "import", "report", "watch", "sandbox"):
        assert command in out
    assert leadflow(["frobnicate"]) == 2


def test_reading_ahead_set_by_the_environment_gives_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, options = SAMPLES[0]
    # Ten batches of the 1,507 rows, so one is made ahead (a handful of rows a batch made this
    # test take half a minute of fixed per-batch cost for nothing more).
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", "150")
    frames = []
    for ahead in ("0", "2"):
        monkeypatch.setenv("LEADFLOW_READ_AHEAD", ahead)
        out = tmp_path / ahead
        code, printed = _run([str(SAMPLE_DATA / name), "--out", str(out), *options])
        assert code == 0, printed
        results = pl.read_parquet(_only_run(out) / "results" / "*" / "*.parquet")
        frames.append(results.drop("run_id", "sent_at").sort("source_row"))
    assert frames[0].height > 2 * 150
    assert frames[0].equals(frames[1])


@pytest.mark.parametrize("value", ["yes", "-1", "5", "1.5"])
def test_a_read_ahead_setting_that_is_not_a_small_count_is_one_clear_line(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_READ_AHEAD", value)
    name, options = SAMPLES[0]
    code, printed = _run([str(SAMPLE_DATA / name), "--out", str(tmp_path), *options])
    assert code == 1
    assert printed.startswith(f"Error: $LEADFLOW_READ_AHEAD is '{value}'")
    assert "Traceback" not in printed
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


POLISH = (
    "First Name;Last Name;Phone\n"
    "Jan;Łukasiewicz;+48 22 123 45 67\n"
    "Żaneta;Świętochowska;+48 22 123 45 68\n"
    "Ala;Nowak;+48 22 123 45 69\n"
)


@pytest.mark.parametrize("rows", ["1", "100000"])
def test_a_cp1250_file_validates_with_its_names_right_when_the_encoding_is_given(
    rows: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", rows)
    path = tmp_path / "polskie.csv"
    path.write_bytes(POLISH.encode("cp1250"))
    code, printed = _run([str(path), "--encoding", "windows-1250", "--out", str(tmp_path / "out")])
    assert code == 0, printed
    assert "csv, cp1250" in printed
    run_dir = _only_run(tmp_path / "out")
    results = pl.read_parquet(run_dir / "results" / "target=validate" / "part-0.parquet").sort("source_row")
    assert results["last_name"].to_list() == ["Łukasiewicz", "Świętochowska", "Nowak"]
    assert results["first_name"].to_list() == ["Jan", "Żaneta", "Ala"]
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["encoding"], run["encoding_source"]) == ("cp1250", "option")


def test_a_detected_encoding_is_recorded_in_run_json(tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_bytes("Vorname;Nachname;Telefon\nJürgen;Großmann;+49 30 1234567\n".encode("cp1252"))
    code, printed = _run([str(path), "--out", str(tmp_path / "out")])
    assert code == 0, printed
    run = json.loads((_only_run(tmp_path / "out") / "run.json").read_text())
    assert (run["encoding"], run["encoding_source"]) == ("cp1252", "detected")


@pytest.mark.parametrize("rows", ["1", "100000"])
def test_a_cp1250_file_without_the_encoding_is_one_error_line_naming_it(
    rows: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", rows)
    path = tmp_path / "polskie.csv"
    path.write_bytes(POLISH.encode("cp1250"))
    code, printed = _run([str(path), "--out", str(tmp_path / "out")])
    assert code == 1
    assert printed.startswith(f"Error: {path}: the file is not UTF-8")
    assert "'£ukasiewicz', which reads 'Łukasiewicz' in cp1250" in printed
    assert '--encoding cp1250 (or encoding = "cp1250" in the mapping file)' in printed
    assert "Traceback" not in printed
    assert not (tmp_path / "out").exists()
    # the fix it names reads the file, through the mapping file as well
    mapping = tmp_path / "polskie.toml"
    mapping.write_text('encoding = "cp1250"\n', encoding="utf-8")
    code, printed = _run([str(path), "--mapping", str(mapping), "--out", str(tmp_path / "fixed")])
    assert code == 0, printed
    results = pl.read_parquet(_only_run(tmp_path / "fixed") / "results" / "*" / "*.parquet")
    assert sorted(results["last_name"].to_list()) == ["Nowak", "Łukasiewicz", "Świętochowska"]


def test_the_mapping_files_encoding_reads_the_file_and_the_option_wins(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("phone,First Name,Last Name\n+7 495 123 45 67,Пётр,Иванов\n".encode("cp1251"))
    mapping = tmp_path / "source.toml"
    mapping.write_text('encoding = "cp1251"\n', encoding="utf-8")
    code, printed = _run([str(path), "--mapping", str(mapping), "--out", str(tmp_path / "a")])
    assert code == 0, printed
    results = pl.read_parquet(_only_run(tmp_path / "a") / "results" / "*" / "*.parquet")
    assert (results["first_name"][0], results["last_name"][0]) == ("Пётр", "Иванов")
    code, printed = _run(
        [str(path), "--mapping", str(mapping), "--encoding", "utf-8", "--out", str(tmp_path / "b")]
    )
    assert code == 1 and "not valid utf-8" in printed and "on line 2" in printed


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (POLISH.encode("cp1250"), ["--encoding", "cp-1250x"], "'cp-1250x' is not a text encoding"),
        (POLISH.encode("cp1250") + b"x;y\x98;1\n", ["--encoding", "cp1250"], "0x98 on line 5"),
        # an 8-bit file of even length may read as UTF-16 without a bad byte: its header came
        # out as CJK and the error asked for a column named "Phone"
        (b"Name,Phone,Email\r\nAnn,+14155552671,a@x.com\r\n", ["--encoding", "utf-16"], "not utf-16"),
        (b"Name;Phone\nAnn;+14155552671\n", ["--encoding", "utf-16-le"], "not utf-16-le"),
        (
            "phone,name\n1,Иванов Пётр\n2,Смирнова Анна\n3,Кузнецов Олег\n".encode("cp1251"),
            [],
            "--encoding cp1251",
        ),
    ],
)
def test_encoding_mistakes_are_one_error_line_saying_what_to_do(
    content: bytes, args: list[str], expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    code, printed = _run([str(path), *args, "--out", str(tmp_path / "out")])
    assert code == 1
    assert printed.startswith("Error: ") and str(path) in printed and expected in printed
    assert "Traceback" not in printed and "--encoding" in printed
    assert not (tmp_path / "out").exists()
