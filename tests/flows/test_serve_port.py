"""``leadflow serve``'s local Prefect server keeps its port across restarts: the default (or
``--port``) when free, a free port said on stderr when the default is taken, an error naming a
port asked for with ``--port`` that is taken. Real sockets: another program listens on the port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.local_server import DEFAULT_PORT, LocalServerError, choose_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another program is listening on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield other.getsockname()[1]


def _free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_default_port_is_prefects_usual_one_and_kept_when_free() -> None:
    assert DEFAULT_PORT == 4200
    port = _free()
    assert choose_port(port) == port
    assert choose_port(port) == port  # again, as on a restart: the same port


def test_a_port_left_by_a_stopped_server_is_reused_on_restart() -> None:
    port = _free()
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its port waits in TIME_WAIT
        client.close()
    assert choose_port(port) == port


def test_a_taken_default_port_falls_back_to_a_free_one_and_says_so(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = choose_port(taken_port)

    assert chosen != taken_port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", chosen))
    message = capsys.readouterr().err
    assert f"Port {taken_port} on 127.0.0.1 is taken" in message and f"uses port {chosen}" in message
    assert "--port" in message


def test_a_taken_port_asked_for_with_port_is_an_error_naming_it(taken_port: int) -> None:
    with pytest.raises(LocalServerError, match=rf"port {taken_port} on 127.0.0.1 is taken.*--port"):
        choose_port(taken_port, explicit=True)


def test_serve_refuses_a_taken_port_given_with_port_before_serving(
    taken_port: int, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from flows.commands.serve import main

    assert main([str(tmp_path / "watched"), "--port", str(taken_port)]) == 1
    assert f"port {taken_port} on 127.0.0.1 is taken" in capsys.readouterr().err


def test_serve_refuses_a_root_that_is_a_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.commands.serve import main

    not_a_folder = tmp_path / "leads.csv"
    not_a_folder.write_text("phone\n+4930123456\n", encoding="utf-8")

    assert main([str(not_a_folder)]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"Error: {not_a_folder}: the watched folders cannot be made there")
    assert "--runs-port" not in line
