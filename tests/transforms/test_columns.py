"""Column mapping: aliases, mapping files, and the canonical raw-leads frame."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.raw_leads import RAW_LEADS, RAW_LEADS_SCHEMA
from transforms.aliases import ALIASES, header_key
from transforms.columns import ColumnMapping, load_mapping, resolve_columns, to_raw_leads
from transforms.errors import LeadFileError, MappingError
from transforms.ingest import read_lead_file


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Phone Number", "phone1"),
        ("Mobile Phone", "phone1"),
        ("Work Phone", "phone1"),
        ("Home Phone", "phone1"),
        ("Cell", "phone1"),
        ("Tel.", "phone1"),
        ("Telefon", "phone1"),
        ("Mobil", "phone1"),
        ("Handy", "phone1"),
        ("Teléfono", "phone1"),
        ("Móvil", "phone1"),
        ("Celular", "phone1"),
        ("Téléphone", "phone1"),
        ("Portable", "phone1"),
        ("Telefon (geschäftlich)", "phone1"),
        ("Phone 2", "phone1"),
        ("E-Mail", "email"),
        ("Email Address", "email"),
        ("e_mail", "email"),
        ("Courriel", "email"),
        ("Correo electrónico", "email"),
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("Given Name", "first_name"),
        ("Vorname", "first_name"),
        ("Nombre", "first_name"),
        ("Prénom", "first_name"),
        ("Last Name", "last_name"),
        ("Surname", "last_name"),
        ("Family Name", "last_name"),
        ("Nachname", "last_name"),
        ("Apellido", "last_name"),
        ("Nom", "last_name"),
        ("Country", "country"),
        ("Country Code", "country"),
        ("Country/Region", "country"),
        ("Land", "country"),
        ("País", "country"),
        ("Pays", "country"),
        ("Time Zone", "timezone"),
        ("TZ", "timezone"),
        ("Zeitzone", "timezone"),
        ("ID", "external_id"),
        ("Lead ID", "external_id"),
        ("Customer ID", "external_id"),
        ("Contact ID", "external_id"),
        ("Record ID", "external_id"),
        ("Kundennummer", "external_id"),
        ("  PHONE  ", "phone1"),
    ],
)
def test_builtin_alias_maps_real_world_header(header: str, canonical: str) -> None:
    applied = resolve_columns([header, "Something Else"], None)
    assert applied.columns == {canonical: header}
    assert applied.attributes == ("Something Else",)


@pytest.mark.parametrize("header", ["Name", "Full Name", "Fax", "Do Not Call", "Email Opt Out", "Street"])
def test_ambiguous_or_non_contact_headers_stay_attributes(header: str) -> None:
    assert resolve_columns([header], None).attributes == (header,)


def test_alias_keys_are_normalized_keys() -> None:
    assert all(header_key(key) == key for key in ALIASES)
    assert header_key("Straße / Nº-Teléfono") == "strassenotelefono"


def test_mobile_headers_fill_phone_slots_first_and_surplus_phones_are_attributes() -> None:
    headers = ["Work Phone", "Home Phone", "Mobile", "Other Phone", "Handy", "E-Mail", "Email 2"]
    applied = resolve_columns(headers, None)
    assert applied.columns == {
        "phone1": "Mobile",
        "phone2": "Handy",
        "phone3": "Work Phone",
        "email": "E-Mail",
    }
    assert applied.attributes == ("Home Phone", "Other Phone", "Email 2")


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_file_overrides_aliases_and_ignores_columns(tmp_path: Path) -> None:
    mapping = load_mapping(
        write_mapping(
            tmp_path,
            'source = "crm-export"\ndefault_country = "de"\nignore = ["Intern", "Absent"]\n'
            '[columns]\nphone1 = "Festnetz privat"\nemail = "mail privat"\n',
        )
    )
    assert (mapping.source, mapping.default_country, mapping.ignore) == (
        "crm-export",
        "DE",
        ("Intern", "Absent"),
    )
    applied = resolve_columns(
        ["Telefon", "Mail Privat", "E-Mail", "Festnetz privat", "Intern", "Notes"], mapping
    )
    assert applied.columns == {"phone1": "Festnetz privat", "phone2": "Telefon", "email": "Mail Privat"}
    assert applied.origins == {"phone1": "mapping file", "phone2": "alias", "email": "mapping file"}
    assert applied.attributes == ("E-Mail", "Notes")
    assert applied.ignored == ("Intern",)
    assert 'phone1       <- "Festnetz privat"  (mapping file)' in applied.describe()
    assert '(dropped)    <- "Intern"  (ignored by mapping file)' in applied.describe()


def test_ignore_matches_headers_as_columns_does_so_no_ignored_column_reaches_a_vendor() -> None:
    # [columns] names a header whatever its case, spacing and punctuation; an ignored column
    # written "notes" for the file's "Notes" was kept as an attribute and sent as a custom field
    mapping = ColumnMapping(ignore=("notes", "social security no", "Absent"))
    applied = resolve_columns(["Phone", "Notes", "Social-Security No.", "Owner"], mapping)
    assert applied.ignored == ("Notes", "Social-Security No.")
    assert applied.attributes == ("Owner",)


def test_an_unnamed_pandas_index_is_dropped_not_sent_to_vendors_as_an_attribute() -> None:
    # DataFrame.to_parquet writes a filtered or re-indexed frame's row labels as
    # "__index_level_0__": the vendors got it as a custom field of every lead
    applied = resolve_columns(["Phone", "__index_level_0__", "Notes", "__index_level_1__"], None)
    assert applied.attributes == ("Notes",)
    assert applied.row_labels == ("__index_level_0__", "__index_level_1__")
    assert '(dropped)    <- "__index_level_0__"  (pandas row labels, not a lead field)' in applied.describe()


def test_a_pandas_index_named_in_columns_is_read_as_that_column() -> None:
    mapping = ColumnMapping(columns={"external_id": "__index_level_0__"})
    applied = resolve_columns(["Phone", "__index_level_0__"], mapping)
    assert applied.columns["external_id"] == "__index_level_0__"
    assert applied.row_labels == ()


def test_mapping_without_aliases_maps_only_what_it_names() -> None:
    applied = resolve_columns(
        ["Phone", "Email"], ColumnMapping(columns={"email": "Email"}, use_aliases=False)
    )
    assert applied.columns == {"email": "Email"}
    assert applied.attributes == ("Phone",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("colums = {}\n", 'unknown key "colums"'),
        ('[columns]\nmobile = "Handy"\n', 'unknown column "mobile"'),
        ("[columns]\nphone1 = 5\n", "phone1 must be a header name"),
        ('[columns]\nphone1 = "A"\nphone2 = "A"\n', 'maps "A" twice'),
        ('default_country = "Germany"\n', "two-letter ISO 3166"),
        ('ignore = "Notes"\n', '"ignore" must be a list'),
        ('use_aliases = "no"\n', '"use_aliases" must be true or false'),
        ('source = ""\n', '"source" must be a non-empty string'),
        ("[columns\n", "not valid TOML"),
    ],
)
def test_bad_mapping_file_names_file_and_key(tmp_path: Path, text: str, problem: str) -> None:
    path = write_mapping(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert caught.value.path == path
    assert problem in caught.value.problem
    assert str(caught.value).startswith(str(path))


def test_missing_mapping_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "absent.toml")


def test_mapping_naming_a_header_the_file_lacks_lists_the_headers(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, '[columns]\nphone1 = "Handynummer"\n'))
    with pytest.raises(MappingError) as caught:
        resolve_columns(["Telefon", "Mail"], mapping)
    assert caught.value.path == mapping.path
    assert "'Telefon', 'Mail'" in caught.value.fix


def lead_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_raw_leads_have_the_contract_columns_and_attributes_in_file_order(tmp_path: Path) -> None:
    path = lead_file(
        tmp_path,
        "Notes,Vorname,Handy,Campaign,Empty,E-Mail\n"
        "vip,Jürgen,0151 1,,,j@x.de\n"
        ",Ann,0151 2,spring,,\n"
        "x,Bo,0151 3\n",
    )
    ingested = read_lead_file(path)
    raw = to_raw_leads(ingested, resolve_columns(ingested.headers, None))
    assert raw.schema == pl.Schema(RAW_LEADS)
    RAW_LEADS_SCHEMA.validate(raw)
    assert raw.select("source_row", "first_name", "phone1", "email", "last_name").rows() == [
        (1, "Jürgen", "0151 1", "j@x.de", None),
        (2, "Ann", "0151 2", None, None),
        (3, "Bo", "0151 3", None, None),
    ]
    assert raw["attributes"].to_list() == [
        [{"name": "Notes", "value": "vip"}],
        [{"name": "Campaign", "value": "spring"}],
        [{"name": "Notes", "value": "x"}],
    ]
    assert [len(issues) for issues in raw["issues"].to_list()] == [0, 0, 1]


@pytest.mark.parametrize("ragged", ["", ",x"])
def test_headers_polars_reads_as_patterns_are_plain_names(tmp_path: Path, ragged: str) -> None:
    # pl.col("*") is every column and pl.col("^ph.*$") a regex; a header is only its own name.
    # ragged: a row with a field too many sends the file through the careful reader
    path = lead_file(tmp_path, f"*,phone,^ph.*$\nstar,0151 1,caret\nstar 2,0151 2,caret 2{ragged}\n")
    ingested = read_lead_file(path)
    raw = to_raw_leads(ingested, resolve_columns(ingested.headers, None))
    assert raw["phone1"].to_list() == ["0151 1", "0151 2"]
    assert [[pair["value"] for pair in pairs][:2] for pairs in raw["attributes"].to_list()] == [
        ["star", "caret"],
        ["star 2", "caret 2"],
    ]
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nphone1 = "*"\n', encoding="utf-8")
    mapped = to_raw_leads(ingested, resolve_columns(ingested.headers, load_mapping(mapping)))
    assert mapped["phone1"].to_list() == ["star", "star 2"]


def test_raw_leads_of_a_file_without_attributes_or_rows(tmp_path: Path) -> None:
    ingested = read_lead_file(lead_file(tmp_path, "Phone,Email\n"))
    raw = to_raw_leads(ingested, resolve_columns(ingested.headers, None))
    assert raw.schema == pl.Schema(RAW_LEADS)
    assert raw.height == 0
    ingested = read_lead_file(lead_file(tmp_path, "Phone\n0151\n"))
    assert to_raw_leads(ingested, resolve_columns(ingested.headers, None))["attributes"].to_list() == [[]]


def test_file_without_phone_or_email_column_is_a_file_error_naming_its_headers(tmp_path: Path) -> None:
    ingested = read_lead_file(lead_file(tmp_path, "Name,Street\nAnn,Main St\n"))
    with pytest.raises(LeadFileError) as caught:
        to_raw_leads(ingested, resolve_columns(ingested.headers, None))
    assert caught.value.path == ingested.path
    assert "no phone or email column (columns found: Name, Street)" in caught.value.problem
    assert "[columns] phone1" in caught.value.fix


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Lead export 2026-12-01\n\nfirst_name,phone,email\nAna,+12025550100,a@example.com\n", 3),
        ("Leads;;\nfirst_name;Telefon;E-Mail\nAna;+4915112345678;a@example.com\n", 2),
    ],
    ids=["title and blank line", "title padded with delimiters"],
)
def test_title_rows_above_the_header_are_named_with_the_line_the_header_is_on(
    tmp_path: Path, text: str, line: int
) -> None:
    ingested = read_lead_file(lead_file(tmp_path, text))
    with pytest.raises(LeadFileError) as caught:
        to_raw_leads(ingested, resolve_columns(ingested.headers, None))
    assert "no phone or email column" in caught.value.problem
    assert f"the header seems to be on line {line}" in caught.value.problem
    assert f"delete the {line - 1} line" in caught.value.fix.lower()


def test_file_exported_without_header_is_a_file_error_saying_so(tmp_path: Path) -> None:
    ingested = read_lead_file(
        lead_file(tmp_path, "+49 151 2345678,ann@example.com\n+49 152 1,bo@example.com\n")
    )
    with pytest.raises(LeadFileError) as caught:
        to_raw_leads(ingested, resolve_columns(ingested.headers, None))
    assert "no header row" in caught.value.problem
    assert "Add a header row" in caught.value.fix


@pytest.mark.parametrize("header", ["name", "value", "_row"])
def test_unmapped_column_named_like_the_attribute_fields_is_kept_as_an_attribute(header: str) -> None:
    from transforms.columns import attribute_pairs

    frame = pl.DataFrame({header: ["Ann Lee", ""], "phone": ["+14155550123", "+14155550124"]})
    pairs = attribute_pairs(frame, (header, "phone"))
    assert pairs.to_list() == [
        [{"name": header, "value": "Ann Lee"}, {"name": "phone", "value": "+14155550123"}],
        [{"name": "phone", "value": "+14155550124"}],
    ]
