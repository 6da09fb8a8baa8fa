"""``--country CC`` of the commands that read a value a person typed (``leadflow dnc``,
``leadflow report --lead``): the region a national phone number is read with. One place, so
that both accept the same spellings (transforms.countries) and refuse the others in the same
words."""

from __future__ import annotations

__all__ = ["country_region"]


def country_region(country: str | None) -> str | None:
    """The ISO region of ``--country`` (None when not given); a ``ConfigError`` naming the value
    when Leadflow knows no such country."""
    from connectors.config_error import ConfigError
    from transforms.countries import resolve_country

    if country is None:
        return None
    region = resolve_country(country)
    if region is None:
        raise ConfigError(
            f"--country {country!r} is not a country Leadflow knows: give an ISO code such as US"
        )
    return region
