"""A mixed-encoding file's decoding, a block at a time: transforms.encodings' rule, per block.

Why: ``transforms.encodings.as_utf8`` decides a file's encoding on all of its bytes at once
(strict UTF-8, else line by line when UTF-8 and legacy lines mix, else cp1252, else Latin-1).
Its decision rests on pieces of lines (cut after each ``\\r`` and ``\\n`` byte) that are each
sorted alone, plus three counts over the whole file: the non-ASCII UTF-8 pieces, the
non-ASCII pieces that are not UTF-8 (legacy), and whether a legacy piece holds a byte cp1252
leaves undefined. Here the pieces of each block (cut after a line end, so after a piece) are
sorted the same way (:func:`sort_pieces`), the counts summed by :class:`EncodingCounts` over a
first pass, and the resulting :class:`Decoding` decodes each block of a second pass exactly
as the whole file would have been decoded, naming the minority lines (``ENCODING_MIXED``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transforms.encodings import _is_utf8
from transforms.legacy_text import decode_latin1

__all__ = ["Decoding", "EncodingCounts", "Pieces", "line_starts_before", "sort_pieces"]

_UNDEFINED_CP1252 = (0x81, 0x8D, 0x8F, 0x90, 0x9D)


@dataclass(frozen=True)
class Pieces:
    """A block's pieces: ``offsets`` bounds them, ``utf8`` and ``legacy`` are the indexes of its
    non-ASCII pieces that are and are not UTF-8; ``undefined``: a legacy piece is not cp1252."""

    offsets: np.ndarray
    utf8: list[int]
    legacy: list[int]
    undefined: bool


def sort_pieces(block: bytes) -> Pieces:
    """The pieces of ``block`` sorted as ``encodings._per_line`` sorts them."""
    if block.isascii():
        return Pieces(np.zeros(1, np.int64), [], [], False)
    raw = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    tail = [len(block)] if ends.size == 0 or ends[-1] + 1 < len(block) else []
    offsets = np.concatenate([np.zeros(1, np.int64), ends + 1, np.array(tail, dtype=np.int64)])
    non_ascii = np.unique(np.searchsorted(offsets, np.flatnonzero(raw >= 0x80), side="right") - 1).tolist()
    if _is_utf8(block):
        return Pieces(offsets, non_ascii, [], False)
    pair = np.flatnonzero((raw[:-1] >= 0xC2) & (raw[:-1] <= 0xF4) & (raw[1:] >= 0x80) & (raw[1:] <= 0xBF))
    utf8: set[int] = set()
    for index in np.unique(np.searchsorted(offsets, pair, side="right") - 1).tolist():
        try:
            block[int(offsets[index]) : int(offsets[index + 1])].decode("utf-8")
        except UnicodeDecodeError:
            continue
        utf8.add(index)
    legacy = [index for index in non_ascii if index not in utf8]
    holders = np.searchsorted(offsets, np.flatnonzero(np.isin(raw, _UNDEFINED_CP1252)), side="right") - 1
    undefined = any(index not in utf8 for index in np.unique(holders).tolist())
    return Pieces(offsets, sorted(utf8), legacy, undefined)


def line_starts_before(block: bytes | memoryview, positions: np.ndarray) -> np.ndarray:
    """For each byte position, the physical lines that end before it (``\\r\\n`` one line end):
    the 0-based line of ``block`` the position is on."""
    raw = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    second = np.zeros(ends.size, dtype=bool)  # the \n of a \r\n
    second[1:] = (ends[1:] == ends[:-1] + 1) & (raw[ends[1:]] == 10) & (raw[ends[:-1]] == 13)
    return np.searchsorted(ends[~second], positions, side="left")


@dataclass
class EncodingCounts:
    """The whole file's counts (module docstring), summed block by block."""

    bom: bool
    utf8: int = 0
    legacy: int = 0
    undefined: bool = False

    def add(self, block: bytes) -> None:
        pieces = sort_pieces(block)
        self.utf8 += len(pieces.utf8)
        self.legacy += len(pieces.legacy)
        self.undefined = self.undefined or pieces.undefined

    def decoding(self) -> Decoding:
        """How ``as_utf8`` decodes the file these counts describe."""
        if not self.legacy:
            return Decoding("utf-8-sig" if self.bom else "utf-8", None, None)
        legacy = "latin-1" if self.undefined else "cp1252"
        if not (self.bom or self.utf8):
            return Decoding(legacy, legacy, None)
        foreign_legacy = self.bom or self.legacy <= self.utf8
        majority, minority = ("utf-8", legacy) if foreign_legacy else (legacy, "utf-8")
        return Decoding(f"{majority}+{minority}", None, foreign_legacy)


@dataclass(frozen=True)
class Decoding:
    """``encoding`` as read_lead_file names it; ``whole``: the codec of a file in one legacy
    encoding; ``foreign_legacy``: for a mixed file, whether its legacy lines are the minority."""

    encoding: str
    whole: str | None
    foreign_legacy: bool | None

    @property
    def mixed(self) -> bool:
        return self.foreign_legacy is not None

    @property
    def minority(self) -> str:
        return self.encoding.split("+")[-1]

    @property
    def majority(self) -> str:
        return self.encoding.split("+")[0]

    def decode(self, block: bytes) -> tuple[bytes, list[int]]:
        """``block`` (whole lines) as UTF-8, and its 0-based lines read in the minority encoding."""
        if self.whole is not None:
            text = decode_latin1(block) if self.whole == "latin-1" else block.decode(self.whole)
            return text.encode("utf-8"), []
        if not self.mixed or block.isascii():
            return block, []
        pieces = sort_pieces(block)
        out: list[bytes] = []
        copied = 0
        for index in pieces.legacy:
            start, end = int(pieces.offsets[index]), int(pieces.offsets[index + 1])
            out.append(block[copied:start])
            # cp1252, a byte it leaves undefined as Latin-1's: the same text as cp1252 for a line
            # cp1252 reads whole (no second decode of the line that holds such a byte)
            out.append(decode_latin1(block[start:end]).encode("utf-8"))
            copied = end
        out.append(block[copied:])
        foreign = np.asarray(pieces.legacy if self.foreign_legacy else pieces.utf8, dtype=np.int64)
        lines = line_starts_before(block, pieces.offsets[foreign]) if foreign.size else foreign
        return b"".join(out), lines.tolist()
