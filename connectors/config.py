"""Targets configuration: a TOML file of named targets, validated on load.

::

    [targets.obi-main]
    kind = "sinch_obi"
    base_url = "http://127.0.0.1:8765/obi"
    campaign = "1"
    credentials = { username = "env:OBI_USER", password = "env:OBI_PASSWORD" }
    chunk_size = 100          # default and maximum: the vendor's documented limit
    concurrency = 4
    rate_limit = 50           # requests per second
    timeout = 10              # seconds per request phase (connect, each read), and the deadline's default
    deadline = 30             # seconds for one whole request, answer included (default: timeout)
    max_answer_bytes = 8388608  # largest answer read (default: the vendor's LIMITS.max_answer_bytes)
    retry = { attempts = 5, backoff = 0.5, max_backoff = 30 }
    options = { ... }         # vendor specific (message text, list name, dialer, ...)
    compliance = "us-tcpa"    # calling hours: "us-tcpa", "us-tcpa-strict", "uk", "de" or a table
                              # (transforms.calling_rules); none: no calling window is computed
    frequency = { max_contacts = 3, within_hours = 24 }  # this target's own contact-frequency limit

    compliance = "us-tcpa"    # run level (before any table): every voice/SMS target without its own
                              # (``leadflow import --compliance`` overrides it)

    [frequency]               # run level: every target without its own (connectors.frequency)
    max_contacts = 3          # sends of one person (any phone or email) ...
    within_hours = 24         # ... within this window (or within_days), across targets and runs
    count = "contacts"        # or "targets": distinct targets the person was sent to
    per = "person"            # or "phone" / "email": what identifies the person

No ``frequency`` anywhere (the default): no limit, and sending is what it was before it existed.
``LEADFLOW_FREQUENCY`` (``3/24h``, ``2/7d,targets,phone``: connectors.frequency.parse_limit) takes
the place of the file's run-level ``[frequency]``: an operator's limit for every target without
its own, whatever file a run is given.

``${NAME}`` in ``base_url`` is replaced by the environment variable NAME.
Credentials are references, never values: ``env:NAME`` (an environment variable) or
``prefect:NAME`` (a Prefect Secret block). A literal value is refused on load, so that no
secret ever sits in a file in a repository.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from connectors.config_error import ConfigError
from connectors.frequency import FREQUENCY_VARIABLE, FrequencyLimit, limit_from_environment
from transforms.calling_rules import Profile, profile_of

__all__ = [
    "EMAIL_KINDS",
    "KINDS",
    "ConfigError",
    "FrequencyLimit",
    "RetryPolicy",
    "TargetConfig",
    "load_options",
    "load_targets",
    "resolve_secret",
    "select_targets",
]

OptionsT = TypeVar("OptionsT", bound=BaseModel)

KINDS = ("sinch_obi", "engage", "ucontact_sms", "ucontact_email", "onc", "maxcontact")
Kind = Literal["sinch_obi", "engage", "ucontact_sms", "ucontact_email", "onc", "maxcontact"]


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(5, ge=1, le=20)
    """Tries per request, the first included."""
    backoff: float = Field(0.5, ge=0)
    """First pause in seconds; doubles each retry, with full jitter."""
    max_backoff: float = Field(30.0, ge=0)
    """Ceiling for one pause, Retry-After included."""
    breaker_failures: int = Field(5, ge=1)
    """Consecutive requests that exhausted their retries before the target is stopped."""


class TargetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Kind
    base_url: str
    campaign: str
    ledger_key: str | None = Field(None, min_length=1)
    """The vendor's name in the ledger, for a vendor reached through several host names; None:
    the normalized ``base_url`` (connectors.endpoint)."""
    credentials: dict[str, str] = Field(default_factory=dict)
    chunk_size: int | None = Field(None, ge=1)
    concurrency: int | None = Field(None, ge=1, le=256)
    rate_limit: float | None = Field(None, gt=0)
    timeout: float = Field(10.0, gt=0)
    deadline: float | None = Field(None, gt=0)
    """Seconds for one whole request, headers and body (connectors.answers); None: ``timeout``."""
    max_answer_bytes: int | None = Field(None, ge=1024)
    """Largest answer read, decoded (connectors.answers); None: the vendor's default."""
    retry: RetryPolicy = RetryPolicy()
    sms_allow_unknown_type: bool = True
    """SMS targets: send to phones whose type is unknown/fixed_line_or_mobile too."""
    options: dict[str, Any] = Field(default_factory=dict)
    compliance: str | dict[str, Any] | None = None
    """Calling-hours profile of a voice or SMS target (transforms.calling_rules): each lead's next
    window goes in the results, and a lead outside it is held (or scheduled, connectors.base
    ``schedules_by_zone``). None: no window, nothing held."""

    @field_validator("compliance")
    @classmethod
    def _known_profile(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if value is not None:
            profile_of(value)  # raises ValueError naming the problem
        return value

    def compliance_profile(self) -> Profile | None:
        """The ``compliance`` profile, None when the target names none."""
        return None if self.compliance is None else profile_of(self.compliance)

    frequency: FrequencyLimit | None = None
    """The contact-frequency limit this target's sends obey (connectors.frequency); None: none,
    unless the run-level ``[frequency]`` (or ``$LEADFLOW_FREQUENCY``) gives one."""

    def recorded(self) -> dict[str, Any]:
        """What run.json records of the rules this target's sends obeyed: its ``compliance``
        (a profile's name or its table) and its effective ``frequency`` limit, when it has them."""
        rules: dict[str, Any] = {}
        if self.compliance is not None:
            rules["compliance"] = self.compliance
        if self.frequency is not None:
            rules["frequency"] = self.frequency.model_dump(exclude_none=True)
        return rules

    @field_validator("credentials")
    @classmethod
    def _references_only(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if not ref.startswith(("env:", "prefect:")):
                raise ValueError(
                    f"credential {key!r} must be a reference like 'env:NAME' or 'prefect:BLOCK', "
                    "not a literal value (secrets never go in files)"
                )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = _expand(value)
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: str) -> str:
    """``${NAME}`` in a base URL is the environment variable NAME (e.g. a sandbox's address)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"uses ${{{name}}} but the environment variable {name} is not set")
        return os.environ[name]

    return _VARIABLE.sub(replace, value)


def resolve_secret(reference: str) -> SecretStr:
    """Resolve ``env:NAME`` or ``prefect:BLOCK`` to its value, as a SecretStr."""
    scheme, _, name = reference.partition(":")
    if scheme == "env":
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"environment variable {name} is not set (referenced as {reference!r})")
        return SecretStr(value)
    if scheme == "prefect":
        from prefect.blocks.system import Secret

        try:
            block = Secret.load(name, _sync=True)  # type: ignore[call-arg]  # resolved before the event loop starts
        except ValueError as exc:
            raise ConfigError(
                f"Prefect Secret block {name!r} not found: create it with `leadflow secrets set {name}`"
            ) from exc
        assert isinstance(block, Secret)
        secret = SecretStr(str(block.get()))
        _deliver_prefect_events()
        return secret
    raise ConfigError(f"unknown credential reference {reference!r}: use env:NAME or prefect:BLOCK")


_EVENTS_WAIT_SECONDS = 5.0


def _deliver_prefect_events() -> None:
    """Wait (at most :data:`_EVENTS_WAIT_SECONDS`) until Prefect's events worker has sent what it
    holds: the ``prefect.block.secret.loaded`` event that loading a block emits.

    The worker is a background service drained at interpreter exit; a short command (``leadflow
    check``) ended with the event still queued, and the drain logged Prefect's "Still processing
    items: 1 items remaining..." on stderr after the command's own last line. Sent now, nothing
    is left for the exit. The wait is bounded, in a thread of its own, so that a Prefect server
    slow to take the event cannot hold the command (its exit then drains it, as before). Inside a
    flow or task run it is skipped: the run's engine drains the worker when the run ends, and the
    run's own events keep its queue busy."""
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.events.worker import EventsWorker, should_emit_events

    if not should_emit_events() or FlowRunContext.get() or TaskRunContext.get():
        return
    waiter = threading.Thread(
        target=EventsWorker.instance().wait_until_empty, name="leadflow-prefect-events", daemon=True
    )
    waiter.start()
    waiter.join(_EVENTS_WAIT_SECONDS)


def _keys_at(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The keys a table at ``path`` inside ``model`` may have (nested models followed)."""
    for part in path:
        field = model.model_fields.get(str(part))
        annotation = None if field is None else field.annotation
        nested = [
            a for a in (annotation, *get_args(annotation)) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not nested:  # a plain value, or not a table this model knows
            return []
        model = nested[0]
    return [name for name in model.model_fields if name != "name" or model is not TargetConfig]


def _problem(err: Any, model: type[BaseModel]) -> tuple[str, str]:
    """(where, what) in a reader's words: an unknown key with the likely one it misspells,
    a missing key, or the validator's own message without pydantic's "Value error, "."""
    loc: tuple[str | int, ...] = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc:
        key, known = str(loc[-1]), _keys_at(model, loc[:-1])
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known keys: {', '.join(known) or '(none)'}"
        return ".".join(map(str, loc)), f"unknown key; {hint}"
    if err["type"] == "missing":
        return ".".join(map(str, loc)), "required key is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    return ".".join(map(str, loc)) or "(table)", message


def _problems(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """Pydantic's errors as ``key.path: message`` pairs, for one-line ConfigErrors."""
    problems = [_problem(err, model) for err in exc.errors()]
    return "; ".join(
        f"{prefix.rstrip('.') if where == '(table)' and prefix else prefix + where}: {what}"
        for where, what in problems
    )


def load_options(target: TargetConfig, model: type[OptionsT]) -> OptionsT:
    """A vendor's ``options`` table validated by its model; errors name the target and key."""
    try:
        return model.model_validate(target.options)
    except ValidationError as exc:
        raise ConfigError(f"target {target.name!r}: {_problems(exc, model, 'options.')}") from None


def load_targets(path: Path, *, compliance: str | None = None) -> list[TargetConfig]:
    """Read and validate a targets file; errors name the file, the target and the key.
    ``compliance``: the run's profile (``--compliance``), in place of the file's run-level one,
    for every voice/SMS target without its own."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: targets file not found. Give it with --targets FILE (its format: README, 'Targets')"
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - set(_TOP_LEVEL))
    if unknown:
        guess = difflib.get_close_matches(unknown[0], _TOP_LEVEL, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known: {', '.join(_TOP_LEVEL)}"
        raise ConfigError(f"{path}: {unknown[0]}: unknown table; {hint}")
    tables = document.get("targets")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [targets.NAME] tables found; see README 'Targets'")
    run_level = _run_frequency(path, document.get("frequency"))
    profile = _run_compliance(path, document.get("compliance"), compliance)
    targets: list[TargetConfig] = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: targets.{name} must be a table")
        inherited: dict[str, Any] = {}
        if run_level is not None and "frequency" not in table:
            inherited["frequency"] = run_level
        if profile is not None and "compliance" not in table and table.get("kind") not in EMAIL_KINDS:
            inherited["compliance"] = profile
        try:
            targets.append(TargetConfig.model_validate({"name": name, **table, **inherited}))
        except ValidationError as exc:
            raise ConfigError(f"{path}: target {name!r}: {_problems(exc, TargetConfig)}") from None
    return targets


_TOP_LEVEL = ("targets", "frequency", "compliance")
"""The tables a targets file may have: a misspelt ``[frequncy]`` must not pass as no limit."""

EMAIL_KINDS = frozenset({"ucontact_email"})
"""The kinds whose channel is email (their connectors' ``channel``): no calling hours, so a
run-level ``compliance`` passes them by."""


def _run_frequency(path: Path, table: object) -> FrequencyLimit | None:
    """The run-level limit: ``$LEADFLOW_FREQUENCY`` when set, else the file's ``[frequency]``,
    validated; None when neither gives one."""
    try:
        overridden = limit_from_environment()
    except ValueError as exc:
        raise ConfigError(f"{FREQUENCY_VARIABLE}: {exc}") from None
    if overridden is not None:
        return overridden
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: frequency must be a table")
    try:
        return FrequencyLimit.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_problems(exc, FrequencyLimit, 'frequency.')}") from None


def _run_compliance(path: Path, in_file: object, given: str | None) -> str | dict[str, Any] | None:
    """The run's compliance profile: ``given`` (``--compliance``) else the file's top-level
    ``compliance`` (a profile's name or a table), checked; None when neither names one."""
    value = given if given else in_file
    if value is None:
        return None
    where = "--compliance" if given else f"{path}: compliance"
    if not isinstance(value, str | dict):
        raise ConfigError(f"{where}: a profile's name or a table")
    try:
        profile_of(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return value


def select_targets(
    path: Path, names: Sequence[str] = (), *, compliance: str | None = None
) -> list[TargetConfig]:
    """The file's targets (or the named ones, in the file's order); ConfigError otherwise."""
    targets = load_targets(path, compliance=compliance)
    known = {target.name for target in targets}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"{path}: no target named {', '.join(map(repr, unknown))}; "
            f"the file defines {', '.join(sorted(known))}"
        )
    return [target for target in targets if not names or target.name in names]
