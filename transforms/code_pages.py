"""Is a file read as cp1252 really in another Latin code page? Its words' letters say.

Why: a CSV that is not UTF-8 is read as Windows-1252 (Western European). A Central European
(cp1250, ISO-8859-2), Turkish (cp1254) or Baltic (cp1257) export read so still looks like text,
with a few letters wrong: "Łukasz" arrives as "£ukasz", "Małgorzata" as "Ma³gorzata", "Ayşe"
as "Ayþe", "Đorđević" as "Ðorðeviæ". Those names would reach the dialer altered, so such a
file is refused with the code page to name (``--encoding``). (Greek, Cyrillic, Hebrew and
Arabic read as cp1252 are words without an ASCII letter: ``transforms.encodings.other_script_word``.)

The sign, on the file's head (the text ``other_script_word`` reads, at most 2,000 distinct
words): each word of 4 or more letters holding a byte >= 0x80 is read in cp1252 and in each
candidate code page, and only words that read differently count. A reading is implausible when
it puts a symbol inside a word (``³`` ``¹`` ``£`` ``¥`` ``¿``, a byte the page leaves
undefined), cases a word as no name is cased (``WoŸniak``), holds letters no single language
of the page writes together (``Kýlýç``), or an Icelandic letter where Icelandic never has it
(``þ`` inside a word but before ``ó``, ``ð`` first). The file is refused for a candidate when
at least two words read implausibly in cp1252 and plausibly in the candidate, and (almost) no
word the other way round; between candidates that right as many words, the one more of the
differing words read well in wins, then the order of ``CANDIDATES``. Letters that read the
same in several pages ("é", "ü", "ó") prove nothing and leave the file cp1252: Western European
files are never refused for them.

Known blind spots, still read as cp1252 (name the code page with ``--encoding``): a head whose
altered words all read as plausible Western ones (a Turkish "Yıldız" is an Icelandic-looking
"Yýldýz", a Hungarian "Erdős" an Estonian-looking "Erdõs" and "Fűzfa" a French-looking "Fûzfa"
where no acute vowel nor Hungarian digraph (sz, cs, gy...) shares the word and ő is not last,
a Czech "Kučera" a French-looking "Kuèera", a Romanian "Mihăilă" a Portuguese-looking
"Mihãilã" where ă stands before a vowel or last); Romanian written in capitals ("ŞTEFAN" reads
"ªTEFAN", as a Spanish "MªJOSÉ" would); a head with one altered word only; a file whose altered
words come after its head.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from transforms.errors import LeadFileError
from transforms.legacy_text import decode_latin1, encode_latin1

__all__ = ["CANDIDATES", "Misread", "code_page_error", "code_page_misread"]

CANDIDATES: dict[str, str] = {
    "cp1250": "Central European: Polish, Czech, Slovak, Hungarian, Croatian, Romanian",
    "iso-8859-2": "Central European, ISO",
    "cp1254": "Turkish",
    "cp1257": "Baltic: Lithuanian, Latvian, Estonian",
}
"""The code pages a file read as cp1252 may really be in, in the order a tie is settled."""

_WESTERN = (
    "àâæçéèêëîïôœùûüÿ",  # French
    "äöüß",  # German
    "áéíñóúü",  # Spanish, Galician, Basque
    "áâãàçéêíóôõúü",  # Portuguese
    "àèéìíîòóùú",  # Italian
    "àçèéíïòóúü",  # Catalan
    "éèëïöü",  # Dutch, Frisian
    "äëéèöü",  # Luxembourgish
    "æøåéóü",  # Danish, Norwegian
    "åäöéü",  # Swedish
    "äöåšž",  # Finnish
    "äöõüšž",  # Estonian
    "áéíóú",  # Irish
    "çë",  # Albanian
    "áéíóöúü",  # Hungarian without ő and ű
    "áäéíóôúýšž",  # Czech and Slovak letters cp1252 has
    "çöüâî",  # Turkish letters cp1252 has
)
_ICELANDIC = ("áðéíóúýþæö", "áðíóúýæø")  # Icelandic, Faroese
_CENTRAL = (
    "ąćęłńóśźż",  # Polish
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "áéíóöőúüű",  # Hungarian
    "čćđšž",  # Slovenian, Croatian, Bosnian, Serbian (Latin)
    "ăâîşţ",  # Romanian
    "çë",  # Albanian
    "äöüß",  # German
)
_TURKISH = ("çğıöşüâîûİ",)
_BALTIC = (
    "ąčęėįšųūž",  # Lithuanian
    "āčēģīķļņšūž",  # Latvian
    "äöõüšž",  # Estonian
    "ąćęłńóśźż",  # Polish
    "čšž",  # Slovenian
    "äöüß",  # German
    "åäöæøé",  # Nordic
)

_LANGUAGES: dict[str, tuple[str, ...]] = {
    "cp1252": _WESTERN + _ICELANDIC,
    "cp1250": _CENTRAL,
    "iso-8859-2": _CENTRAL,
    "cp1254": _TURKISH + _WESTERN,
    "cp1257": _BALTIC,
}
"""Per code page, the non-ASCII letters each language it serves writes (lower case): a word
whose letters no one of them holds mixes languages, which a name read right does not."""

_MISPLACED: dict[str, str] = {
    "cp1252": (
        r"^[ðÐ]|(?<=.)[þÞ](?![oóOÓ])|[ªº](?=[a-zß-öø-ÿ])"
        r"|[ãÃ](?=[bcdfghjklmnpqrtvwxyzBCDFGHJKLMNPQRTVWXYZ])"
        r"|^(?=.*[áéíóúÁÉÍÓÚ]).*[õÕ](?![eE])"
        r"|[õÕ]$"
        r"|^(?=.*(?:[sS][zZ]|[cC][sS]|[zZ][sS]|[gGnNtTlL][yY])).*(?:[õÕ](?![eE])|[ûÛ])"
    ),
    "cp1254": r"^[ğĞ]",
}
"""Letters where their language never writes them. cp1252's Icelandic ð first in a word, þ
inside one but in the ``-þór`` names (Eyþór, Arnþór): Turkish ş, Croatian đ, Romanian ţ read
so ("Ayþe", "Ðorðeviæ", "Ionuþ"); its ordinal indicators before a small letter: Romanian Ş and
ş read so ("ªtefan", "Mureºan"), where Spanish and Portuguese write them last ("Mª", "Nº",
"Profª", "Engª") or before a name's capital ("MªJosé"). Portuguese ã before a consonant but s
(it writes "ão", "ãe", "irmãs", "irmã"): Romanian ă read so ("Bãlan", "Tãnase"). Portuguese õ
before anything but e ("Simões", "põe") in a word with an acute vowel, which Estonian, whose õ
stands anywhere ("Tõnis", "Põld"), does not write: Hungarian ő read so ("Kõvári", "Szõkéné").
õ last in a word, which neither Portuguese nor Estonian writes: Hungarian ő read so ("Ernõ",
"Gyõzõ"). õ (but before e) or û in a word with a Hungarian digraph (sz, cs, zs, gy, ny, ty, ly),
which no French, Portuguese or Estonian word has: Hungarian ő and ű read so ("Szûcs", "Gyõri",
"Szõllõsy", "Nyûgös").
cp1254's ğ first in a word: Baltic Š read so ("Ğimkus")."""

_ORDINALS = "ªº"
"""cp1252's ordinal indicators ("Nº", "1ª"): neither letter nor symbol, they prove nothing."""

_SHORTEST = 4
"""Letters a word needs to count: fewer are too often not a name ("£5m", a code, a typo)."""

_FEWEST = 2
"""Words a verdict needs: one is too often something else (a product code, a typo)."""

_MOST_WORDS = 2000
"""Distinct words read at most: enough for any verdict, and the cost stays bounded."""


def _separator(byte: int) -> bool:
    """A byte that is punctuation or a symbol in cp1252 and in every candidate (’ – « ° ©...):
    it ends a word like a space."""
    return all(not bytes([byte]).decode(page, "replace").isalpha() for page in ("cp1252", *CANDIDATES))


_HIGH = b"".join(re.escape(bytes([byte])) for byte in range(0x80, 0x100) if not _separator(byte))
_LETTERS = re.compile(b"[A-Za-z" + _HIGH + b"]+")
_HIGH_BYTE = re.compile(b"[" + _HIGH + b"]")


def _words(raw: bytes) -> list[bytes]:
    """The words with a byte >= 0x80 (ASCII words read the same in every page): the runs of
    letters that hold one. Found as runs, then kept: a pattern ``[A-Za-z]*[high][...]*`` tried
    again at each letter of a long ASCII run (a 140 kB field of one word) took seconds a file."""
    return [run for run in _LETTERS.findall(raw) if _HIGH_BYTE.search(run)]


_WORD_BYTE = b"[A-Za-z" + _HIGH + b"]"
_EDGE_PUNCTUATION = re.compile(
    b"(?<!" + _WORD_BYTE + b")[\xa1\xbf\xab\xbb]+|[\xab\xbb\xae\xa9\x99]+(?!" + _WORD_BYTE + b")"
)
"""cp1252's punctuation that other pages read as letters, where a word starts or ends: Spanish's
opening "¿" and "¡" ("Hola, ¿cómo está?", "y ¡gracias!") and the guillemets of «Spanish»,
«French», »German« quotes. cp1250 reads "¿" as "ż", ISO-8859-2 "¡" "«" "»" as "Ą" "Ť" "ť", so
"¿cómo", "¡gracias" and "«llamar»" read as Central European words and two of them refused a
Spanish file. There they end a word like a space; inside a word ("Ró¿añski") they still count.
So do the marks that end a brand: "ACME®", "Sony©", "Widget™" (ISO-8859-2 reads "®" and "©" as
"Ž" and "Š": two companies with a registered mark refused a US file). An all-capitals Czech word
ending in "Š" or "Ž" ("NÁŠ", "MUŽ") is lost to the check so; the file's other words still tell."""


@dataclass(frozen=True)
class Misread:
    """A file's head read as cp1252 that reads right in ``encoding``: ``word`` is one of its
    words as read, ``better`` the same bytes in ``encoding``."""

    encoding: str
    word: str
    better: str

    @property
    def description(self) -> str:
        """What the code page is for, as an operator would recognise it."""
        return CANDIDATES[self.encoding]


def code_page_error(path: Path, head: str) -> LeadFileError | None:
    """The error for a file read as cp1252 (or Latin-1) whose words read right in another Latin
    code page (:func:`code_page_misread`), else None: the word as read and as it should read,
    and the ``--encoding`` that reads it so."""
    misread = code_page_misread(head)
    if misread is None:
        return None
    page = misread.encoding
    return LeadFileError(
        path,
        "the file is not UTF-8, and read as Windows-1252 (Western European), Leadflow's guess, some "
        f"of its words come out altered, such as '{misread.word}', which reads '{misread.better}' in "
        f"{page} ({misread.description})",
        f'Name its code page: --encoding {page} (or encoding = "{page}" in the mapping file), or save '
        "it as CSV UTF-8 (Excel: Save As, CSV UTF-8) and try again",
    )


def code_page_misread(head: str) -> Misread | None:
    """The code page ``head`` (a file's start, read as cp1252 or Latin-1) is really in, when its
    words say so (module docstring), else None."""
    if head.isascii():
        return None
    read_as = "cp1252"
    try:
        raw = head.encode("cp1252")
    except UnicodeEncodeError:  # the file was read as Latin-1 (a byte cp1252 leaves undefined)
        raw, read_as = encode_latin1(head), "latin-1"
    raw = _EDGE_PUNCTUATION.sub(b" ", raw)  # the same bytes in both readings
    words = [word for word in dict.fromkeys(_words(raw)) if len(word) >= _SHORTEST][:_MOST_WORDS]
    # judged as cp1252 reads the bytes even in a file read as Latin-1 (a byte cp1252 leaves
    # undefined, a stray 0x81): its other bytes 0x80-0x9F are cp1252's letters there too. As
    # Latin-1's controls, a French "Cœur" was a symbol inside a word that cp1250 reads "Cśur",
    # and the file was refused as Central European
    reading = _page("cp1252", "cp1252")
    wrong = [reading.implausible(word) for word in words]
    best: tuple[tuple[int, int], int, str] | None = None  # (score, first word it reads right, page)
    for name in CANDIDATES:
        page = _page(name, "cp1252")
        evidence, against, support, first = 0, 0, 0, -1
        for index, word in enumerate(words):
            if not page.differs.search(word):
                continue
            bad = page.implausible(word)
            support += -1 if bad else 1
            if wrong[index] and not bad:
                evidence += 1
                first = index if first < 0 else first
            elif bad and not wrong[index]:
                against += 1
        # pages that right as many words: the one more of the differing words read well in
        score = (evidence - 4 * against, support)
        if evidence >= _FEWEST and score[0] > 0 and (best is None or score > best[0]):
            best = (score, first, name)
    if best is None:
        return None
    _, first, name = best
    as_read = words[first].decode("cp1252") if read_as == "cp1252" else decode_latin1(words[first])
    return Misread(name, as_read, words[first].decode(name, "replace"))


@dataclass(frozen=True)
class _Page:
    """One code page's reading of a word's bytes, as byte patterns (a word is tested without
    decoding it): where it reads a byte unlike the file was read, a symbol inside a word, the
    casings a name has (``Name``, ``name``, ``NAME``), letters out of place, and the bytes each
    of its languages writes."""

    differs: re.Pattern[bytes]
    symbol: re.Pattern[bytes]
    shape: re.Pattern[bytes]
    misplaced: re.Pattern[bytes] | None
    languages: tuple[frozenset[int], ...]

    def implausible(self, word: bytes) -> bool:
        """Whether ``word`` read in this page is no word a person would have written."""
        if self.symbol.search(word) or not self.shape.fullmatch(word):
            return True
        seen = set(word)
        if not any(seen <= language for language in self.languages):
            return True
        return self.misplaced is not None and self.misplaced.search(word) is not None


@cache
def _page(name: str, read_as: str) -> _Page:
    """``name``'s reading (``cp1252`` or ``latin-1`` for the reading itself), against ``read_as``."""
    table = {byte: bytes([byte]).decode(name, "replace") for byte in range(0x80, 0x100)}
    ordinals = {byte for byte, char in table.items() if char in _ORDINALS and name in _WESTERN_PAGES}
    kinds = {byte: unicodedata.category(char) for byte, char in table.items()}
    upper = [byte for byte, kind in kinds.items() if kind in ("Lu", "Lt")]
    lower = [byte for byte, kind in kinds.items() if kind == "Ll" and table[byte] != "ß"]
    caseless = [byte for byte, char in table.items() if char == "ß"] + sorted(ordinals)
    letters = set(upper) | set(lower) | set(caseless)
    big = b"[A-Z" + _escaped(upper + caseless) + b"]"
    small = b"[a-z" + _escaped(lower + caseless) + b"]"
    ascii_letters = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    languages = tuple(
        ascii_letters
        | ordinals
        | {byte for byte in letters if _lower(table[byte]) in alphabet or table[byte] in alphabet}
        for alphabet in _LANGUAGES["cp1252" if name == "latin-1" else name]
    )
    rule = _MISPLACED.get("cp1252" if name == "latin-1" else name)
    return _Page(
        _byte_class([byte for byte in table if table[byte] != bytes([byte]).decode(read_as, "replace")]),
        _byte_class([byte for byte in table if byte not in letters]),
        re.compile(big + b"?" + small + b"*|" + big + b"+"),
        None if rule is None else re.compile(rule.encode(name)),
        languages,
    )


_WESTERN_PAGES = frozenset({"cp1252", "latin-1", "cp1254"})


def _byte_class(values: list[int]) -> re.Pattern[bytes]:
    return re.compile(b"[" + _escaped(values) + b"]" if values else b"(?!)")


def _escaped(values: list[int]) -> bytes:
    return b"".join(re.escape(bytes([value])) for value in values)


def _lower(char: str) -> str:
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char
