"""File-level errors: the one exception a user's bad input file (or mapping file) raises.

A bad *row* is never an exception (it becomes an issue code on that row); a bad *file* is
one ``LeadFileError`` whose message names the file, says what is wrong and what to do, so
that the CLI can print it on one line instead of a traceback. Messages never quote cell
values: lead files hold personal data.

    LeadFileError            the lead file cannot be imported as a whole
     └── MappingError        the per-source mapping file (or its use on a lead file) is wrong
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LeadFileError", "MappingError"]


class LeadFileError(Exception):
    """A whole input file cannot be imported.

    ``path`` is the offending file, ``problem`` what is wrong with it and ``fix`` what the
    user can do about it; ``str(error)`` joins the three into one line.
    """

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        super().__init__(path, problem, fix)
        self.path = Path(path)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return _one_line(f"{self.path}: {self.problem}. {self.fix}")


def _one_line(text: str) -> str:
    """Control characters (a header's line break, say) escaped, so the error stays one line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class MappingError(LeadFileError):
    """The per-source column mapping file is invalid, or names columns the lead file lacks."""
