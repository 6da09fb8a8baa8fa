"""``leadflow serve`` serves the run folders read-only on 127.0.0.1 so artifacts can link reports:
on a stable port (a free one, said, when the default is taken; an error for a taken
``--runs-port``), files under the root only, and links only for run folders under it."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.run import served
from flows.run.served import RUNS_ROOT_ENV, RUNS_URL_ENV, report_url, serve_runs


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield other.getsockname()[1]


def test_a_taken_default_port_falls_back_to_a_free_one_and_says_so(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(served, "DEFAULT_RUNS_PORT", taken_port)

    with serve_runs(tmp_path) as url:
        assert not url.endswith(f":{taken_port}/")
    assert f"Port {taken_port} on 127.0.0.1 is taken" in capsys.readouterr().err


def test_a_taken_runs_port_asked_for_is_an_error(tmp_path: Path, taken_port: int) -> None:
    with pytest.raises(OSError), serve_runs(tmp_path, taken_port):
        pass


def test_only_files_under_the_root_are_served_and_the_environment_is_restored(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (root / "r1").mkdir(parents=True)
    (root / "r1" / "report.html").write_text("<html>report</html>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")

    with serve_runs(root, 0) as url:
        assert report_url(root / "r1") == f"{url}r1/report.html"
        page = httpx.get(f"{url}r1/report.html", timeout=30)
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", "/../secret.txt")  # sent as is, not normalized by a client
        escaped = connection.getresponse()
        connection.close()
        deleted = httpx.delete(f"{url}r1/report.html", timeout=30)

    assert page.status_code == 200 and page.text == "<html>report</html>"
    assert escaped.status == 404
    assert deleted.status_code == 501 and (root / "r1" / "report.html").exists()
    assert report_url(root / "r1") is None


def test_a_run_folder_outside_the_served_root_or_remote_gets_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUNS_URL_ENV, "http://127.0.0.1:4201/")
    monkeypatch.setenv(RUNS_ROOT_ENV, str(tmp_path / "runs"))

    assert report_url(tmp_path / "runs" / "a b") == "http://127.0.0.1:4201/a%20b/report.html"
    assert report_url(tmp_path / "elsewhere" / "r1") is None
    assert report_url("s3://bucket/runs/r1") is None
