"""The ``weather-trader`` command: demo, dev servers, the sidecar and database migration."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from weather_trader import cli_backtest, cli_cities, cli_evaluate, cli_history, cli_users
from weather_trader.settings import Settings, SettingsError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_EXCHANGE_PORT = 8100


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``weather-trader`` console script."""
    parser = argparse.ArgumentParser(prog="weather-trader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="replay the last N climate days offline and summarise")
    demo.add_argument("--days", type=int, default=14, help="climate days to trade (default 14)")
    demo.add_argument(
        "--history-days",
        type=int,
        default=365,
        help="archive days the models train on (a year: every season's biases)",
    )
    commands.add_parser("dev", help="Dagster UI + daemon on :3000 and the sidecar on :8000")
    commands.add_parser("migrate", help="create or upgrade the domain database")
    commands.add_parser(
        "feed", help="record Kalshi books and trades from the WebSocket into the database"
    )
    exchange = commands.add_parser("exchange", help="the local Kalshi-compatible exchange (sim)")
    exchange_commands = exchange.add_subparsers(dest="exchange_command", required=True)
    exchange_serve = exchange_commands.add_parser(
        "serve", help="serve Kalshi's REST + WebSocket API over the simulated market"
    )
    exchange_serve.add_argument("--host", default="127.0.0.1")
    exchange_serve.add_argument("--port", type=int, default=8100)
    exchange_serve.add_argument(
        "--seed", type=int, default=None, help="sim world seed (default WEATHER_TRADER_SIM_SEED)"
    )
    add_key = exchange_commands.add_parser("add-key", help="register an API key's public key")
    add_key.add_argument("key_id")
    add_key.add_argument("public_key_pem", type=Path, help="file with the RSA public key (PEM)")
    create_key = exchange_commands.add_parser(
        "create-key", help="make an RSA key pair; the private key goes to a 0600 file"
    )
    create_key.add_argument(
        "--out", type=Path, default=None, help="private key file (default in the exchange home)"
    )
    cli_backtest.add_arguments(commands)
    cli_cities.add_arguments(commands)
    cli_evaluate.add_arguments(commands)
    cli_history.add_arguments(commands)
    cli_users.add_arguments(commands)
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"weather-trader: {exc}", file=sys.stderr)
        return 2
    if args.command == "demo":
        from weather_trader.demo import run_demo

        return run_demo(settings, days=args.days, history_days=args.history_days)
    if args.command == "dev":
        return _dev(settings)
    if args.command == "backtest":
        return cli_backtest.run(settings, args)
    if args.command == "cities":
        return cli_cities.run(settings, args)
    if args.command == "evaluate":
        return cli_evaluate.run(settings, args)
    if args.command == "history":
        return cli_history.run(settings, args)
    if args.command in ("users", "kalshi-key"):
        return cli_users.run(settings, args)
    if args.command == "exchange":
        return _exchange(settings, args)
    if args.command == "feed":
        return _feed(settings)
    from sqlalchemy import make_url

    from weather_trader.store.db import migrate

    migrate(settings.resolved_database_url)
    shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    print(f"domain database at {shown} is up to date")
    return 0


def _exchange(settings: Settings, args: argparse.Namespace) -> int:
    """The ``exchange`` sub-commands: serve, add-key, create-key."""
    import uuid

    from weather_trader.kalshi_signing import KalshiKeyError
    from weather_trader.sim.exchange.keys import KeyStore, KeyStoreError
    from weather_trader.sim.exchange.keys import create_key as make_key

    home = settings.resolved_home / "exchange"
    if args.exchange_command == "serve":
        from weather_trader.sim.exchange import ExchangeState, serve

        seed = settings.sim_seed if args.seed is None else args.seed
        state = ExchangeState.create(home=home, seed=seed)
        base = f"{args.host}:{args.port}"
        print(f"exchange: http://{base}/trade-api/v2  ws://{base}/trade-api/ws/v2  (seed {seed})")
        serve(state, host=args.host, port=args.port)
        return 0
    keys = KeyStore(home / "keys")
    try:
        if args.exchange_command == "add-key":
            keys.register(args.key_id, args.public_key_pem.read_bytes())
            print(f"registered API key {args.key_id}")
            return 0
        key_id = str(uuid.uuid4())
        path = args.out or home / "private" / f"{key_id}.pem"
        make_key(keys, path, key_id)
    except (KeyStoreError, KalshiKeyError, OSError) as exc:
        print(f"weather-trader: {exc}", file=sys.stderr)
        return 2
    print(f"key id: {key_id}")
    print(f"private key: {path}")
    return 0


def _feed(settings: Settings) -> int:
    """Record books and trades until Ctrl-C."""
    import asyncio
    import logging

    from weather_trader.kalshi_signing import KalshiKeyError
    from weather_trader.market_recorder import run_feed, websocket_url
    from weather_trader.sources.kalshi.auth import KalshiCredentials
    from weather_trader.sources.kalshi.rest import KalshiClient
    from weather_trader.sources.kalshi.ws import KalshiWebSocket
    from weather_trader.store.db import make_engine, migrate

    api_url = settings.resolved_kalshi_api_url
    if api_url is None or not (settings.kalshi_key_id and settings.kalshi_private_key_path):
        print(
            "weather-trader: the feed needs KALSHI_API_URL (in sim mode, the local exchange), "
            "KALSHI_KEY_ID and KALSHI_PRIVATE_KEY_PATH (Kalshi signs every WebSocket)",
            file=sys.stderr,
        )
        return 2
    passphrase = settings.kalshi_private_key_passphrase
    try:
        credentials = KalshiCredentials.from_file(
            settings.kalshi_key_id,
            settings.kalshi_private_key_path,
            passphrase.get_secret_value() if passphrase else None,
        )
    except KalshiKeyError as exc:
        print(f"weather-trader: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    ws_url = websocket_url(api_url)
    print(f"feed: {api_url} -> {ws_url}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_feed(
                KalshiClient(api_url, credentials),
                lambda subs: KalshiWebSocket(ws_url, credentials, subs),
                engine,
            )
        )
    return 0


def _local_exchange_env(settings: Settings) -> dict[str, str]:
    """Settings that point everything at the local exchange, with a key registered on it."""
    from weather_trader.sim.exchange.keys import local_key

    key_id, key_path = local_key(settings.resolved_home / "exchange")
    return {
        "KALSHI_API_URL": f"http://127.0.0.1:{DEV_EXCHANGE_PORT}/trade-api/v2",
        "KALSHI_KEY_ID": key_id,
        "KALSHI_PRIVATE_KEY_PATH": str(key_path),
    }


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_TIMEOUT_SECONDS = 20


class _Stop(Exception):
    """A stop signal arrived."""


def _dev(settings: Settings) -> int:
    """Run Dagster (webserver + daemon), the sidecar and the feed (in sim mode with the local
    exchange) until one exits or a stop signal (SIGTERM, SIGINT, SIGHUP) arrives; then stop
    them all."""
    from weather_trader.home import prepare_home
    from weather_trader.store.db import migrate

    prepare_home(settings)
    migrate(settings.resolved_database_url)  # once, before the processes that use it start
    processes: list[subprocess.Popen] = []

    def stop(signum: int, frame: object) -> None:
        raise _Stop(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    stopped = False
    try:
        _start_dev_processes(settings, processes)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except _Stop:
        stopped = True
    finally:
        for s in STOP_SIGNALS:  # a second signal must not interrupt the shutdown
            signal.signal(s, signal.SIG_IGN)
        _stop_all(processes)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0 if stopped else max((p.returncode or 0) for p in processes)


def _start_dev_processes(settings: Settings, processes: list[subprocess.Popen]) -> None:
    """Start the dev processes, appending each to ``processes`` as soon as it runs."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    if settings.mode == "sim" and settings.kalshi_api_url is None:
        env.update(_local_exchange_env(settings))
        exchange = [str(bin_dir / "weather-trader"), "exchange", "serve"]
        processes.append(subprocess.Popen([*exchange, "--port", str(DEV_EXCHANGE_PORT)], env=env))
        time.sleep(2)  # let it bind before the feed connects (the feed also retries)
    dagster = [str(bin_dir / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml")]
    for command in (
        [str(bin_dir / "weather-trader"), "feed"],
        [*dagster, "-p", "3000"],
        [str(bin_dir / "weather-trader-api")],
    ):
        processes.append(subprocess.Popen(command, env=env))
    print("Dagster UI: http://127.0.0.1:3000   dashboard: http://127.0.0.1:8000")
    if "KALSHI_API_URL" in env:
        print(f"Kalshi: {env['KALSHI_API_URL']}")


def _stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every running process, then SIGKILL those still running after the timeout."""
    for p in processes:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for p in processes:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


if __name__ == "__main__":
    raise SystemExit(main())
