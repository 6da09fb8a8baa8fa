"""Peak memory of one target's run when the vendor answers a huge, endless or bomb body.

    .venv/bin/python bench/answer_memory.py --mb 200 --answer plain,gzip-bomb,endless

For each answer a fresh Python process sends 3 leads to an OBI target whose server (a raw socket
server in another process on 127.0.0.1, so its memory is not counted) answers the customer-list
request with ``--mb`` MB: ``plain`` (a Content-Length body of that size), ``gzip-bomb`` (gzip
that inflates to that size) or ``endless`` (a chunked body that never ends; the child is stopped
after ``--seconds``). Prints the child's peak RSS (``ru_maxrss``), its RSS before sending, how
the rows ended and the time taken. Run it against an older checkout (``PYTHONPATH``) to compare.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_SERVER = """
import asyncio, sys, zlib
size, answer = int(sys.argv[1]), sys.argv[2]
block = b"x" * 65536
def bomb():
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(size >> 20)), packer.flush()])
body = bomb() if answer == "gzip-bomb" else b""
async def serve(reader, writer):
    try:
        head = await reader.readuntil(b"\\r\\n\\r\\n")
        lines = head.lower().split(b"\\r\\n")
        await reader.readexactly(next((int(x[15:]) for x in lines if x.startswith(b"content-length:")), 0))
        if answer == "plain":
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % size)
            for start in range(0, size, len(block)):
                writer.write(block[: size - start]); await writer.drain()
        elif answer == "gzip-bomb":
            head = b"HTTP/1.1 200 OK\\r\\nContent-Encoding: gzip\\r\\nContent-Length: %d\\r\\n\\r\\n"
            writer.write(head % len(body) + body)
            await writer.drain()
        else:
            writer.write(b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n")
            while True:
                writer.write(b"%x\\r\\n" % len(block) + block + b"\\r\\n"); await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""

_CLIENT = """
import asyncio, json, resource, sys, tempfile, time
from pathlib import Path
from connectors.base import Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import dispatch
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
target = TargetConfig(name="obi", kind="sinch_obi", base_url=sys.argv[1], campaign="1", timeout=60,
                      retry=RetryPolicy(attempts=1))
connector = SinchObiConnector(target=target, secrets={"username": "u", "password": "secret-pw"})
leads = [Lead(i, f"m-{i}", "A", phones=(Phone(f"+4477009{i:05d}"),)) for i in range(1, 4)]
before = rss_mb()
started = time.monotonic()
with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "l.sqlite") as ledger:
    try:
        rows = asyncio.run(dispatch(connector, leads, ledger=ledger, run_id="m"))
        outcome = sorted({(r.status.value, *r.reasons) for r in rows})
    except BaseException as exc:
        outcome = [f"raised {type(exc).__name__}"]
print(json.dumps({"before_mb": before, "peak_mb": rss_mb(), "seconds": time.monotonic() - started,
                  "outcome": outcome}), flush=True)
"""


def measure(answer: str, size: int, seconds: float) -> dict[str, object]:
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(size), answer], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True
        )
        try:
            out, _ = client.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            peak = _peak_of(client.pid)
            client.kill()
            client.communicate()
            return {"outcome": [f"still running after {seconds:g}s"], "peak_mb": peak}
        result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
        return result
    finally:
        server.kill()
        server.wait()


def _peak_of(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            line = next(x for x in status if x.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=200, help="answer size in MB (default 200)")
    parser.add_argument("--answer", default="plain,gzip-bomb,endless")
    parser.add_argument("--seconds", type=float, default=30.0, help="give up on a client after this long")
    args = parser.parse_args()
    for answer in args.answer.split(","):
        started = time.monotonic()
        result = measure(answer, args.mb * 1_000_000, args.seconds)
        print(f"{answer:10} {args.mb} MB: {json.dumps(result)} ({time.monotonic() - started:.1f}s)")


if __name__ == "__main__":
    main()
