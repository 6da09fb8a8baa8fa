"""Run folders on a local path, a ``file://`` URL or any fsspec URL (``memory://`` here; s3:// the same way).

``leadflow import --out`` and ``leadflow validate --out`` take the same: a ``file://`` URL, ``memory://``,
and ``s3://`` on moto's S3-compatible server (dev extras ``moto[server]`` and ``s3fs``; skipped, saying
so, where they are not installed).
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import polars as pl
import pytest
from rich.console import Console

from connectors.config import ConfigError
from flows.commands.import_file import main as import_main
from flows.commands.validate import main as validate_main
from flows.import_leads import import_leads
from flows.run.store import is_remote, local_folder, publish_run
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


# --- `leadflow import --out URL` and `leadflow validate --out URL`, as the flow takes them -------


def _cli(main: Callable[..., int], *argv: str) -> tuple[int, str]:
    buffer = io.StringIO()
    code = main(list(argv), console=Console(file=buffer, width=400))
    return code, buffer.getvalue()


@pytest.mark.slow
def test_leadflow_import_writes_its_run_folder_and_ledger_in_a_folder_given_as_a_file_url(
    vendors: Vendors, lead_file: Callable[..., Path], obi_targets: Path, tmp_path: Path
) -> None:
    share = tmp_path / "share" / "my runs"

    code, said = _cli(import_main, str(lead_file(12)), "--targets", str(obi_targets), "--out", share.as_uri())

    assert code == 0, said
    (run_dir,) = [p for p in share.iterdir() if p.is_dir()]
    assert pl.read_parquet(run_dir / "results" / "*" / "*.parquet").height == 12
    assert (run_dir / "summary.json").is_file() and (run_dir / "report.html").is_file()
    assert (share / "ledger.sqlite").is_file()
    assert f"Results: {run_dir}/results" in said


def test_leadflow_import_to_a_url_without_a_ledger_is_refused_in_one_line_before_sending(
    vendors: Vendors, lead_file: Callable[..., Path], obi_targets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADFLOW_LEDGER", raising=False)

    code, said = _cli(
        import_main, str(lead_file(3)), "--targets", str(obi_targets), "--out", "memory://x/runs"
    )

    assert code == 1
    assert said.startswith("Error: the output memory://x/runs is not a folder of this machine"), said
    assert "Traceback" not in said
    assert vendors.obi_customers() == []


@pytest.mark.slow
def test_leadflow_import_and_validate_write_their_run_folders_through_fsspec(
    vendors: Vendors, lead_file: Callable[..., Path], obi_targets: Path, tmp_path: Path
) -> None:
    out = f"memory://cli-{secrets.token_hex(4)}/runs"
    leads = str(lead_file(15))
    fs = fsspec.filesystem("memory")

    code, said = _cli(
        import_main,
        leads,
        "--targets",
        str(obi_targets),
        "--out",
        out,
        "--ledger",
        str(tmp_path / "l.sqlite"),
    )
    checked, shown = _cli(validate_main, leads, "--out", out)

    assert (code, checked) == (0, 0), said + shown
    runs = sorted(fs.ls(out, detail=False))
    assert len(runs) == 2
    for run in runs:
        results = pl.read_parquet(io.BytesIO(fs.cat_file(fs.glob(f"{run}/results/*/part-0.parquet")[0])))
        assert results.height == 15
        assert json.loads(fs.cat_file(f"{run}/summary.json"))["rows"] == 15
    assert {f"Results: memory:/{run}/results" for run in runs} <= set((said + shown).splitlines()), said
    assert len(vendors.obi_customers()) > 0


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1, with s3fs pointed at it; its endpoint URL."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] (a dev extra) is not installed")
    pytest.importorskip("s3fs", reason="s3fs (a dev extra) is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    fsspec.filesystem("s3").clear_instance_cache()
    try:
        yield endpoint
    finally:
        fsspec.filesystem("s3").clear_instance_cache()
        server.stop()


@pytest.mark.slow
def test_leadflow_import_writes_its_run_folder_to_an_s3_compatible_server(
    s3_server: str, vendors: Vendors, lead_file: Callable[..., Path], obi_targets: Path, tmp_path: Path
) -> None:
    import boto3

    bucket = boto3.client("s3", endpoint_url=s3_server)
    bucket.create_bucket(Bucket="leadflow")
    out = "s3://leadflow/runs"

    code, said = _cli(
        import_main,
        str(lead_file(14)),
        "--targets",
        str(obi_targets),
        "--out",
        out,
        "--ledger",
        str(tmp_path / "l"),
    )

    assert code == 0, said
    listed = bucket.list_objects_v2(Bucket="leadflow", Prefix="runs/")["Contents"]
    keys = sorted(item["Key"] for item in listed)
    (run_id,) = {key.split("/")[1] for key in keys}
    assert keys == sorted(
        f"runs/{run_id}/{name}"
        for name in ("results/target=obi/part-0.parquet", "run.json", "report.html", "summary.json")
    )
    parquet = bucket.get_object(Bucket="leadflow", Key=f"runs/{run_id}/results/target=obi/part-0.parquet")
    assert pl.read_parquet(io.BytesIO(parquet["Body"].read())).height == 14
    summary = bucket.get_object(Bucket="leadflow", Key=f"runs/{run_id}/summary.json")
    assert json.loads(summary["Body"].read())["rows"] == 14
    assert f"Results: {out}/{run_id}/results" in said


@pytest.mark.slow
def test_a_run_folder_the_store_cannot_take_is_kept_locally_and_the_error_says_where(
    vendors: Vendors,
    lead_file: Callable[..., Path],
    obi_targets: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("s3fs", reason="s3fs (a dev extra) is not installed")
    with socket.socket() as probe:  # a port nothing listens on: the store is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    fsspec.filesystem("s3").clear_instance_cache()
    out = "s3://leadflow/runs"
    leads, ledger = str(lead_file(5)), str(tmp_path / "l.sqlite")

    code, said = _cli(import_main, leads, "--targets", str(obi_targets), "--out", out, "--ledger", ledger)

    fsspec.filesystem("s3").clear_instance_cache()
    assert code == 1, said
    line = next(line for line in said.splitlines() if line.startswith("Error:"))
    assert line.startswith(f"Error: the run folder could not be written to {out} ("), line
    kept = Path(line.split("it is kept at ", 1)[1].split(": copy it", 1)[0])
    assert pl.read_parquet(kept / "results" / "*" / "*.parquet").height == 5
    assert (kept / "summary.json").is_file()
    assert "Traceback" not in said and "testing" not in said
    assert len(vendors.obi_customers()) > 0  # sent, and the verdict says so after the error
    shutil.rmtree(kept.parent)
