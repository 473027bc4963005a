"""The ``weather-trader`` command: demo, dev servers, the sidecar and database migration."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from weather_trader.settings import Settings, SettingsError

REPO_ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``weather-trader`` console script."""
    parser = argparse.ArgumentParser(prog="weather-trader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="replay the last N climate days offline and summarise")
    demo.add_argument("--days", type=int, default=30, help="climate days to trade (default 30)")
    demo.add_argument(
        "--history-days", type=int, default=180, help="archive days the model trains on"
    )
    commands.add_parser("dev", help="Dagster UI + daemon on :3000 and the sidecar on :8000")
    serve = commands.add_parser("serve", help="run the FastAPI sidecar")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="create or upgrade the domain database")
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
    if args.command == "serve":
        from api.server import serve as serve_api

        serve_api(host=args.host, port=args.port)
        return 0
    from sqlalchemy import make_url

    from weather_trader.store.db import migrate

    migrate(settings.resolved_database_url)
    shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    print(f"domain database at {shown} is up to date")
    return 0


def _dev(settings: Settings) -> int:
    """Run Dagster (webserver + daemon) and the sidecar until Ctrl-C."""
    from weather_trader.home import prepare_home

    prepare_home(settings)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    processes = [
        subprocess.Popen(
            [
                str(bin_dir / "dagster"),
                "dev",
                "-w",
                str(REPO_ROOT / "workspace.yaml"),
                "-p",
                "3000",
            ],
            env=env,
        ),
        subprocess.Popen([str(bin_dir / "weather-trader"), "serve"], env=env),
    ]
    print("Dagster UI: http://127.0.0.1:3000   dashboard: http://127.0.0.1:8000")
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in processes:
            p.wait(timeout=30)
    return max((p.returncode or 0) for p in processes)


if __name__ == "__main__":
    raise SystemExit(main())
