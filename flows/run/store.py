"""Where a run folder goes: a local path, or any fsspec URL (``s3://bucket/runs``, ``memory://runs``).

Workers on different machines write their run folders where the analyst reads them. A local
path (or ``file://`` URL) is written in place, each file atomically (transforms.outputs). Any
other URL: the run folder is written to a local staging folder first (the HTML report is
rendered from the written results, as for a local run), then copied file by file through fsspec,
results first and ``summary.json`` last, so a reader that sees the summary sees a whole run.
fsspec comes with Prefect; a protocol's own package (s3fs for ``s3://``, gcsfs, adlfs) must be
installed on the workers.

``run_output(out)`` gives every writer of run folders (``leadflow import``, ``leadflow validate``,
the ``import_leads`` flow) the same two steps: write the run folder in ``output.folder`` (the
local folder, or a staging folder), then ``output.publish(run_dir)`` (nothing to do locally).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from connectors.config_error import ConfigError

__all__ = [
    "RunNotPublished",
    "RunNotWritten",
    "RunOutput",
    "is_remote",
    "local_folder",
    "publish_run",
    "run_output",
    "writing_run",
]

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
    import fsspec  # type: ignore[import-untyped]  # 0.15 s of start-up (asyncio, its back ends): only for a URL

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


class RunNotWritten(ConfigError):
    """The run folder could not be written: a full disk or quota, no permission, a read-only
    file system. Not a bad file, nor a bug: one line names the folder and the system's reason
    (no traceback), and what is left of the folder is removed (:func:`writing_run`): half a run
    folder, results without run.json or a summary, would read as a run that was not."""

    def __init__(self, run_dir: Path, error: OSError) -> None:
        self.run_dir = run_dir
        self.error = error
        # the system's words for the error number: pyarrow's own text wraps them in its detail
        reason = os.strerror(error.errno) if error.errno is not None else str(error)
        name = errno.errorcode.get(error.errno) if error.errno is not None else None
        code = f", {name}" if name else ""
        super().__init__(
            f"cannot write the run folder {run_dir} ({reason}{code}), so none was kept. "
            f"{_FIXES.get(error.errno or 0, _FIX)}, then run the same command again"
        )


_FIX = "Check that folder, or give --out another one"
_FIXES = {
    errno.ENOSPC: "Free space there or give --out a folder on another disk",
    errno.EDQUOT: "Free space within your quota there or give --out a folder on another disk",
    errno.EFBIG: "Give --out a folder on a file system that takes larger files",
    errno.EACCES: "Give --out a folder this user may write to, or change that folder's permissions",
    errno.EPERM: "Give --out a folder this user may write to, or change that folder's permissions",
    errno.EROFS: "Give --out a folder on a file system that is not read-only",
}
"""What to do, by the error's number (RunNotWritten's message)."""


@contextmanager
def writing_run(run_dir: Path) -> Iterator[None]:
    """Turn a write's ``OSError`` into :class:`RunNotWritten` (once: a nested one passes), and
    remove the run folder's files so far. Only around writes: an ``OSError`` reading the lead
    file is the file's (transforms.errors)."""
    try:
        yield
    except RunNotWritten:
        raise
    except OSError as error:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise RunNotWritten(run_dir, error) from error


class RunNotPublished(ConfigError):
    """A run folder could not be copied to its URL (wrong bucket, no credentials, the store
    down); the staged copy is kept, and the message says where."""


@dataclass
class RunOutput:
    """Where a run folder is written (``folder``, local) and where it ends up (``out``)."""

    out: str
    folder: Path
    keep: bool = False
    """Whether the staging folder outlives the run (set when publishing failed)."""

    @property
    def remote(self) -> bool:
        return is_remote(self.out)

    def publish(self, run_dir: Path) -> str:
        """The run folder's final place: itself when local, else its copy at ``out``
        (publish_run); ``RunNotPublished`` when the copy failed."""
        if not self.remote:
            return str(run_dir)
        try:
            return publish_run(run_dir, self.out)
        except Exception as error:  # any fsspec back end's own errors, credentials included
            self.keep = True
            said = " ".join(str(error).split())[:300]
            raise RunNotPublished(
                f"the run folder could not be written to {self.out} ({type(error).__name__}: {said}); "
                f"it is kept at {run_dir}: copy it there once the cause is fixed"
            ) from None


@contextmanager
def run_output(out: str | Path) -> Iterator[RunOutput]:
    """The local folder to write a run folder in for ``out``: the folder itself (a path or a
    ``file://`` URL), or for any other URL a staging folder, removed on exit unless publishing
    it failed. Call ``publish`` before exit."""
    out = str(out)
    if not is_remote(out):
        yield RunOutput(out, local_folder(out))
        return
    output = RunOutput(out, Path(tempfile.mkdtemp(prefix="leadflow-run-")))
    try:
        yield output
    finally:
        if not output.keep:
            shutil.rmtree(output.folder, ignore_errors=True)
