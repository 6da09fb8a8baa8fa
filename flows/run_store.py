"""Where a run folder goes: a local path, or any fsspec URL (``s3://bucket/runs``, ``memory://runs``).

Workers on different machines write their run folders where the analyst reads them. A local
path (or ``file://`` URL) is written in place, each file atomically (transforms.outputs). Any
other URL: the run folder is written to a local staging folder first (the HTML report is
rendered from the written results, as for a local run), then copied file by file through fsspec,
results first and ``summary.json`` last, so a reader that sees the summary sees a whole run.
fsspec comes with Prefect; a protocol's own package (s3fs for ``s3://``, gcsfs, adlfs) must be
installed on the workers.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import fsspec  # type: ignore[import-untyped]

__all__ = ["is_remote", "local_folder", "publish_run"]

_LAST = ("run.json", "report.html", "summary.json")
"""Copied after the results, in this order: summary.json, the sign of a finished run, last."""


def is_remote(out: str) -> bool:
    """Whether ``out`` is a URL of a file system other than this machine's."""
    scheme = urlsplit(out).scheme
    return "://" in out and scheme not in ("", "file")


def local_folder(out: str) -> Path:
    """The local folder of ``out``: a plain path, or a ``file://`` URL's path."""
    if out.startswith("file://"):
        return Path(unquote(urlsplit(out).path))
    return Path(out)


def _order(relative: str) -> tuple[int, str]:
    return (_LAST.index(relative) + 1 if relative in _LAST else 0, relative)


def publish_run(run_dir: Path, out: str) -> str:
    """Copy the local run folder ``run_dir`` to ``<out>/<run_id>``; returns that folder's URL."""
    fs, root = fsspec.core.url_to_fs(out)
    target = f"{root.rstrip('/')}/{run_dir.name}"
    files = sorted(
        (path.relative_to(run_dir).as_posix() for path in run_dir.rglob("*") if path.is_file()), key=_order
    )
    for relative in files:
        destination = f"{target}/{relative}"
        fs.makedirs(destination.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(run_dir / relative), destination)
    return f"{out.rstrip('/')}/{run_dir.name}"
