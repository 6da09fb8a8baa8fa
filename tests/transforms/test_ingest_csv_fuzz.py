"""Fuzzing CSV lead files through what ``leadflow validate`` runs: no damage may lose a row.

Files are well-formed lead tables damaged the ways exports and hand edits damage them
(stray and missing quotes, mixed delimiters, ragged rows, NULs, CR/LF/CRLF mixes, BOMs,
cp1252 lines in UTF-8, blank lines, huge fields, random bytes). Any file must end either in
the one-line file error (``LeadFileError``) or in a run whose rows account for every
physical data line: each row came from one line, or from several when a quoted value
spans lines, and then that value holds their line breaks. So

    non-blank data lines <= rows + line breaks inside values <= data lines

(blank lines are not rows; a blank line inside a quoted value is part of its value), and a
value holds line breaks only where the file has it as a properly closed quoted field: a
quote left open, or closed and followed by more text, must not take lines with it. The
pipeline is the validate command's: ingest, map, normalize, dedupe, results and the run
folder with its row invariant (flows.commands.validate minus the HTML report).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from flows.importer import finish_run
from flows.prepare import PrepareOptions, prepare_leads
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.outputs import new_run_id
from transforms.results import VALIDATE_TARGET, build_results

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
HEADER = ["id", "first_name", "last_name", "phone", "email", "notes"]
_EOL = re.compile(rb"\r\n|\r|\n")
_BREAK = re.compile(r"\r\n|\r|\n")

NAMES = st.sampled_from(
    ["José", "Müller", "Ana María", "Zoë", "O'Neil", "Smith, Jr.", "Łukasz", "Anne-Sophie"]
)
PHONES = st.sampled_from(["+49 30 1234567", "030 1234567", "0151 23456789", "+1 212 555 0100", "12", ""])
NOTES = st.one_of(
    st.just(""),
    st.text(alphabet=st.sampled_from(list('ab ,;|"\t\n\r€éü')), max_size=12),
)


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw(
        st.lists(
            st.tuples(NAMES, NAMES, PHONES, st.sampled_from(["a@b.de", "x@", ""]), NOTES),
            min_size=1,
            max_size=12,
        )
    )
    buffer = io.StringIO(newline="")
    quoting: Literal[0, 1] = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\n")
    writer.writerows([str(number), *row] for number, row in enumerate(rows, start=1))
    lines = [line + "\n" for line in buffer.getvalue().split("\n")[:-1]]
    body = _damage(draw, "".join(lines), delimiter)
    encoded = _encode(draw, body)
    junk = draw(st.binary(max_size=8))  # random bytes, somewhere in the data lines
    at = draw(st.integers(min_value=0, max_value=len(encoded)))
    encoded = encoded[:at] + junk + encoded[at:]
    header = delimiter.join(HEADER).encode() + draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    bom = draw(st.sampled_from([b"", b"", codecs.BOM_UTF8]))
    return bom + header + encoded


def _damage(draw: st.DrawFn, text: str, delimiter: str) -> str:
    """A few edits at drawn places: each one a way real files break."""
    edits = draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        '"',  # a stray quote
                        'field-"',  # a stray quote opening the next field
                        "drop-quote",
                        ",",
                        ";",
                        "\t",
                        "|",  # mixed or extra delimiters: ragged rows
                        delimiter * 3,
                        "\x00",
                        "\n",
                        "\r",
                        "\r\n",
                        "\n\n",  # blank lines
                        "drop-eol",
                        "huge",
                    ]
                ),
                st.floats(min_value=0, max_value=1, exclude_max=True),
            ),
            max_size=4,
        )
    )
    for edit, where in edits:
        at = int(where * (len(text) + 1))
        if edit == "drop-quote":
            quote = text.find('"', at)
            text = text if quote < 0 else text[:quote] + text[quote + 1 :]
        elif edit == 'field-"':
            start = text.find(delimiter, at)
            text = text if start < 0 else text[: start + 1] + '"' + text[start + 1 :]
        elif edit == "drop-eol":
            match = re.compile(r"\r\n|\r|\n").search(text, at)
            text = text if match is None else text[: match.start()] + text[match.end() :]
        elif edit == "huge":
            text = text[:at] + "x" * 140_000 + text[at:]  # beyond the csv module's default field limit
        else:
            text = text[:at] + edit + text[at:]
    return text


def _encode(draw: st.DrawFn, text: str) -> bytes:
    """UTF-8, with some lines (or all) in cp1252 where cp1252 can write them."""
    lines = re.split(r"(?<=\n)|(?<=\r)(?!\n)", text)
    legacy = draw(st.sets(st.integers(min_value=0, max_value=max(len(lines) - 1, 0)), max_size=3))
    out = []
    for number, line in enumerate(lines):
        try:
            out.append(line.encode("cp1252") if number in legacy else line.encode("utf-8"))
        except UnicodeEncodeError:
            out.append(line.encode("utf-8"))
    return b"".join(out)


def _data_lines(data: bytes) -> tuple[int, int]:
    """(data lines, blank data lines) after the header line."""
    data = data.removeprefix(codecs.BOM_UTF8)
    data = re.sub(rb"\r\x00+\n", b"\r\n", data)  # NULs inside a CRLF: damage to that line's end
    header_end = _EOL.search(data)
    assert header_end is not None
    body = data[header_end.end() :]
    lines = [match.group() for match in re.finditer(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+", body)]
    return len(lines), sum(1 for line in lines if not line.strip(b"\r\n"))


def _texts(data: bytes, encoding: str) -> list[str]:
    """The file as text, each line decoded as what it is, and whole in the reported encoding."""
    pieces = re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+", data.removeprefix(codecs.BOM_UTF8))
    texts = ["".join(_decode(piece) for piece in pieces)]
    if "+" not in encoding:
        texts.append(data.decode(encoding, errors="replace"))
    return texts


def _decode(piece: bytes) -> str:
    """A line as ingest reads it: UTF-8, else cp1252 with each byte cp1252 leaves undefined
    (0x81, 0x8D, 0x8F, 0x90, 0x9D) as Latin-1's (transforms.legacy_text)."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_cp1252_byte(byte) for byte in piece)


def _cp1252_byte(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return bytes([byte]).decode("latin-1")


def _validate(path: Path, out: Path) -> pl.DataFrame:
    """What flows.commands.validate.main runs, less the HTML report and the terminal output."""
    started = datetime.now(UTC)
    prepared = prepare_leads(path, PrepareOptions(country="DE"))
    run_id = new_run_id(started)
    results = build_results(prepared.clean, run_id=run_id, source_file=str(path), target=VALIDATE_TARGET)
    run_dir = finish_run(
        prepared.without_leads(),
        [results],
        [(VALIDATE_TARGET, VALIDATE_TARGET)],
        run_id=run_id,
        started=started,
        out_dir=out,
        dry_run=False,
        report=False,
    )
    return pl.read_parquet(run_dir / "results" / "target=validate" / "part-0.parquet")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("csv-fuzz")


@SETTINGS
@given(data=damaged_files())
# a line with an undefined byte (0x8D) and a UTF-8 "€": read as cp1252 with that byte as Latin-1's
@example(
    data=b"id,first_name,last_name,phone,email,notes\n1,Jos\xc3\xa9,Jos\xc3\xa9,+49 30 1234567,a@b.de,\n"
    b'\x8d4,Jos\xc3\xa9,Jos\xc3\xa9,+49 30 1234567,a@b.de,"\xe2\x82\xac\n"\n'
)
def test_damaged_csv_is_a_file_error_or_every_data_line_is_accounted_for(scratch: Path, data: bytes) -> None:
    path = scratch / "leads.csv"
    path.write_bytes(data)
    try:
        ingested = read_lead_file(path)
        results = _validate(path, scratch / "out")
    except LeadFileError as error:
        failure: LeadFileError | None = error
    else:
        failure = None
    if failure is not None:
        event(f"file error: {failure.problem[:40]}")
        assert failure.path == path and "\n" not in str(failure)
        return
    frame = ingested.frame
    values = frame.select(pl.exclude("source_row", "issues"))
    breaks = sum(
        len(_BREAK.findall(value)) for column in values.iter_columns() for value in column.drop_nulls()
    )
    lines, blank = _data_lines(data)
    assert lines - blank <= frame.height + breaks <= lines
    texts = _texts(data, ingested.encoding)
    for column in values.iter_columns():
        for value in column.drop_nulls():
            if _BREAK.search(value):
                quoted = '"' + value.replace('"', '""') + '"'
                assert any(quoted in text for text in texts), f"{column.name} took lines: {value[:60]!r}"
    assert results.height == frame.height
    assert sorted(results["source_row"].to_list()) == list(range(1, frame.height + 1))
    event(
        "quote issue"
        if frame["issues"].explode().struct.field("code").eq("UNTERMINATED_QUOTE").any()
        else "ok"
    )


@st.composite
def tables_with_one_stray_quote(draw: st.DrawFn) -> tuple[bytes, int, int]:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw(st.lists(st.tuples(NAMES, NAMES, PHONES), min_size=1, max_size=30))
    row = draw(st.integers(min_value=1, max_value=len(rows)))
    column = draw(st.integers(min_value=1, max_value=3))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [delimiter.join(["id", "first_name", "last_name", "phone"])]
    for number, values in enumerate(rows, start=1):
        fields = [str(number), *(value.replace(delimiter, " ") for value in values)]
        if number == row:
            fields[column] = '"' + fields[column]
        lines.append(delimiter.join(fields))
    ending = draw(st.sampled_from([eol, ""]))
    return (eol.join(lines) + ending).encode("utf-8"), len(rows), row


@SETTINGS
@given(table=tables_with_one_stray_quote())
def test_a_stray_quote_costs_no_row_and_is_named_on_its_row(
    scratch: Path, table: tuple[bytes, int, int]
) -> None:
    data, rows, damaged = table
    path = scratch / "stray.csv"
    path.write_bytes(data)
    frame = read_lead_file(path).frame
    assert frame.height == rows
    assert frame["id"].to_list() == [str(number) for number in range(1, rows + 1)]
    codes = frame["issues"].list.eval(pl.element().struct.field("code")).to_list()
    assert [number for number, found in enumerate(codes, start=1) if "UNTERMINATED_QUOTE" in found] == [
        damaged
    ]
    results = _validate(path, scratch / "out-stray")
    assert results.height == rows
