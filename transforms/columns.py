"""Column mapping: the file's own headers -> the canonical raw-leads columns.

Each source exports its own headers, so mapping is decided per file in two layers: a
per-source TOML mapping file (explicit, wins) and the built-in aliases of
``transforms.aliases`` (everything the mapping does not name). Up to three phone headers
fill ``phone1..phone3``, mobile-named headers first, each kind in file order. Every header
that maps to nothing (including surplus phone headers and second email columns) is kept in
``attributes`` for the vendors' custom fields; headers the mapping lists in ``ignore`` are
dropped, and so is an unnamed pandas index (``__index_level_0__``: what pandas writes to Parquet
for a DataFrame's row labels, which no one meant as a lead's field; a named index is a column of
its own name and stays). ``AppliedMapping.describe()`` is what the CLI prints so the user sees
the decision.

Mapping file format (every key optional)::

    source = "crm-export"        # name of the source, for reports and stable ids
    default_country = "DE"       # ISO 3166-1 alpha-2 region for national numbers
    encoding = "cp1250"          # the source's CSV text encoding (--encoding wins); else detected
    use_aliases = true           # false: only the [columns] below are mapped
    ignore = ["Notes", "Owner"]  # headers dropped entirely (absent ones are fine)

    [columns]                    # canonical column = the file's header
    phone1 = "Handynummer"
    email = "Mail privat"

A header named in ``[columns]`` is matched exactly, else by its alias key (case, spacing,
punctuation and accents ignored); naming a header the file lacks is a ``MappingError``. A header
named in ``ignore`` is matched the same way (every header it matches is dropped).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import polars.selectors as cs

from schemas.codes import Issue
from schemas.raw_leads import ATTRIBUTE, CANONICAL_COLUMNS, ISSUE
from transforms.aliases import MOBILE, PHONE, header_key, lookup
from transforms.errors import LeadFileError, MappingError
from transforms.ingest import IngestedFile, sniffed_layout
from transforms.issues import append_issue_rows, issue
from transforms.lists import empty_lists, lists_from_long

__all__ = [
    "AppliedMapping",
    "ColumnMapping",
    "attribute_pairs",
    "load_mapping",
    "resolve_columns",
    "to_raw_leads",
]

PHONE_SLOTS: tuple[str, ...] = ("phone1", "phone2", "phone3")
CONTACT_COLUMNS: tuple[str, ...] = (*PHONE_SLOTS, "email")
FROM_MAPPING = "mapping file"
FROM_ALIAS = "alias"

_TOP_LEVEL = ("source", "default_country", "encoding", "use_aliases", "ignore", "columns")
_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_LOOKS_LIKE_DATA = re.compile(r"^\s*(\+?[\d\s\-./()]{7,}|[^@\s]+@[^@\s]+\.[^@\s]+)\s*$")
"""A header cell that is a phone number or an email: the file was exported without its header."""


@dataclass(frozen=True)
class ColumnMapping:
    """A per-source mapping: explicit ``columns`` (canonical -> header) and what to drop."""

    columns: Mapping[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    default_country: str | None = None
    source: str | None = None
    use_aliases: bool = True
    path: Path = Path("<mapping>")
    encoding: str | None = None
    """The source's CSV text encoding (a codec name, checked when a file is read)."""


@dataclass(frozen=True)
class AppliedMapping:
    """The decision for one file: canonical -> header, where each came from, what is left over."""

    columns: dict[str, str]
    origins: dict[str, str]
    attributes: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    row_labels: tuple[str, ...] = ()
    """Unnamed pandas index columns (:data:`_ROW_LABELS`): dropped, not sent as attributes."""

    @property
    def has_contact_column(self) -> bool:
        return any(name in self.columns for name in CONTACT_COLUMNS)

    def rows(self) -> list[tuple[str, str, str]]:
        """(canonical column, header or "", origin) per canonical column, then attributes and ignored."""
        rows = [
            (name, self.columns.get(name, ""), self.origins.get(name, "not in file"))
            for name in CANONICAL_COLUMNS
        ]
        rows += [("attributes", header, "unmapped") for header in self.attributes]
        rows += [("(dropped)", header, "ignored by mapping file") for header in self.ignored]
        rows += [("(dropped)", header, "pandas row labels, not a lead field") for header in self.row_labels]
        return rows

    def describe(self) -> str:
        """The mapping as aligned text lines, for the CLI and logs."""
        width = max(len(name) for name, _, _ in self.rows())
        lines = []
        for name, header, origin in self.rows():
            shown = f'"{header}"' if header else "-"
            lines.append(f"{name.ljust(width)}  <- {shown}  ({origin})")
        return "\n".join(lines)


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a mapping file; any problem is a ``MappingError`` naming the key."""
    try:
        document = tomllib.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except FileNotFoundError:
        raise MappingError(path, "the mapping file does not exist", "Check the --mapping path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            path, f"the mapping file cannot be read ({type(exc).__name__})", "Save it as UTF-8 text"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            path, f"the mapping file is not valid TOML ({exc})", "Fix the syntax there"
        ) from None
    for key in document:
        if key not in _TOP_LEVEL:
            raise MappingError(path, f'unknown key "{key}"', f"Use only: {', '.join(_TOP_LEVEL)}")
    return ColumnMapping(
        columns=_columns_table(path, document.get("columns", {})),
        ignore=_string_list(path, "ignore", document.get("ignore", [])),
        default_country=_country(path, document.get("default_country")),
        source=_optional_string(path, "source", document.get("source")),
        encoding=_optional_string(path, "encoding", document.get("encoding")),
        use_aliases=_boolean(path, "use_aliases", document.get("use_aliases", True)),
        path=path,
    )


def _columns_table(path: Path, table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise MappingError(
            path, '"columns" must be a table', 'Write it as [columns] with lines like phone1 = "Mobile"'
        )
    columns: dict[str, str] = {}
    for key, header in table.items():
        if key not in CANONICAL_COLUMNS:
            raise MappingError(
                path, f'[columns] has an unknown column "{key}"', f"Map only: {', '.join(CANONICAL_COLUMNS)}"
            )
        if not isinstance(header, str) or not header.strip():
            raise MappingError(
                path, f"[columns] {key} must be a header name (a string)", f'Write {key} = "Header"'
            )
        if header in columns.values():
            raise MappingError(path, f'[columns] maps "{header}" twice', "Map each header to one column only")
        columns[key] = header
    return columns


def _string_list(path: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MappingError(
            path, f'"{key}" must be a list of header names', f'Write {key} = ["Notes", "Owner"]'
        )
    return tuple(value)


def _optional_string(path: Path, key: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise MappingError(path, f'"{key}" must be a non-empty string', f'Write {key} = "crm-export"')
    return value


def _country(path: Path, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO2.match(value):
        raise MappingError(
            path, '"default_country" must be a two-letter ISO 3166 code', 'Write default_country = "DE"'
        )
    return value.upper()


def _boolean(path: Path, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise MappingError(path, f'"{key}" must be true or false', f"Write {key} = true")
    return value


_ROW_LABELS = re.compile(r"__index_level_\d+__")
"""The name pandas gives an unnamed index level it writes as a column (``DataFrame.to_parquet``)."""


def resolve_columns(headers: list[str], mapping: ColumnMapping | None) -> AppliedMapping:
    """Decide which header feeds each canonical column; the rest become attributes (but for
    those the mapping ignores and pandas' unnamed row labels, unless ``[columns]`` names one)."""
    mapping = mapping or ColumnMapping()
    ignore_keys = {header_key(name) for name in mapping.ignore} - {""}
    ignored = tuple(
        header for header in headers if header in mapping.ignore or header_key(header) in ignore_keys
    )
    columns = {name: _find_header(headers, header, name, mapping) for name, header in mapping.columns.items()}
    origins = dict.fromkeys(columns, FROM_MAPPING)
    taken = set(columns.values()) | set(ignored)
    if mapping.use_aliases:
        phones: dict[str, list[str]] = {MOBILE: [], PHONE: []}
        for header in headers:
            meaning = lookup(header) if header not in taken else None
            if meaning in phones:
                phones[meaning].append(header)
            elif meaning is not None and meaning not in columns:
                columns[meaning], origins[meaning] = header, FROM_ALIAS
        free_slots = [slot for slot in PHONE_SLOTS if slot not in columns]
        for slot, header in zip(free_slots, phones[MOBILE] + phones[PHONE], strict=False):
            columns[slot], origins[slot] = header, FROM_ALIAS
    used = set(columns.values()) | set(ignored)
    labels = tuple(header for header in headers if header not in used and _ROW_LABELS.fullmatch(header))
    return AppliedMapping(
        columns={name: columns[name] for name in CANONICAL_COLUMNS if name in columns},
        origins={name: origins[name] for name in CANONICAL_COLUMNS if name in origins},
        attributes=tuple(header for header in headers if header not in used and header not in labels),
        ignored=ignored,
        row_labels=labels,
    )


def _find_header(headers: list[str], wanted: str, column: str, mapping: ColumnMapping) -> str:
    if wanted in headers:
        return wanted
    matches = [header for header in headers if header_key(header) == header_key(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise MappingError(
        mapping.path,
        f'[columns] {column} = "{wanted}" names a column this lead file does not have',
        f"Use one of the file's headers: {', '.join(repr(header) for header in headers)}",
    )


def to_raw_leads(ingested: IngestedFile, applied: AppliedMapping) -> pl.DataFrame:
    """The canonical raw-leads frame (schemas.raw_leads); needs a phone or email column.

    Validated where it is consumed (transforms.normalize.clean_leads), once."""
    if (
        not applied.has_contact_column
        and ingested.headers
        and all(_LOOKS_LIKE_DATA.match(header) for header in ingested.headers)
    ):
        raise LeadFileError(
            ingested.path,
            "the file has no header row (the first row holds data, not column names)",
            "Add a header row naming the columns (for example first_name,last_name,phone,email)",
        )
    if not applied.has_contact_column:
        headers = ", ".join(ingested.headers) or "none"
        found = f"the file has no phone or email column (columns found: {headers})"
        line = _header_below_title(ingested)
        if line is not None:
            raise LeadFileError(
                ingested.path,
                f"{found}; the header seems to be on line {line}, below title rows",
                f"Delete the {line - 1} line{'s' if line > 2 else ''} above it so that the header is the "
                "first line, and try again",
            )
        raise LeadFileError(
            ingested.path,
            found,
            'Name a column "Phone" or "Email", or map one in a mapping file: [columns] phone1 = "<column>"',
        )
    canonical = [
        cs.by_name(applied.columns[name]).alias(name)  # a header is a name: "*" is no wildcard
        if name in applied.columns
        else pl.lit(None, pl.String).alias(name)
        for name in CANONICAL_COLUMNS
    ]
    frame = ingested.frame.select(pl.col("source_row"), *canonical).with_columns(
        attributes=attribute_pairs(ingested.frame, applied.attributes),
        issues=ingested.frame.get_column("issues").cast(pl.List(ISSUE)),
    )
    return _empty_rows_marked(frame, ingested)


def _empty_rows_marked(frame: pl.DataFrame, ingested: IngestedFile) -> pl.DataFrame:
    """``frame`` with ``ROW_EMPTY`` on the rows whose every cell is empty (a spreadsheet's empty
    row, ",,,"): still rows of the file, rejected for no channel as any, but nothing in them to
    fix, which NO_CHANNEL and PHONE_MISSING alone do not say. Cells the mapping drops count
    too (a row with only a note is a lead with no channel). A null check per column; the issues
    are rebuilt only when a row is empty."""
    cells = ingested.headers
    if not cells or frame.height == 0:
        return frame
    # by name: a header such as "*" or "^a$" is no pattern
    empty = ingested.frame.select(pl.all_horizontal(cs.by_name(*cells).is_null())).to_series()
    if not empty.any():
        return frame
    found = pl.DataFrame({"_row": empty.arg_true()}).select(
        pl.col("_row"), _issue=issue(Issue.ROW_EMPTY.value, "", pl.lit(None, pl.String))
    )
    return append_issue_rows(frame, [found])


_TITLE_LINES = 6
"""How far down a header below title rows is looked for (1-based lines, the title included)."""


def _header_below_title(ingested: IngestedFile) -> int | None:
    """The line (1-based) a header with a phone or email column seems to be on when the file's
    first line holds one non-empty cell (a title such as "Lead export 2026-12-01"), else None.

    Why not skip the title rows: a first line is the header by the CSV contract, and guessing
    otherwise could import a file framed wrong; the error says where to cut instead. Read again
    from the file only for the error: the title made the reader frame every line as one column."""
    if ingested.format != "csv":
        return None
    try:
        with ingested.path.open("rb") as opened:
            start = opened.read(16_384)
    except OSError:
        return None
    encoding = ingested.encoding.partition("+")[0]
    try:
        lines = start.decode(encoding, errors="replace").splitlines()[:_TITLE_LINES]
    except LookupError:
        return None
    if len(lines) < 2 or sum(1 for cell in _cells(lines[0]) if cell.strip()) != 1:
        return None
    for number, line in enumerate(lines[1:], start=2):
        layout = sniffed_layout(line, truncated=False) if line.strip() else None
        if layout is not None and resolve_columns(layout[1], None).has_contact_column:
            return number
    return None


def _cells(line: str) -> list[str]:
    """``line``'s cells under whichever common delimiter splits it most."""
    return max((line.split(delimiter) for delimiter in ",;\t|"), key=len)


def attribute_pairs(frame: pl.DataFrame, headers: tuple[str, ...]) -> pl.Series:
    """Per row, the (name, value) pairs of ``headers`` in order, skipping null and empty values.

    Built long and turned into lists through Arrow (transforms.lists): polars' ``concat_list``
    assembles lists row by row and takes seconds per million rows, this a fraction of that.
    """
    if not headers or frame.height == 0:
        return empty_lists(frame.height, ATTRIBUTE, name="attributes")
    # Positional aliases while long: a file's own header may be ``name``, ``value`` or ``_row``;
    # selected by name (cs.by_name): pl.col reads "*" as every column and "^ph.*$" as a regex.
    aliases = [f"_attribute_{i}" for i in range(len(headers))]
    values = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        *(
            pl.when(cs.by_name(header) != "").then(cs.by_name(header)).alias(alias)
            for header, alias in zip(headers, aliases, strict=True)
        ),
    )
    header_of = pl.col("name").cast(pl.String).replace_strict(aliases, list(headers), return_dtype=pl.String)
    pairs = (
        values.unpivot(index="_row", on=aliases, variable_name="name", value_name="value")
        .drop_nulls("value")
        .sort("_row", maintain_order=True)
        .select("_row", pl.struct(header_of.alias("name"), "value").alias("pair"))
    )
    rows = pairs.get_column("_row")
    lists = lists_from_long(rows, pairs.get_column("pair"), frame.height, name="attributes")
    return lists.cast(pl.List(ATTRIBUTE))
