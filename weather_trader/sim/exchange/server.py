"""Running the local exchange: in the foreground (``weather-trader exchange serve``) or in a
background thread on a free loopback port (tests, the offline demo)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from weather_trader.sim.exchange.app import ExchangeState, create_exchange_app

WS_PING_INTERVAL = 10.0  # Kalshi sends a heartbeat ping every 10 s


class ExchangeServerError(RuntimeError):
    """The exchange server did not start."""


class _DenialNoise(logging.Filter):
    """Drop uvicorn's spurious error after a WebSocket handshake denial (HTTP 401).

    uvicorn's sans-io WebSocket protocol does not count a denial response as a completed
    handshake and logs "ASGI callable returned without completing handshake." although the
    401 was sent. The exchange always accepts or denies, so the line is noise here.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


_FILTER = _DenialNoise()


def _config(state: ExchangeState, host: str, port: int) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_FILTER)
    return uvicorn.Config(
        create_exchange_app(state),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ws_ping_interval=WS_PING_INTERVAL,
        ws_ping_timeout=WS_PING_INTERVAL * 2,
        lifespan="on",
    )


def serve(state: ExchangeState, host: str = "127.0.0.1", port: int = 8100) -> None:
    """Serve the exchange until interrupted."""
    uvicorn.Server(_config(state, host, port)).run()


@contextlib.contextmanager
def run_exchange_in_thread(
    state: ExchangeState,
    host: str = "127.0.0.1",
    startup_timeout: float = 30.0,  # the first sync of a long history is slow on a busy machine
) -> Iterator[str]:
    """Serve the exchange on a free port of ``host`` in a background thread.

    Yields:
        The base URL (``http://127.0.0.1:PORT``); REST lives under ``/trade-api/v2`` and the
        WebSocket at ``ws://127.0.0.1:PORT/trade-api/ws/v2``.

    Raises:
        ExchangeServerError: If the server does not come up within ``startup_timeout``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_config(state, host, port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"exchange:{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ExchangeServerError(f"the exchange did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def throwaway_exchange_api(seed: int) -> Iterator[str]:
    """A local exchange kept in memory (no home) and served on loopback for the duration, for
    reads that need no state (discovering the series); a running dev exchange keeps its own.

    Yields:
        Its REST base URL (``http://127.0.0.1:PORT/trade-api/v2``).
    """
    state = ExchangeState.create(home=None, seed=seed)
    try:
        with run_exchange_in_thread(state) as origin:
            yield f"{origin}/trade-api/v2"
    finally:
        state.close()
