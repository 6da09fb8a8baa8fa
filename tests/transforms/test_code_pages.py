"""A CSV that is not UTF-8 and whose words read right only in another Latin code page
(Central European, Turkish, Baltic) is refused with that code page, not read as cp1252 with its
names altered; Western European files, and letters every page reads alike, stay cp1252.
Real files written as bytes, read through read_lead_file and open_lead_batches."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from transforms import code_pages
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import open_lead_batches

POLISH = [
    "Łukasz Wójcik",
    "Małgorzata Kowalska",
    "Grzegorz Dąbrowski",
    "Elżbieta Woźniak",
    "Paweł Zieliński",
    "Żaneta Świętochowska",
]
CZECH = ["Jan Šťastný", "Petr Dvořák", "Jiří Kučera", "Tomáš Růžička", "Eva Němcová", "Věra Čermáková"]
SLOVAK = ["Ľubomír Štefánik", "Ďurica Kováč", "Ľudmila Hrušovská"]
CROATIAN = ["Đorđe Đorđević", "Ivan Šimić", "Ana Kovačić", "Marko Ćosić"]
TURKISH = [
    "Ayşe Yılmaz",
    "Mehmet Kılıç",
    "Gülşen Demirtaş",
    "Çağlar Doğan",
    "Şükrü Gündoğdu",
    "Büşra Türkoğlu",
    "Işık Şimşek",
]
LITHUANIAN = ["Jonas Šimkus", "Šarūnas Žilinskas", "Dalia Grybauskaitė", "Rūta Stankevičienė"]
LATVIAN = ["Jānis Bērziņš", "Ģirts Kalniņš", "Anna Ozoliņa", "Pēteris Krūmiņš"]
HUNGARIAN = ["Kővári Zoltán", "Szőkéné Kiss Éva", "Lőrincz Ágnes", "Erdős Pál", "Kőházi Dénes"]
"""Hungarian ő is cp1250's (and ISO-8859-2's) 0xF5, cp1252's õ: "Kõvári" is no Portuguese word
(õ before a consonant) and no Estonian one (an acute á)."""
HUNGARIAN_WITHOUT_ACUTES = ["Szűcs Ödön", "Győző Bence", "Ernő Nagy", "Gyűrűs Tünde", "Erdős Lőrinc"]
"""Hungarian ő and ű where no acute vowel shares the word, read as cp1252 "Szûcs", "Gyõzõ",
"Ernõ": French- and Estonian-looking letters, but no such word has ő last or a Hungarian
digraph (sz, gy) beside them."""
ROMANIAN_BREVE = ["Ion Bălan", "Radu Călinescu", "Ana Tănase", "Dan Văduva"]
"""Romanian ă is cp1250's 0xE3, cp1252's ã: before a consonant, as no Portuguese word writes it."""
ROMANIAN = ["Ştefan Popescu", "Maria Mureşan", "Andrei Constanţa", "Ioana Mihăilă", "Elena Brânzaş"]
"""In cp1250's s and t with a cedilla (ş ţ), as Windows wrote Romanian; ISO-8859-2 writes them
so too. Read as cp1252, "Ştefan" is "ªtefan", "Mureşan" "Mureºan": ordinal indicators no
Western word has before a small letter."""

WESTERN = [
    "Hélène Lefèvre",
    "François Müller",
    "Jürgen Großmann",
    "Ægir Þórsson",
    "Åsa Sjöström",
    "Søren Kierkegård",
    "José Núñez",
    "João Gonçalves",
    "ÉLODIE CÔTÉ",
    "Zoë Brontë",
    "Benoît Jérôme",
    "Loïc Maëlle",
    "Käthe Schröder",
    "Björn Jönsson",
    "Håkan Märta",
    "Aino Hämäläinen",
    "Gonçalo Simões",
    "Estêvão Magalhães",
    "Conceição Assunção",
    "Íñigo Güell",
    "Begoña Ibáñez",
    "Niccolò Però",
    "Lluís Pagès",
    "Jørgen Bjørn",
    "Øyvind Sæther",
    "Guðrún Sigurðardóttir",
    "Sigurður Friðriksson",
    "Eyþór Arnþórsson",
    "Þorsteinn Hörður",
    "Daniëlle Geërts",
    "Tõnis Mägi",
    "Jõgi Kõiv",
    "Sõrmus Põldsepp",
    "Aimé Dûment",
    "Brûlé Sûreté",
    "Benoît Dû",
    "Tomáš Novotný",
    "Zoltán Kovács",
    "Oguz Öztürk",
    "Noël Mures",
    "Nº 5 1ª planta",
    "Mª Carmen",
    "MªJosé López",
    "Profª Ana Sousa",
    "Engª Rita Simões",
]
"""Western European names, and other names as far as cp1252 writes them (Czech "Novotný",
Hungarian "Kovács"): all read right as cp1252, so none may be refused."""


def _write(tmp_path: Path, names: list[str], encoding: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    rows = "".join(f"{n};{full};+49 30 1234{n:03d}\n" for n, full in enumerate(names))
    path.write_bytes(f"id;name;phone\n{rows}".encode(encoding))
    return path


def _refusal(path: Path) -> LeadFileError:
    with pytest.raises(LeadFileError) as whole:
        read_lead_file(path)
    with pytest.raises(LeadFileError) as batches:
        pl.concat(list(open_lead_batches(path, 2).batches()))
    assert str(batches.value) == str(whole.value)
    return whole.value


@pytest.mark.parametrize(
    ("names", "encoding", "as_read", "better"),
    [
        (POLISH, "cp1250", "£ukasz", "Łukasz"),
        (POLISH, "iso-8859-2", "£ukasz", "Łukasz"),
        (CZECH, "cp1250", "Š\\x9dastný", "Šťastný"),  # ť is no cp1252 byte: read as Latin-1
        (CZECH, "iso-8859-2", "©»astný", "Šťastný"),
        (SLOVAK, "cp1250", "¼ubomír", "Ľubomír"),
        (CROATIAN, "cp1250", "Ðorðe", "Đorđe"),
        (TURKISH, "cp1254", "Ayþe", "Ayşe"),
        (LITHUANIAN, "cp1257", "Ðimkus", "Šimkus"),
        (LATVIAN, "cp1257", "Bçrziòð", "Bērziņš"),
        (ROMANIAN, "cp1250", "ªtefan", "Ştefan"),
        (ROMANIAN_BREVE, "cp1250", "Bãlan", "Bălan"),
        (HUNGARIAN, "cp1250", "Kõvári", "Kővári"),
        (HUNGARIAN_WITHOUT_ACUTES, "cp1250", "Szûcs", "Szűcs"),
    ],
)
def test_a_file_in_another_latin_code_page_is_refused_naming_it(
    tmp_path: Path, names: list[str], encoding: str, as_read: str, better: str
) -> None:
    path = _write(tmp_path, names, encoding)
    error = _refusal(path)
    message = str(error)
    assert message.startswith(f"{path}: the file is not UTF-8")
    assert f"'{as_read}', which reads '{better}' in {encoding}" in message
    assert f"--encoding {encoding}" in message and f'encoding = "{encoding}" in the mapping file' in message
    assert "\n" not in message
    # the code page the error names reads every name as written
    assert read_lead_file(path, encoding).frame["name"].to_list() == names


@pytest.mark.parametrize(
    ("names", "encoding"),
    [
        (["Łukasz Wójcik", "Paweł Nowak"], "cp1250"),
        (["Małgorzata Kozłowska"], "cp1250"),
        (["Jan Dąbrowski", "Anna Król", "Ewa Żakowska"], "iso-8859-2"),
        (["Ayşe Yılmaz", "Mehmet Demirtaş"], "cp1254"),
        (["Đorđe Petrović", "Ana Šimić"], "cp1250"),
        (["Ştefan Dumitru", "Radu Mureşan"], "cp1250"),
    ],
)
def test_two_altered_words_in_a_short_file_are_enough(
    tmp_path: Path, names: list[str], encoding: str
) -> None:
    error = _refusal(_write(tmp_path, names, encoding))
    assert f"--encoding {encoding}" in str(error)


def test_a_large_file_is_refused_in_batches_as_whole(tmp_path: Path) -> None:
    # 30,000 rows, past the 64 KB head the words are read from: the streamed readers and the
    # whole-file reader refuse it alike
    path = _write(tmp_path, POLISH * 5000, "cp1250")
    assert "--encoding cp1250" in str(_refusal(path))


def test_western_names_in_cp1252_are_read_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path, WESTERN, "cp1252")
    ingested = read_lead_file(path)
    assert ingested.encoding == "cp1252"
    assert ingested.frame["name"].to_list() == WESTERN
    assert pl.concat(list(open_lead_batches(path, 7).batches()))["name"].to_list() == WESTERN


def test_western_names_in_a_latin1_file_are_read_as_written(tmp_path: Path) -> None:
    # a byte cp1252 leaves undefined (0x81) makes the file Latin-1: the same letters, the same verdict
    names = [name for name in WESTERN if name == name.encode("latin-1", "ignore").decode("latin-1")]
    path = _write(tmp_path, [*names, "Ann\x81"], "latin-1")
    ingested = read_lead_file(path)
    assert ingested.encoding == "latin-1"
    assert ingested.frame["name"].to_list()[:-1] == names


@pytest.mark.parametrize(
    ("names", "encoding"),
    [
        (["Zoltán Kovács", "Mária Tóth", "Ádám Szabó", "Ferenc Fülöp"], "cp1250"),
        (["Anna Wójcik", "Józef Król"], "cp1250"),
        (["Tomáš Pospíšil", "Jana Nováková"], "cp1250"),
        (["Özgür Öztürk", "Gül Çelik"], "cp1254"),
        (["Mägi Tamm", "Jüri Kask"], "cp1257"),
    ],
)
def test_letters_every_page_reads_alike_leave_the_file_cp1252(
    tmp_path: Path, names: list[str], encoding: str
) -> None:
    # the bytes read the same in cp1252: nothing is altered, nothing to refuse
    ingested = read_lead_file(_write(tmp_path, names, encoding))
    assert ingested.encoding == "cp1252"
    assert ingested.frame["name"].to_list() == names


ORTHOGRAPHIES = {
    "French": "àâæçéèêëîïôœùûüÿ",
    "German": "äöüß",
    "Spanish": "áéíñóúü",
    "Portuguese": "áâãàçéêíóôõúü",
    "Italian": "àèéìíîòóùú",
    "Catalan": "àçèéíïòóúü",
    "Dutch": "éèëïöü",
    "Danish and Norwegian": "æøåé",
    "Swedish": "åäöé",
    "Finnish": "äöå",
    "Icelandic": "áéíóúýæöð",  # þ starts a word (Þór), ð never does: both placed below
}
"""The accented letters each Western European language writes, all in cp1252."""


@st.composite
def western_names(draw: st.DrawFn) -> str:
    """A name of one to three words in one language's letters, capitalised or in capitals;
    in Spanish and Portuguese a word may end in an ordinal indicator ("Mª", "Profª") or have
    one before a capital ("MªJosé"), as their abbreviations are written."""
    language = draw(st.sampled_from(sorted(ORTHOGRAPHIES)))
    alphabet = "abcdefghijklmnoprstuvyz" + ORTHOGRAPHIES[language]
    words = []
    for _ in range(draw(st.integers(1, 3))):
        letters = draw(st.text(alphabet, min_size=2, max_size=12))
        if language == "Portuguese":  # ã ends a word or stands before o, e or s; õ before e
            letters = re.sub("õ(?!e)", "õe", re.sub("ã(?![oes]|$)", "ão", letters))
        if letters.isalpha() and not any(char.isascii() for char in letters):
            # a name's word has a plain letter: words of accented letters alone ("Ààà") are
            # what transforms.encodings.other_script_word takes for another script, by design
            letters = "n" + letters
        if language == "Icelandic":
            letters = ("þ" if draw(st.booleans()) else "") + letters.lstrip("ð")
        word = letters[:1].upper() + letters[1:]
        word = word.upper() if draw(st.booleans()) else word
        if language in ("Spanish", "Portuguese") and draw(st.integers(0, 3)) == 0:
            ordinal = draw(st.sampled_from("ªº"))
            joined = draw(st.text(alphabet, min_size=1, max_size=8)) if draw(st.booleans()) else ""
            word = f"{word[:5]}{ordinal}{joined[:1].upper()}{joined[1:]}"
        words.append(word)
    return " ".join(word for word in words if word)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder rewritten by every example (function-scoped tmp_path does not mix with @given)."""
    return tmp_path_factory.mktemp("code-pages")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(western_names(), min_size=1, max_size=40))
def test_western_european_names_are_never_refused(scratch: Path, names: list[str]) -> None:
    names = [name for name in names if name.strip()] or ["Anne"]
    # cp1252 bytes that are UTF-8 too ("Âœ" is C2 9C, U+009C) make a UTF-8 file: no cp1252 case
    assume(not any(_is_utf8_text(name.encode("cp1252")) for name in names))
    ingested = read_lead_file(_write(scratch, names, "cp1252"))
    assert ingested.encoding in ("cp1252", "utf-8")
    assert ingested.frame["name"].to_list() == names


@pytest.mark.parametrize(
    "notes",
    [
        ["Hola, ¿cómo está?", "¿dónde vive? ¿tiene móvil?", "¿llamar mañana?", "Ró¿a"],
        ["y ¡gracias!", "dice ¡adiós y ¡vale", "Ann"],
        ["dice «llamar» mañana", "«ocupado»", "»Rückruf« erbeten, »später«"],
    ],
)
def test_spanish_questions_and_quotes_in_cp1252_are_read_as_written(tmp_path: Path, notes: list[str]) -> None:
    # "¿" and "¡" open a Spanish question or exclamation, guillemets quote; cp1250 reads "¿" as
    # "ż", ISO-8859-2 "¡" "«" "»" as "Ą" "Ť" "ť": "¿cómo", "¡gracias", "«llamar»" read as Central
    # European words, and two of them in a notes column refused the file
    path = tmp_path / "leads.csv"
    rows = "".join(f"{n};Ana López;+34 916 62 61 2{n};{note}\n" for n, note in enumerate(notes))
    path.write_bytes(f"id;name;phone;notes\n{rows}".encode("cp1252"))
    ingested = read_lead_file(path)
    assert ingested.encoding == "cp1252"
    assert ingested.frame["notes"].to_list() == notes
    assert pl.concat(list(open_lead_batches(path, 2).batches()))["notes"].to_list() == notes


def test_a_western_file_read_as_latin1_is_not_refused_for_cp1252_letters(tmp_path: Path) -> None:
    # a stray 0x81 (no cp1252 character) makes the file Latin-1; its "œ" bytes (0x9C), judged as
    # Latin-1's controls, were symbols inside words that cp1250 reads as "ś" ("Cśur"): the French
    # file was refused as Central European, pointing at an --encoding that reads it wrong
    path = _write(tmp_path, ["Cœur Dupont", "Sœur Marie", "Bœuf Œuvre", "Ann"], "cp1252")
    path.write_bytes(path.read_bytes() + b"9;Ann\x81;+49 30 1234999\n")
    ingested = read_lead_file(path)
    assert ingested.encoding == "latin-1"
    assert pl.concat(list(open_lead_batches(path, 2).batches())).equals(ingested.frame)


def test_brand_marks_after_company_names_leave_a_cp1252_file_as_written(tmp_path: Path) -> None:
    # ISO-8859-2 reads "®" and "©" as "Ž" and "Š": "ACME®" and "SONY®" were two Central
    # European-looking words, and a US file of companies was refused as iso-8859-2
    companies = ["ACME®", "SONY®", "Contoso© Ltd", "Widget™ Inc", "Fabrikam"]
    path = tmp_path / "leads.csv"
    rows = "".join(f"{n},Ann Lee,+1 202 555 01{n:02d},{company}\n" for n, company in enumerate(companies))
    path.write_bytes(f"id,name,phone,company\n{rows}".encode("cp1252"))

    ingested = read_lead_file(path)

    assert ingested.encoding == "cp1252"
    assert ingested.frame["company"].to_list() == companies
    assert pl.concat(list(open_lead_batches(path, 2).batches()))["company"].to_list() == companies


def _is_utf8_text(data: bytes) -> bool:
    """Non-ASCII bytes that are valid UTF-8."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.binary(max_size=200).map(lambda raw: bytes(b if b % 3 else 0x78 for b in raw)))
def test_the_words_judged_are_the_letter_runs_holding_a_high_byte(raw: bytes) -> None:
    """:func:`code_pages._words` finds what the earlier pattern found, without its backtracking."""
    earlier = re.compile(b"[A-Za-z]*[" + code_pages._HIGH + b"][A-Za-z" + code_pages._HIGH + b"]*")

    assert code_pages._words(raw) == earlier.findall(raw)
