"""A CSV read in the encoding the operator names (``--encoding``): decoded strictly with it,
never guessed, whole or in batches alike; a bad byte or an unknown name is one clear error."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from transforms.encodings import checked_encoding
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import BATCH_ROWS_VARIABLE, open_lead_batches

POLISH = "telefon;imie;nazwisko\n48221234567;Jan;Łukasiewicz\n48221234568;Żaneta;Świętochowska\n"
RUSSIAN = "phone,name\n1,Иванов Пётр\n2,Смирнова Анна\n3,Кузнецов Олег\n"


def _write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    return path


def test_a_cp1250_file_reads_right_with_the_encoding_given(tmp_path: Path) -> None:
    path = _write(tmp_path, POLISH.encode("cp1250"))
    read = read_lead_file(path, "cp1250")
    assert read.encoding == "cp1250"
    assert read.frame["nazwisko"].to_list() == ["Łukasiewicz", "Świętochowska"]
    assert read.frame["imie"].to_list() == ["Jan", "Żaneta"]
    # without it the file is refused, naming the code page, not read with its Polish letters misread
    with pytest.raises(LeadFileError, match="'£ukasiewicz', which reads 'Łukasiewicz' in cp1250"):
        read_lead_file(path)


def test_a_cp1251_file_loads_with_the_encoding_given_and_is_refused_without_it(tmp_path: Path) -> None:
    path = _write(tmp_path, RUSSIAN.encode("cp1251"))
    assert read_lead_file(path, "cp1251").frame["name"].to_list() == [
        "Иванов Пётр",
        "Смирнова Анна",
        "Кузнецов Олег",
    ]
    with pytest.raises(LeadFileError, match="--encoding cp1251"):
        read_lead_file(path)


def test_a_byte_invalid_in_the_given_encoding_is_an_error_naming_file_line_and_encoding(
    tmp_path: Path,
) -> None:
    # 0x98 is no character in cp1250 (and would be read as "˜" if cp1252 were guessed)
    path = _write(tmp_path, POLISH.encode("cp1250") + b"48221234569;Ala;Nowak\x98\n")
    with pytest.raises(LeadFileError) as raised:
        read_lead_file(path, "cp1250")
    message = str(raised.value)
    assert str(path) in message
    assert "not valid cp1250" in message and "0x98 on line 4" in message
    assert "--encoding" in message
    with pytest.raises(LeadFileError, match="on line 4"):
        open_lead_batches(path, 1, "cp1250")


def test_utf8_given_is_strict_and_skips_a_byte_order_mark(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbfphone,name\n1,Jos\xc3\xa9\n")
    read = read_lead_file(path, "utf-8")
    assert read.headers == ["phone", "name"] and read.frame["name"].to_list() == ["José"]
    path.write_bytes(b"phone,name\n1,Jos\xe9\n")
    with pytest.raises(LeadFileError, match="not valid utf-8: byte 0xE9 on line 2"):
        read_lead_file(path, "utf-8")


@pytest.mark.parametrize("name", ["cp-1250x", "polish", "base64", ""])
def test_an_unknown_or_non_text_encoding_name_is_refused_listing_common_ones(name: str) -> None:
    with pytest.raises(LeadFileError) as raised:
        checked_encoding(Path("leads.csv"), name)
    message = str(raised.value)
    assert "leads.csv" in message and "not a text encoding" in message
    assert "cp1250" in message and "cp1251" in message and "shift_jis" in message


@pytest.mark.parametrize(
    ("given", "name"), [("CP1250", "cp1250"), ("windows-1251", "cp1251"), ("Shift-JIS", "shift_jis")]
)
def test_encoding_names_are_taken_in_their_common_spellings(given: str, name: str) -> None:
    assert checked_encoding(Path("leads.csv"), given) == name


ENCODED = {
    "cp1250": POLISH.encode("cp1250"),
    "cp1251": RUSSIAN.encode("cp1251"),
    "cp1254": "phone,name\n1,Işıl Güneş\n2,Ömer Çelik\n\n3,Ayşe\n".encode("cp1254"),
    "cp1257": 'phone,name\n1,"Jānis Bērziņš"\n2,"Šarūnas, jr."\n'.encode("cp1257"),
    "shift_jis": "phone,name\r\n1,山田太郎\r\n2,鈴木\r\n".encode("shift_jis"),
    "mac_roman": "phone,name\r1,Ren\u00e9e\r2,Fran\u00e7ois\r".encode("mac_roman"),
    "utf-8": "phone,name\n1,Jos\u00e9\n2,a\n".encode(),
}


@pytest.mark.parametrize("size", [1, 2])
@pytest.mark.parametrize("encoding", sorted(ENCODED))
def test_batches_in_a_given_encoding_are_the_whole_reads_rows(
    tmp_path: Path, encoding: str, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, str(size))
    path = _write(tmp_path, ENCODED[encoding])
    whole = read_lead_file(path, encoding)
    batched = open_lead_batches(path, None, encoding)
    frames = list(batched.batches())
    assert all(frame.height <= size for frame in frames)
    assert pl.concat(frames).equals(whole.frame)
    assert batched.rows == whole.frame.height > 0
    for attribute in ("encoding", "delimiter", "format", "fingerprint"):
        assert getattr(batched.ingested, attribute) == getattr(whole, attribute), attribute
    assert whole.encoding == encoding
    assert not whole.frame[whole.headers[-1]].str.contains("\ufffd").any()


@pytest.mark.parametrize("encoding", ["cp1252", "cp1250", "iso-8859-15", "shift_jis"])
def test_a_utf8_byte_order_mark_with_another_encoding_given_is_refused_not_read_altered(
    tmp_path: Path, encoding: str
) -> None:
    # Excel's CSV UTF-8, with a mapping file's encoding = "cp1252" left from the source's old
    # export: read so, the header's first name was "ï»¿first_name" (the column's names dropped
    # unsaid) and "Müller" arrived as "MÃ¼ller"; no byte is invalid in cp1252 to stop it
    path = _write(tmp_path, "\ufefffirst_name,last_name,phone\nJosé,Müller,+49 30 1234567\n".encode())
    with pytest.raises(LeadFileError) as whole:
        read_lead_file(path, encoding)
    assert str(path) in str(whole.value)
    assert "byte-order mark" in str(whole.value) and "Leave out --encoding" in str(whole.value)
    with pytest.raises(LeadFileError) as batches:
        pl.concat(list(open_lead_batches(path, 1, encoding).batches()))
    assert str(batches.value) == str(whole.value)
    # read as UTF-8 (detected or named), the names are as written
    for given in (None, "utf-8"):
        assert read_lead_file(path, given).frame["last_name"].to_list() == ["Müller"]
