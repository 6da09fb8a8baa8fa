"""Erasure requests (GDPR Art. 17): the keyed hash that stands for a person who asked to be forgotten.

The store keeps ``HMAC-SHA256(key, value)`` of the normalized value (E.164, or the lower-cased
email), never the value, so the person is recognised in a later file without their number
being kept. The key is derived from a pepper:

- ``$LEADFLOW_DNC_PEPPER`` when set (a secret of the installation: an environment variable set
  from the secret manager the deployment uses, the same on every machine), else
- :data:`APPLICATION_PEPPER`, fixed in this code.

Why an installation secret is preferred: phone numbers are few (about 10^10 per country), so
anyone holding the key can find an erased number again by hashing every number; with the key
outside the database, a copy of the database alone does not give the number back. Why a fixed
fallback: a hash must be the same on every machine and in every run, or an erased person is
imported again; a pepper that differs silently would do exactly that. So the store records a
check value of the key (``dnc_meta.pepper_check``, an HMAC of a fixed text, which reveals
nothing of the key) at the first erasure, and every later erasure and every run refuses a key
whose check differs (:func:`checked_key`), rather than miss the erased people.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import polars as pl

from connectors.config_error import ConfigError
from connectors.dnc_types import DncStore

__all__ = ["APPLICATION_PEPPER", "PEPPER_ENV", "checked_key", "erasure_hash", "erasure_hashes"]

PEPPER_ENV = "LEADFLOW_DNC_PEPPER"
APPLICATION_PEPPER = "leadflow/dnc-erasure/v1/6f1d2c0e9b7a4f35"
_CHECK_TEXT = b"leadflow dnc pepper check"


def _key() -> bytes:
    pepper = os.environ.get(PEPPER_ENV) or APPLICATION_PEPPER
    return hashlib.sha256(b"leadflow-dnc-erasure-v1\x00" + pepper.encode()).digest()


def _check(key: bytes) -> str:
    return hmac.digest(key, _CHECK_TEXT, "sha256").hex()[:16]


def checked_key(store: DncStore, *, record: bool = False) -> bytes:
    """The erasure key, checked against the one the store's erasures were made with; ``record``
    (an erasure being added) stores its check when the store has none yet. Raises ConfigError
    naming :data:`PEPPER_ENV` (never its value) when they differ."""
    key = _key()
    known = store.meta("pepper_check")
    if known is None:
        if record:
            store.set_meta("pepper_check", _check(key))
        return key
    if known != _check(key):
        raise ConfigError(
            f"the do-not-contact store's erasure requests were hashed with another pepper than "
            f"this machine's (${PEPPER_ENV}): set the same {PEPPER_ENV} on every machine that "
            "reads this ledger, or erased people would be imported again"
        )
    return key


def erasure_hash(key: bytes, value: str) -> str:
    """The stored form of one normalized value (E.164 or lower-cased email)."""
    return hmac.digest(key, value.encode(), "sha256").hex()


def erasure_hashes(key: bytes, values: pl.Series) -> pl.Series:
    """:func:`erasure_hash` of each distinct value, mapped back onto ``values`` (nulls stay null).
    Python per distinct value, as phone parsing: HMAC has no polars expression; about 1 us each."""
    distinct = values.drop_nulls().unique()
    hashed = pl.Series([erasure_hash(key, value) for value in distinct.to_list()], dtype=pl.String)
    lookup = pl.DataFrame({"value": distinct, "hash": hashed})
    return values.to_frame("value").join(lookup, on="value", how="left", maintain_order="left")["hash"]
