"""Run folders on a local path, a ``file://`` URL or any fsspec URL (``memory://`` here; s3:// the same way).

moto's S3 server is not installed in the project's environment, so S3 itself is not exercised:
``memory://`` goes through the same fsspec calls.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import polars as pl
import pytest

from connectors.config import ConfigError
from flows.import_leads import import_leads
from flows.run_store import is_remote, local_folder, publish_run
from tests.flows.conftest import Vendors, write_targets


@pytest.mark.parametrize(
    ("out", "remote"),
    [("runs", False), ("/srv/share/runs", False), ("file:///srv/share/runs", False), ("s3://b/runs", True)],
)
def test_only_urls_of_other_file_systems_are_remote(out: str, remote: bool) -> None:
    assert is_remote(out) is remote


def test_a_file_url_is_its_local_folder() -> None:
    assert local_folder("file:///srv/share/my%20runs") == Path("/srv/share/my runs")


def test_publishing_copies_every_file_of_the_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "20261204T000000Z-abcdef"
    (run / "results" / "target=a").mkdir(parents=True)
    files = {
        "results/target=a/part-0.parquet": b"PAR1",
        "run.json": b"{}",
        "report.html": b"<html>",
        "summary.json": b"{}",
    }
    for name, data in files.items():
        (run / name).write_bytes(data)
    out = f"memory://publish-{secrets.token_hex(4)}"

    url = publish_run(run, out)

    assert url == f"{out}/{run.name}"
    fs = fsspec.filesystem("memory")
    assert {name: fs.cat_file(f"{url}/{name}") for name in files} == files


@pytest.fixture
def obi_targets(tmp_path: Path) -> Path:
    return write_targets(tmp_path / "targets.toml", only=("obi",))


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_import_writes_its_run_folder_through_fsspec(
    vendors: Vendors, lead_file: Callable[..., Path], obi_targets: Path, tmp_path: Path
) -> None:
    out = f"memory://runs-{secrets.token_hex(4)}"
    leads = lead_file(30)

    summary = import_leads(str(leads), str(obi_targets), out_dir=out, ledger=str(tmp_path / "ledger.sqlite"))

    assert isinstance(summary, dict)
    run_dir = summary["run_dir"]
    assert run_dir.startswith(f"{out}/")
    fs = fsspec.filesystem("memory")
    results = pl.read_parquet(io.BytesIO(fs.cat_file(f"{run_dir}/results/target=obi/part-0.parquet")))
    assert results.height == 30
    assert json.loads(fs.cat_file(f"{run_dir}/summary.json"))["rows"] == 30
    assert json.loads(fs.cat_file(f"{run_dir}/run.json"))["run_id"] == summary["run_id"]
    assert b"<html" in fs.cat_file(f"{run_dir}/report.html")
    assert len(vendors.obi_customers()) > 0


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_import_into_a_shared_folder_given_as_a_file_url(
    vendors: Vendors, lead_file: Callable[..., Path], obi_targets: Path, tmp_path: Path
) -> None:
    share = tmp_path / "share" / "runs"

    summary = import_leads(str(lead_file(10)), str(obi_targets), out_dir=share.as_uri())

    assert isinstance(summary, dict)
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == share
    assert (run_dir / "summary.json").is_file() and (run_dir / "report.html").is_file()


def test_a_remote_run_folder_needs_the_ledger_given(
    obi_targets: Path, lead_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADFLOW_LEDGER", raising=False)
    with pytest.raises(ConfigError, match="give the ledger"):
        import_leads.fn(str(lead_file(3)), str(obi_targets), out_dir="memory://nowhere")
