"""Run the sidecar with uvicorn: the ``weather-trader-api`` command.

The sidecar is its own entry point: the ``weather_trader`` package never imports ``api``.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from api.app import create_app
from api.settings import ApiSettings, ApiSettingsError


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ApiSettings | None = None,
    log_level: str = "info",
) -> None:
    """Serve the sidecar until interrupted.

    Args:
        host: Interface to bind; the default keeps the dashboard local.
        port: TCP port.
        settings: Sidecar settings; read from the environment when omitted.
        log_level: uvicorn log level.
    """
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``weather-trader-api`` console script."""
    parser = argparse.ArgumentParser(
        prog="weather-trader-api", description="the FastAPI sidecar: dashboard, feed, metrics"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        settings = ApiSettings.from_env()
    except ApiSettingsError as exc:
        print(f"weather-trader-api: {exc}", file=sys.stderr)
        return 2
    serve(host=args.host, port=args.port, settings=settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
