from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.server import SandboxServer, main, vendor_lines

REPO = Path(__file__).resolve().parents[2]


def test_background_server_serves_every_vendor_on_loopback(live: SandboxServer) -> None:
    assert live.base_url.startswith("http://127.0.0.1:")
    vendors = httpx.get(f"{live.base_url}/_sandbox/vendors").json()
    for vendor in vendors:
        response = httpx.get(f"{live.base_url}{vendor['prefix']}/")
        assert response.status_code != 502


def test_vendor_lines_name_kind_url_and_credentials(live: SandboxServer) -> None:
    lines = vendor_lines(live.sandbox, "http://127.0.0.1:8765")
    obi = next(line for line in lines if line.startswith("sinch_obi"))
    assert obi.split() == ["sinch_obi", "http://127.0.0.1:8765/obi", "username=demo", "password=demo-secret"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_vendors_and_stops_cleanly(stop: signal.Signals) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", "4"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[0] == "sinch_obi"
        assert first[1].startswith("http://127.0.0.1:")
        assert httpx.get(first[1] + "/campaigns", auth=("demo", "demo-secret")).status_code == 200
        started = time.monotonic()
        proc.send_signal(stop)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5


def test_cli_refuses_a_bad_fault_file(tmp_path: Path) -> None:
    bad = tmp_path / "faults.json"
    bad.write_text('{"vendors": {"onc": {"*": {"rate_500": 3}}}}')
    assert main(["--faults", str(bad)]) == 1


def test_cli_on_a_port_in_use_is_one_error_line_not_a_traceback(live: SandboxServer) -> None:
    port = live.base_url.rsplit(":", 1)[1]

    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", port],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"Error: cannot listen on 127.0.0.1:{port} (Address already in use): another program, maybe "
        "another leadflow sandbox, has it; give --port another port, or 0 for any free one"
    )
