"""Benchmark of the ``/ws`` fan-out: a burst of outbox events to many WebSocket clients.

Not a test (nothing asserts a time): run it by hand and compare figures before and after a
change to ``api/outbox.py`` or ``api/routes/live.py``::

    .venv/bin/python -m weather_trader_tests.api.bench_fanout [--clients 200] [--events 3000]
        [--batch] [--full-parse] [--poll-interval S]

It migrates a SQLite file database in a temporary folder, serves the sidecar from it with
uvicorn on loopback in a child process (the real server, default settings unless overridden),
connects the clients (``websockets``, one process), appends the burst to the outbox in one
transaction through ``weather_trader.store.repo.append_event`` and measures, from the commit,
how long each client takes to receive every event. A client closed as a slow consumer
reconnects with its last event id, as the dashboard does; the reconnections are counted.

It prints the total drain time, the p50/p99 per-client completion time, events/s delivered,
the sidecar's CPU time over the burst, and whether any client missed, repeated or reordered
an event. ``--batch`` asks for ``?batch=true`` frames (JSON arrays of events). The clients
check frames without parsing them (count, first and last id) unless ``--full-parse``: one
Python process parsing 120 MB of JSON for 200 clients would otherwise measure itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import websockets

from weather_trader.store import repo
from weather_trader.store.db import make_engine, migrate, session_scope

DAY = date(2026, 1, 15)
EVENT_FIELDS = {"id", "created_at", "topic", "city", "climate_date", "payload"}
CLOSE_SLOW_CONSUMER = 1013


@dataclass
class Client:
    """What one WebSocket client received."""

    index: int
    ids: list[int] = field(default_factory=list)
    """Every id received (``--full-parse``); else only the last one."""
    received: int = 0
    out_of_sequence: int = 0
    """Frames whose ids did not continue the previous frame's without gap or repeat."""
    first_at: float | None = None
    done_at: float | None = None
    reconnects: int = 0
    error: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(database_url: str, home: str, port: int, poll_interval: float | None) -> None:
    """Child process: the sidecar under uvicorn on 127.0.0.1:``port``."""
    import uvicorn

    from api import ApiSettings, create_app

    values: dict[str, Any] = {"database_url": database_url, "home": Path(home)}
    if poll_interval is not None:
        values["poll_interval"] = poll_interval
    app = create_app(ApiSettings(**values))
    if os.environ.get("BENCH_PROFILE"):  # write a cProfile of the server to this file
        import cProfile
        import signal

        profile = cProfile.Profile()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            profile.runcall(uvicorn.run, app, host="127.0.0.1", port=port, log_level="warning")
        finally:
            profile.dump_stats(os.environ["BENCH_PROFILE"])
        return
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sidecar exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            if json.loads(_get(f"{base}/health"))["status"] == "ok":
                return
        time.sleep(0.1)
    raise TimeoutError("the sidecar did not become healthy")


def _session_cookie(database_url: str) -> str:
    """A user and a logged-in session in the benchmark's database: the clients' cookie."""
    from datetime import UTC, datetime, timedelta

    from api.security import SESSION_COOKIE, authenticate
    from weather_trader.core.passwords import hash_password
    from weather_trader.store import repo_users

    password = "benchmark password"
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            repo_users.add_user(session, "bench", hash_password(password), datetime.now(UTC))
        session_ = authenticate(engine, "bench", password, timedelta(hours=1))
    finally:
        engine.dispose()
    assert session_ is not None
    return f"{SESSION_COOKIE}={session_.token}"


def _metric(base: str, name: str) -> float:
    for line in _get(f"{base}/metrics").splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def append_burst(database_url: str, n: int) -> tuple[list[int], float]:
    """Append ``n`` events in one transaction; return their ids and the commit instant."""
    params = inspect.signature(repo.append_event).parameters
    needs_key = "key" in params  # another change may add an idempotency key
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            ids = []
            for i in range(n):
                extra: dict[str, Any] = {"key": f"bench-{os.getpid()}-{i}"} if needs_key else {}
                ids.append(
                    repo.append_event(
                        session,
                        "bench",
                        {"seq": i, "ticker": "KXHIGHNY-26JAN15-B45.5", "price": "0.42"},
                        city="NYC",
                        climate_date=DAY,
                        **extra,
                    )
                )
        committed = time.perf_counter()
    finally:
        engine.dispose()
    return ids, committed


_EVENT_START = b'{"id":'
"""How each event object in a frame starts (``EventOut`` serialises ``id`` first)."""


def _id_at(message: bytes, start: int) -> int:
    digits = start + len(_EVENT_START)
    return int(message[digits : message.index(b",", digits)])


def _ids(message: bytes, batch: bool, full_parse: bool) -> list[int]:
    """The ids in one frame: all of them with ``full_parse``, else its first and last.

    By default a frame is not parsed: its events are counted and its first and last ids read
    from the bytes, so that the benchmark (one Python process playing every client) does not
    hide the sidecar's cost. The burst's ids are consecutive, so a frame whose count and
    first and last ids continue the previous frame's is exactly the next events.
    ``full_parse`` parses and checks each frame as JSON instead.
    """
    if not full_parse:
        count = message.count(_EVENT_START)
        first = _id_at(message, message.index(_EVENT_START))
        last = _id_at(message, message.rindex(_EVENT_START))
        return [first, last] if last - first + 1 == count else [first, -1, last]
    data = json.loads(message)
    events = data if batch else [data]
    if not all(isinstance(e, dict) and set(e) == EVENT_FIELDS for e in events):
        raise ValueError("a frame holds something other than events")
    return [e["id"] for e in events]


async def _client(
    url: str,
    client: Client,
    last_id_wanted: int,
    ready: asyncio.Semaphore,
    args: argparse.Namespace,
) -> None:
    last_id = 0
    first = True
    while True:
        try:
            async with websockets.connect(
                f"{url}?last_event_id={last_id}" + ("&batch=true" if args.batch else ""),
                max_queue=None,
                compression=None,
                additional_headers={"Cookie": args.cookie},  # /ws needs a session
            ) as ws:
                if first:
                    ready.release()
                    first = False
                while True:
                    message = await ws.recv(decode=False)
                    if client.first_at is None:
                        client.first_at = time.perf_counter()
                    ids = _ids(message, args.batch, args.full_parse)
                    if args.full_parse:
                        client.ids += ids
                        client.received += len(ids)
                        in_sequence = ids == list(range(last_id + 1, last_id + 1 + len(ids)))
                    else:
                        client.received += ids[-1] - ids[0] + 1
                        in_sequence = len(ids) == 2 and ids[0] == last_id + 1
                    client.out_of_sequence += not in_sequence
                    last_id = ids[-1]
                    if last_id >= last_id_wanted:
                        client.done_at = time.perf_counter()
                        return
        except websockets.ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == CLOSE_SLOW_CONSUMER:
                client.reconnects += 1
                continue
            client.error = f"closed {exc.rcvd.code if exc.rcvd else '?'}"
            return
        except OSError as exc:
            client.error = type(exc).__name__
            return


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run(args: argparse.Namespace) -> int:
    """Start the sidecar, connect the clients, append the burst and report the figures."""
    with tempfile.TemporaryDirectory(prefix="bench_fanout_") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'domain.db'}"
        migrate(database_url)
        args.cookie = _session_cookie(database_url)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", __spec__.name if __spec__ else "bench_fanout"]
        command += ["--serve", database_url, "--home", tmp, "--port", str(port)]
        if args.poll_interval is not None:
            command += ["--poll-interval", str(args.poll_interval)]
        proc = subprocess.Popen(command)
        try:
            _wait_healthy(base, proc)
            return await _measure(args, base, database_url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server = resource.getrusage(resource.RUSAGE_CHILDREN)
            bench = resource.getrusage(resource.RUSAGE_SELF)
            print(
                f"CPU used (whole run): sidecar {server.ru_utime + server.ru_stime:.1f} s, "
                f"clients and writer {bench.ru_utime + bench.ru_stime:.1f} s; "
                f"load average {os.getloadavg()[0]:.1f}"
            )


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(args: argparse.Namespace, base: str, database_url: str, pid: int) -> int:
    url = base.replace("http", "ws", 1) + "/ws"
    clients = [Client(i) for i in range(args.clients)]
    ready = asyncio.Semaphore(0)
    # The database is empty: the burst gets ids 1..events (checked below).
    tasks = [asyncio.create_task(_client(url, c, args.events, ready, args)) for c in clients]
    for _ in clients:
        await asyncio.wait_for(ready.acquire(), 30)
    # Every client is subscribed once the sidecar counts them all and catch-up is over.
    deadline = time.monotonic() + 30
    while _metric(base, "weather_trader_websocket_clients") < args.clients:
        if time.monotonic() > deadline:
            raise TimeoutError("clients did not all connect")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)

    cpu_before = _cpu_seconds(pid)
    write_started = time.perf_counter()
    ids, committed = await asyncio.to_thread(append_burst, database_url, args.events)
    if ids != list(range(1, args.events + 1)):
        raise RuntimeError(f"unexpected ids {ids[0]}..{ids[-1]}")
    _, pending = await asyncio.wait(tasks, timeout=args.timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    sidecar_cpu = _cpu_seconds(pid) - cpu_before

    finished = [c.done_at - committed for c in clients if c.done_at is not None]
    incomplete = [c for c in clients if c.done_at is None]
    wrong = [
        c
        for c in clients
        if c.out_of_sequence or c.received != len(ids) or (args.full_parse and c.ids != ids)
    ]
    delivered = sum(c.received for c in clients)
    drain = max(finished) if finished and not incomplete else float("nan")
    mode = "batched frames (?batch=true)" if args.batch else "one frame per event"
    print(f"clients: {args.clients}  events: {args.events}  {mode}")
    print(f"burst write (one transaction): {committed - write_started:.3f} s")
    if finished:
        print(f"drain time (commit -> last client done): {drain:.3f} s")
        print(
            f"per-client completion: p50 {_percentile(finished, 0.5):.3f} s  "
            f"p99 {_percentile(finished, 0.99):.3f} s  max {max(finished):.3f} s"
        )
        first = [c.first_at - committed for c in clients if c.first_at is not None]
        print(
            f"first event: earliest client {min(first):.3f} s, "
            f"latest client {max(first):.3f} s after the commit"
        )
        print(f"delivered: {delivered} events, {delivered / max(finished):,.0f} events/s")
    print(f"sidecar CPU from the burst to the end of the drain: {sidecar_cpu:.2f} s")
    print(f"slow-consumer reconnects: {sum(c.reconnects for c in clients)}")
    print(f"clients not done after {args.timeout:.0f} s: {len(incomplete)}")
    errors = [c.error for c in clients if c.error]
    if errors:
        print(f"client errors: {len(errors)} (e.g. {errors[0]})")
    print(
        "missed/repeated/reordered events: "
        + ("none" if not wrong else f"{len(wrong)} clients did not receive exactly the burst")
    )
    return 0 if not wrong and not incomplete else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the benchmark (or, with ``--serve``, the sidecar)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument(
        "--batch", action="store_true", help="ask for JSON arrays of events (?batch=true)"
    )
    parser.add_argument(
        "--full-parse", action="store_true", help="parse every frame as JSON (slower client)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after (s)")
    parser.add_argument(
        "--poll-interval", type=float, default=None, help="sidecar poll interval (default: its own)"
    )
    parser.add_argument("--serve", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.home, args.port, args.poll_interval)
        return 0
    try:
        import uvloop  # the server's loop too (uvicorn picks it when installed)
    except ImportError:
        return asyncio.run(run(args))
    return uvloop.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
