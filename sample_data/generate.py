"""Generate Leadflow's sample lead files and the benchmark's large messy files.

    python -m sample_data.generate            # rewrites the files in sample_data/
    python -m sample_data.generate --rows N --out big.csv   # one large messy CSV (bench)

The data is synthetic (names from small lists, numbers in real numbering ranges of nine
countries with random subscriber digits) and carries the mess real CRM and spreadsheet
exports have: every phone format people type, Excel damage (floats, scientific notation,
leading apostrophes), "00"/"(0)" prefixes, vanity letters, extensions, bad emails, blank
rows, duplicates (same id, same phone, same email), country names in several languages.
Deterministic under ``--seed``; vectorized with numpy so a million rows take seconds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NumberRange:
    region: str
    calling_code: str
    national_prefix: str  # leading national digits kept as is
    random_digits: int  # subscriber digits drawn at random
    trunk: str  # national trunk prefix people type ("0", "1" or "")
    kind: str


RANGES: tuple[NumberRange, ...] = (
    NumberRange("US", "1", "201555", 4, "1", "fixed_line_or_mobile"),
    NumberRange("US", "1", "415", 7, "1", "fixed_line_or_mobile"),
    NumberRange("CA", "1", "506234", 4, "1", "fixed_line_or_mobile"),
    NumberRange("GB", "44", "7400", 6, "0", "mobile"),
    NumberRange("GB", "44", "20794", 5, "0", "fixed_line"),
    NumberRange("DE", "49", "151", 8, "0", "mobile"),
    NumberRange("DE", "49", "30", 7, "0", "fixed_line"),
    NumberRange("FR", "33", "6", 8, "0", "mobile"),
    NumberRange("FR", "33", "1", 8, "0", "fixed_line"),
    NumberRange("ES", "34", "6", 8, "", "mobile"),
    NumberRange("ES", "34", "91", 7, "", "fixed_line"),
    NumberRange("MX", "52", "55", 8, "", "fixed_line_or_mobile"),
    NumberRange("BR", "55", "119", 8, "0", "mobile"),
    NumberRange("AU", "61", "4", 8, "0", "mobile"),
    NumberRange("AU", "61", "2", 8, "0", "fixed_line"),
)

COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "US": ("US", "USA", "United States", "united states of america", "Estados Unidos"),
    "CA": ("CA", "Canada", "CAN"),
    "GB": ("GB", "UK", "United Kingdom", "Great Britain", "GBR"),
    "DE": ("DE", "Germany", "Deutschland", "DEU", "Alemania"),
    "FR": ("FR", "France", "FRA", "Frankreich"),
    "ES": ("ES", "Spain", "España", "Espana", "ESP"),
    "MX": ("MX", "Mexico", "México", "MEX"),
    "BR": ("BR", "Brazil", "Brasil", "BRA"),
    "AU": ("AU", "Australia", "AUS"),
}

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Jürgen Anja Klaus Ute Björn Sophie Lukas Lea Camille Louis Chloé Hugo Inès Théo "
    "José María Lucía Alejandro Sofía Mateo Ana João Beatriz Thiago Olivia Jack Charlotte "
    "Oliver Amelia Liam Emma Noah Ava Zoë Renée O'Neil"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Müller Schmidt Schneider Fischer "
    "Weber Meyer Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy García López "
    "Martínez Sánchez Pérez Silva Santos Oliveira Souza Taylor Wilson Anderson Thompson White "
    "McDonald O'Brien van der Berg de la Cruz Nguyen Kowalski"
).split()
DOMAINS = ("example.com", "mail.example.org", "Example.NET", "corp.example.de", "correo.example.es")


def _digits(rng: np.random.Generator, n: int, width: np.ndarray) -> pl.Series:
    """n random digit strings of the given widths (vectorized: zero-padded integers)."""
    values = rng.integers(0, 10**9, size=n, dtype=np.int64)
    padded = pl.Series(values).cast(pl.String).str.zfill(9)
    return pl.select(padded.str.slice(0, pl.Series(width))).to_series()


def messy_phones(
    rng: np.random.Generator,
    n: int,
    regions: pl.Series | None = None,
    ranges: tuple[NumberRange, ...] = RANGES,
) -> pl.DataFrame:
    """Phones as people type them, with the region they belong to. ~10% are broken.

    With ``regions``, each number is drawn from a range of that row's region (a person's
    second number is usually in the same country as the first).
    """
    pick = rng.integers(0, len(ranges), size=n)
    if regions is not None:
        by_region: dict[str, list[int]] = {}
        for index, number_range in enumerate(ranges):
            by_region.setdefault(number_range.region, []).append(index)
        choice = rng.integers(0, 2, size=n)
        table = pl.DataFrame({"region": regions, "c": choice}).join(
            pl.DataFrame({"region": list(by_region), "opts": list(by_region.values())}),
            on="region",
            how="left",
            maintain_order="left",
        )
        pick = table.select(pl.col("opts").list.get(pl.col("c") % pl.col("opts").list.len()))[
            "opts"
        ].to_numpy()
    table = pl.DataFrame(
        {
            "region": [r.region for r in ranges],
            "cc": [r.calling_code for r in ranges],
            "prefix": [r.national_prefix for r in ranges],
            "width": [r.random_digits for r in ranges],
            "trunk": [r.trunk for r in ranges],
        }
    )[pick]
    national = table["prefix"] + _digits(rng, n, table["width"].to_numpy())
    style = rng.integers(0, 14, size=n)
    frame = table.with_columns(national=national, style=pl.Series(style))
    e164 = pl.lit("+") + pl.col("cc") + pl.col("national")
    nat = pl.col("national")
    trunked = pl.col("trunk") + nat
    spaced = pl.concat_str([nat.str.slice(0, 3), nat.str.slice(3, 3), nat.str.slice(6)], separator=" ")
    formatted = (
        pl.when(pl.col("style") == 0)
        .then(e164)
        .when(pl.col("style") == 1)
        .then(pl.lit("+") + pl.col("cc") + pl.lit(" ") + spaced)
        .when(pl.col("style") == 2)
        .then(trunked)
        .when(pl.col("style") == 3)
        .then(pl.lit("00") + pl.col("cc") + nat)
        .when(pl.col("style") == 4)
        .then(pl.lit("'") + e164)  # Excel text marker
        .when(pl.col("style") == 5)
        .then(pl.lit("+") + pl.col("cc") + pl.lit(" (0) ") + spaced)
        .when(pl.col("style") == 6)
        .then(
            pl.concat_str(
                [
                    pl.lit("("),
                    nat.str.slice(0, 3),
                    pl.lit(") "),
                    nat.str.slice(3, 3),
                    pl.lit("-"),
                    nat.str.slice(6),
                ]
            )
        )
        .when(pl.col("style") == 7)
        .then((pl.col("cc") + nat) + pl.lit(".0"))  # Excel float
        .when(pl.col("style") == 8)
        .then(trunked + pl.lit(" x") + pl.col("national").str.slice(-3))
        .when(pl.col("style") == 9)
        .then(nat.str.slice(0, 4))  # truncated: invalid
        .when(pl.col("style") == 10)
        .then(pl.lit("n/a"))  # junk
        .when(pl.col("style") == 11)
        .then(pl.concat_str([nat.str.slice(0, 3), nat.str.slice(3, 3), nat.str.slice(6)], separator="."))
        .otherwise(pl.lit("+") + pl.col("cc") + pl.lit("-") + nat)
    )
    return frame.select("region", phone=formatted)


def messy_lead_frame(
    n: int,
    seed: int = 7,
    *,
    phone_share: float = 0.5,
    duplicate_share: float = 0.05,
    countries: tuple[str, ...] | None = None,
    id_prefix: str = "C",
) -> pl.DataFrame:
    """n leads, about 1 + ``phone_share`` phones each, ``duplicate_share`` duplicated rows,
    numbers from ``countries`` (default: all nine)."""
    rng = np.random.default_rng(seed)
    ranges = tuple(r for r in RANGES if countries is None or r.region in countries)
    base = n - int(n * duplicate_share)
    first = pl.Series(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), base)]
    last = pl.Series(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), base)]
    phones = messy_phones(rng, base, ranges=ranges)
    second = messy_phones(rng, base, phones["region"], ranges=ranges)["phone"]
    has_second = pl.Series(rng.random(base) < phone_share)
    domain = pl.Series(DOMAINS)[rng.integers(0, len(DOMAINS), base)]
    ids = pl.Series(rng.permutation(base) + 100000).cast(pl.String)
    email_style = pl.Series(rng.integers(0, 20, base))
    spellings = pl.DataFrame(
        {"region": list(COUNTRY_SPELLINGS), "names": [list(v) for v in COUNTRY_SPELLINGS.values()]}
    )
    frame = pl.DataFrame(
        {
            "id": id_prefix + ids,
            "first": first,
            "last": last,
            "region": phones["region"],
            "phone": phones["phone"],
            "phone2": pl.select(pl.when(has_second).then(second)).to_series(),
            "domain": domain,
            "email_style": email_style,
            "pick": pl.Series(rng.integers(0, 5, base)),
        }
    ).join(spellings, on="region", how="left", maintain_order="left")
    local = (pl.col("first").str.to_lowercase() + "." + pl.col("last").str.to_lowercase()).str.replace_all(
        r"[^a-z.]", ""
    ) + pl.col("id").str.slice(-4)
    email = (
        pl.when(pl.col("email_style") == 0)
        .then(None)
        .when(pl.col("email_style") == 1)
        .then(local + "@")  # broken
        .when(pl.col("email_style") == 2)
        .then(pl.lit(" ") + local.str.to_uppercase() + "@" + pl.col("domain") + " ")
        .otherwise(local + "@" + pl.col("domain"))
    )
    country = pl.col("names").list.get(pl.col("pick") % pl.col("names").list.len())
    leads = frame.select(
        customer_id="id",
        first_name="first",
        last_name="last",
        phone="phone",
        mobile="phone2",
        email=email,
        country=pl.when(pl.col("pick") == 4).then(None).otherwise(country),
    )
    duplicates = leads.sample(n - base, seed=seed, with_replacement=True) if n > base else leads.head(0)
    return pl.concat([leads, duplicates]).sample(fraction=1.0, shuffle=True, seed=seed)


# ---- the small sample files ---------------------------------------------------------------

_HAND_WRITTEN_US = [
    ("C900001", "Anna", "O'Neil", "1-800-FLOWERS", "", "anna@example.com", "US"),
    ("C900002", "  Bob  ", "Stone", "4.155552671E9", "", "bob@example.com", "USA"),
    ("C900003", "Carla", "Diaz", "+1 (415) 555-2671 ext. 204", "", "Carla <carla@Example.COM>", ""),
    ("C900004", "", "", "", "", "", ""),
    ("C900005", "Dee", "Nguyen", "tel:+14155550199", "", "dee@@example.com", "United States"),
    ("C900001", "Anna", "O'Neil", "1-800-356-9377", "", "anna@example.com", "US"),  # same id
    ("C900006", '=HYPERLINK("http://x")', "<script>alert(1)</script>", "+1 415 555 0134", "", "", "US"),
]


def write_samples(seed: int = 7) -> list[Path]:
    written: list[Path] = []

    us = messy_lead_frame(1500, seed).rename(
        {
            "customer_id": "Record ID",
            "first_name": "First Name",
            "last_name": "Last Name",
            "phone": "Phone Number",
            "mobile": "Mobile Phone",
            "email": "Email",
            "country": "Country/Region",
        }
    )
    us = us.with_columns(pl.lit("Lead").alias("Lifecycle Stage"), pl.lit("web form").alias("Original Source"))
    hand = pl.DataFrame(
        [list(r) + ["Lead", "import"] for r in _HAND_WRITTEN_US], schema=us.columns, orient="row"
    )
    path = HERE / "us_crm_export.csv"
    pl.concat([us, hand]).write_csv(path)
    written.append(path)

    de = (
        messy_lead_frame(800, seed + 1, id_prefix="K")
        .rename(
            {
                "customer_id": "Kundennummer",
                "first_name": "Vorname",
                "last_name": "Nachname",
                "phone": "Telefon",
                "mobile": "Mobil",
                "email": "E-Mail",
                "country": "Land",
            }
        )
        .with_columns(pl.lit("Rückruf erwünscht; bitte nachmittags").alias("Notiz"))
    )
    path = HERE / "de_kunden_cp1252.csv"
    path.write_bytes(de.write_csv(separator=";").encode("cp1252", errors="replace"))
    written.append(path)

    latam = (
        messy_lead_frame(700, seed + 2, id_prefix="L")
        .rename(
            {
                "customer_id": "ID Cliente",
                "first_name": "Nombre",
                "last_name": "Apellido",
                "phone": "Teléfono",
                "mobile": "Celular",
                "email": "Correo",
                "country": "País",
            }
        )
        .with_columns(pl.lit("campaña otoño").alias("Campaña"))
    )
    path = HERE / "latam_leads.parquet"
    latam.write_parquet(path)
    written.append(path)

    custom = (
        messy_lead_frame(400, seed + 3, id_prefix="P")
        .rename(
            {
                "customer_id": "Ref",
                "first_name": "Given",
                "last_name": "Family",
                "phone": "Handynummer",
                "mobile": "Festnetz",
                "email": "Kontakt Mail",
                "country": "Region",
            }
        )
        .with_columns(pl.lit("Q4 promo").alias("Segment"))
    )
    path = HERE / "partner_feed.tsv"
    text = custom.write_csv(separator="\t")
    lines = text.splitlines()
    # the usual damage: a ragged row (missing fields) and a quoted note with a newline
    lines.insert(5, "R-ragged\tOnly\tTwo")
    lines.insert(9, 'R-note\tMia\tKlein\t+49 151 23456789\t\tmia@example.de\tDE\t"Q4 promo\nsecond line"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.append(path)

    path = HERE / "partner_feed.mapping.toml"
    path.write_text(
        "# Column mapping for partner_feed.tsv: its headers are not in the built-in aliases.\n"
        'source = "partner-feed"\n'
        'default_country = "DE"\n\n'
        "[columns]\n"
        'external_id = "Ref"\n'
        'first_name = "Given"\n'
        'last_name = "Family"\n'
        'phone1 = "Handynummer"\n'
        'phone2 = "Festnetz"\n'
        'email = "Kontakt Mail"\n'
        'country = "Region"\n',
        encoding="utf-8",
    )
    written.append(path)

    rng = np.random.default_rng(seed + 4)
    us_rows = pl.read_csv(HERE / "us_crm_export.csv", infer_schema=False)
    picked = us_rows.sample(25, seed=seed)
    suppress = pl.DataFrame(
        {"value": picked["Phone Number"].head(15).to_list() + picked["Email"].tail(10).drop_nulls().to_list()}
    )
    del rng
    path = HERE / "do_not_contact.csv"
    suppress.rename({"value": "phone_or_email"}).write_csv(path)
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, help="write one large messy CSV of this many rows")
    parser.add_argument("--out", type=Path, help="where to write the large CSV")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.rows:
        out = args.out or Path(f"leads-{args.rows}.csv")
        messy_lead_frame(args.rows, args.seed).write_csv(out)
        print(out)
        return 0
    for path in write_samples(args.seed):
        print(path.relative_to(HERE.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
