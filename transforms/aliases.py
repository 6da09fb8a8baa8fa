"""Built-in header aliases: which real-world column names mean which canonical column.

Keys are compared after ``header_key``: accents dropped, case folded, and everything but
letters and digits removed, so "E-Mail", "e_mail" and "EMAIL " are one key, and "Teléfono"
is "telefono". A header that is not found as is is tried once more without trailing digits
("Phone 2" -> "phone"). Aliases cover English, German, Spanish and French, and the headers of
common CRM exports (Salesforce, HubSpot, Zoho, Dynamics).

Phone aliases come in two kinds: ``mobile`` headers (tried first for phone1..phone3, so a
mobile, which SMS targets need, lands in the earliest slot) and other ``phone`` headers.
Deliberately absent: "Name"/"Full Name" (not first/last), "Fax" (not dialable), opt-out
flags like "Do Not Call", and "Contact Number" style ids that are phones in some markets.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ALIASES", "MOBILE", "PHONE", "header_key", "lookup"]

MOBILE = "mobile"
PHONE = "phone"

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TRAILING_DIGITS = re.compile(r"[0-9]+$")


def header_key(header: str) -> str:
    """The comparison key of a header: no accents, case folded, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", header.replace("ß", "ss"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NON_ALNUM.sub("", plain.casefold())


_EXTERNAL_ID = [
    "id", "externalid", "extid", "externalreference", "leadid", "customerid",
    "customernumber", "customerno", "contactid", "recordid", "crmid", "uniqueid", "leadnumber", "clientid",
    "clientnumber", "referenceid", "kundennummer", "kundennr", "kundenid", "kdnr", "idcliente", "clienteid",
    "numerodecliente", "numerocliente", "codigocliente", "idcontacto", "idclient", "numeroclient",
    "identifiant", "identifiantclient", "referenceclient", "codeclient",
]  # fmt: skip
_FIRST_NAME = [
    "firstname", "first", "givenname", "forename", "fname", "vorname", "rufname", "nombre", "nombres",
    "primernombre", "prenom", "contactfirstname",
]  # fmt: skip
_LAST_NAME = [
    "lastname", "last", "surname", "familyname", "lname", "nachname", "familienname", "zuname", "apellido",
    "apellidos", "primerapellido", "nom", "nomdefamille", "contactlastname",
]  # fmt: skip
_MOBILE = [
    "mobile", "mobilephone", "mobilenumber", "mobileno", "mobilphone", "cell", "cellphone", "cellular",
    "cellnumber", "cellphonenumber", "mobilephonenumber", "mobil", "mobiltelefon", "mobilnummer",
    "mobilfunk", "mobilfunknummer", "handy", "handynummer", "handynr", "telefonmobil", "movil",
    "telefonomovil", "numeromovil", "celular", "telefonocelular", "numerocelular", "cel", "portable",
    "telephoneportable", "telportable", "numeroportable", "mobilepersonnel", "gsm", "natel",
]  # fmt: skip
_PHONE = [
    "phone", "phonenumber", "phoneno", "telephone", "telephonenumber", "tel", "telno", "telnr", "telnumber",
    "primaryphone", "mainphone", "workphone", "businessphone", "officephone", "homephone", "otherphone",
    "directphone", "directline", "landline", "contactphone", "phonework", "phonehome", "phonebusiness",
    "phoneoffice", "phoneother", "telefon", "telefonnummer", "telefonnr", "rufnummer", "festnetz",
    "festnetznummer", "telefonprivat", "telefongeschaftlich", "telefondienstlich", "telprivat",
    "telgeschaftlich", "telefono", "numerodetelefono", "numerotelefono", "telefonofijo", "fijo",
    "telefonotrabajo", "telefonocasa", "telefonooficina", "telefonoparticular", "numerodetelephone",
    "telephonefixe", "fixe", "telfixe", "telephonedomicile", "telephonebureau", "telephonetravail",
    "telephoneprofessionnel",
]  # fmt: skip
_EMAIL = [
    "email", "emailaddress", "mail", "emailadresse", "mailadresse", "primaryemail", "workemail",
    "personalemail", "businessemail", "emailid", "correo", "correoelectronico", "direcciondecorreo",
    "direcciondecorreoelectronico", "email1", "courriel", "adressecourriel", "adresseemail", "adressemail",
    "adresseelectronique", "mel",
]  # fmt: skip
_COUNTRY = [
    "country", "countrycode", "countryiso", "countryname", "countryregion", "mailingcountry", "land",
    "landercode", "landerkennung", "landeskennung", "pais", "codigopais", "codigodepais", "pays",
    "codepays",
]  # fmt: skip
_TIMEZONE = [
    "timezone", "tz", "tzname", "ianatimezone", "zeitzone", "zonahoraria", "husohorario", "fuseauhoraire",
]  # fmt: skip


def _table(*groups: tuple[str, list[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for meaning, keys in groups:
        for key in keys:
            if key != header_key(key) or table.setdefault(key, meaning) != meaning:
                raise ValueError(f"alias {key!r} is not a normalized key or has two meanings")
    return table


ALIASES: dict[str, str] = _table(
    ("external_id", _EXTERNAL_ID),
    ("first_name", _FIRST_NAME),
    ("last_name", _LAST_NAME),
    (MOBILE, _MOBILE),
    (PHONE, _PHONE),
    ("email", _EMAIL),
    ("country", _COUNTRY),
    ("timezone", _TIMEZONE),
)
"""header_key -> canonical column, or ``MOBILE``/``PHONE`` for the phone slots."""


def lookup(header: str) -> str | None:
    """The canonical column (or ``MOBILE``/``PHONE``) a header stands for, if any."""
    key = header_key(header)
    found = ALIASES.get(key)
    if found is None:
        found = ALIASES.get(_TRAILING_DIGITS.sub("", key))
    return found
