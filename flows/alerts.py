"""Being told when a run needs someone: an optional webhook, called at the end of every import.

A run needs someone when it failed (a bad file or setting, exit code 1), could not send
(rows failed or a target stopped: exit codes 3 and 4, flows.verdict), or when too many of its
leads were refused: the *rejected share* (at the worst target, the leads rejected for their
data or refused by the vendor, over that target's leads) is above a threshold. Then, when
``LEADFLOW_ALERT_WEBHOOK`` is set, one small JSON document is POSTed there (``alert_payload``):
run id, file name, verdict, exit code, counts per target, rejected share, where the report is.
Never a lead's value, never a credential.

Configured by environment only, not by ``ImportSettings``: those become a Prefect
deployment's and a flow run's parameters, stored in Prefect's database and shown in its UI,
and a webhook URL is often a secret itself (a Slack or Teams URL carries its token in the
path). For the same reason a log line names the webhook by scheme and host only
(``redact_url``).

``LEADFLOW_ALERT_WEBHOOK``        URL to POST to (unset: no webhook)
``LEADFLOW_ALERT_REJECTED_SHARE`` threshold, a fraction (default 0.2; 1 turns the check off)

A failing webhook is retried a few times with a short timeout, then logged as one line; it
never changes a run's result or exit code. Sent with the standard library's ``urllib``:
httpx logs every request's full URL at INFO, which would print the secret path.
Prefect's own alerting (automations on a flow run's ``Failed`` state) is in the README.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from flows.verdict import ExitCode, judge
from schemas.codes import Issue

__all__ = [
    "SHARE_ENV",
    "WEBHOOK_ENV",
    "AlertSettings",
    "alert_payload",
    "alert_run",
    "notify",
    "redact_url",
    "rejected_share",
]

WEBHOOK_ENV = "LEADFLOW_ALERT_WEBHOOK"
SHARE_ENV = "LEADFLOW_ALERT_REJECTED_SHARE"
DEFAULT_SHARE = 0.2
_REFUSED = ("rejected", "vendor_rejected")

log = logging.getLogger("leadflow.alerts")


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: what a log may say of a webhook URL (its user, password,
    path and query may each be the secret)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and when a run's rejected share calls for one."""

    webhook: str | None = None
    rejected_share: float = DEFAULT_SHARE
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5
    """Seconds before the second attempt, doubled before each next one."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        """From ``LEADFLOW_ALERT_*``; a threshold that is not a number in [0, 1] is logged and
        replaced by the default (a run never fails for its alerting)."""
        env = os.environ if environ is None else environ
        webhook = env.get(WEBHOOK_ENV, "").strip() or None
        if webhook and urlsplit(webhook).scheme not in ("http", "https"):
            log.warning("%s is not an http(s) URL (%s): no webhook alerts", WEBHOOK_ENV, redact_url(webhook))
            webhook = None
        raw = env.get(SHARE_ENV, "").strip()
        share = DEFAULT_SHARE
        if raw:
            try:
                share = float(raw)
                if not 0.0 <= share <= 1.0:
                    raise ValueError(raw)
            except ValueError:
                log.warning(
                    "%s=%r is not a fraction between 0 and 1: using %s", SHARE_ENV, raw, DEFAULT_SHARE
                )
                share = DEFAULT_SHARE
        return cls(webhook=webhook, rejected_share=share)


def rejected_share(summary: Mapping[str, Any]) -> tuple[float, str | None]:
    """The highest share of a target's leads rejected (by our checks or by the vendor), and
    that target; (0, None) for a run without leads. A file's empty rows (``ROW_EMPTY``, always
    rejected) are left out of both counts: a clean export with Excel's trailing ``,,,`` rows
    is not a file of bad leads."""
    worst: tuple[float, str | None] = (0.0, None)
    for name, target in summary.get("targets", {}).items():
        empty = int(target.get("reasons", {}).get(Issue.ROW_EMPTY.value, 0))
        total = int(target.get("total", 0)) - empty
        if total > 0:
            refused = sum(int(target["statuses"].get(s, 0)) for s in _REFUSED) - empty
            share = refused / total
            worst = max(worst, (share, name), key=lambda pair: pair[0])
    return worst


def alert_payload(
    *,
    run_id: str | None,
    source: str,
    summary: Mapping[str, Any] | None,
    settings: AlertSettings,
    report: str | None = None,
    error: BaseException | None = None,
    flow_run_id: str | None = None,
) -> dict[str, Any] | None:
    """The JSON an alert posts about one run, or None when the run needs nobody.

    ``summary`` is the run's (flows.importer / import_leads); None with ``error`` for a run
    that ended before it had one (a bad file: exit code 1). Counts and codes only."""
    reasons: list[str] = []
    counts: dict[str, Any] = {}
    share, worst = 0.0, None
    rows = None
    if summary is None:
        code = int(ExitCode.USER_ERROR)
        verdict = _error_text(error)
        reasons.append("failed")
    else:
        judged = judge(summary)
        code = int(judged.code)
        verdict = judged.problem() if not judged.ok else "sent"
        if not judged.ok:
            reasons.append("could_not_send")
        share, worst = rejected_share(summary)
        if share > settings.rejected_share:
            reasons.append("rejected_share")
        rows = summary.get("rows")
        counts = {name: dict(t["statuses"]) for name, t in summary.get("targets", {}).items()}
    if not reasons:
        return None
    return {
        "event": "leadflow.run_needs_attention",
        "reasons": reasons,
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "file": PurePath(source).name,
        "verdict": verdict,
        "exit_code": code,
        "rows": rows,
        "counts": counts,
        "rejected_share": round(share, 4),
        "rejected_share_target": worst,
        "rejected_share_threshold": settings.rejected_share,
        "report": report,
    }


def _error_text(error: BaseException | None) -> str:
    """A bad file's or targets file's own one-line message (the one the console prints: it
    names no cell value and no secret); of anything else only its type, since its text might
    carry what must not leave the machine."""
    from connectors.config_error import ConfigError
    from transforms.errors import LeadFileError

    if isinstance(error, LeadFileError | ConfigError):
        return str(error)
    return f"the run ended with {type(error).__name__}" if error is not None else "the run failed"


def _post(url: str, body: bytes, timeout: float) -> int:
    """One POST; a user and password in the URL go as Basic auth (urllib would take them for
    part of the host name)."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "User-Agent": "leadflow"}
    if parts.username is not None or parts.password is not None:
        login = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(login).decode("ascii")
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s)
        url, data=body, method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        status: int = response.status
        return status


def notify(
    payload: Mapping[str, Any] | None,
    settings: AlertSettings | None = None,
    logger: logging.Logger | logging.LoggerAdapter[Any] = log,
) -> bool:
    """POST ``payload`` to the configured webhook; whether it was taken (2xx). Nothing to send or
    no webhook: False, silently. Never raises: a failure is one warning line."""
    settings = settings or AlertSettings.from_env()
    if payload is None or not settings.webhook:
        return False
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    problem = ""
    for attempt in range(settings.attempts):
        if attempt:
            time.sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            status = _post(settings.webhook, body, settings.timeout)
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}"
            if 400 <= error.code < 500 and error.code not in (408, 429):
                break  # the receiver refuses this request: asking again gets the same answer
        except (OSError, ValueError) as error:  # URLError, timeouts, resets are OSErrors
            problem = type(getattr(error, "reason", error)).__name__
        else:
            if 200 <= status < 300:
                return True
            problem = f"HTTP {status}"
    logger.warning(
        "alert webhook %s not reached (%s, %d attempt(s)); the run's result is unchanged",
        redact_url(settings.webhook),
        problem,
        attempt + 1,
    )
    return False


def alert_run(
    *,
    run_id: str | None,
    source: str,
    summary: Mapping[str, Any] | None,
    report: str | None = None,
    error: BaseException | None = None,
    flow_run_id: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter[Any] = log,
) -> bool:
    """Post the run's alert when it needs one and a webhook is set; whether one was taken.
    The one call every entry point makes at the end of a run."""
    try:
        settings = AlertSettings.from_env()
        if not settings.webhook:
            return False
        payload = alert_payload(
            run_id=run_id,
            source=source,
            summary=summary,
            settings=settings,
            report=report,
            error=error,
            flow_run_id=flow_run_id,
        )
        return notify(payload, settings, logger)
    except Exception as failure:
        logger.warning("alert not sent: %s", type(failure).__name__)
        return False
