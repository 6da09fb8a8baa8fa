"""What the edges of a cell may carry that no one sees, trimmed before a value is read.

A value copied from a web page, a document or another system brings no-break spaces, zero-width
spaces, direction marks and byte-order marks along: it looks right in the file and in the
report, so a reason code for it would ask for a fix no one can see.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EDGE_JUNK", "INVISIBLE", "WHITESPACE"]

WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Unicode White_Space, what ``\\s`` matches in polars' (Rust) regex engine."""
INVISIBLE: Final = "\u200b\u200e\u200f\u2060\ufeff"
"""Zero-width space, the direction marks, the word joiner and the byte-order mark."""
EDGE_JUNK: Final = WHITESPACE + INVISIBLE
"""Every character :func:`polars.Expr.str.strip_chars` should take off a value's edges."""
