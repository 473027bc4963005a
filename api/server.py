"""Run the sidecar with uvicorn: the ``weather-trader-api`` command.

The sidecar is its own entry point: the ``weather_trader`` package never imports ``api``.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from api.app import create_app
from api.logs import configure_json_logging
from api.settings import ApiSettings, ApiSettingsError
from weather_trader.settings import is_loopback_host


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ApiSettings | None = None,
    log_level: str = "info",
) -> None:
    """Serve the sidecar until interrupted.

    Args:
        host: Interface to bind; the default keeps the dashboard local. Beyond loopback
            ``/metrics`` needs its bearer token (``WEATHER_TRADER_API_METRICS_TOKEN``).
        port: TCP port.
        settings: Sidecar settings; read from the environment when omitted.
        log_level: Log level; every line is JSON with the request id.

    Raises:
        ApiSettingsError: When serving beyond loopback without a metrics token.
    """
    settings = settings or ApiSettings.from_env()
    if not is_loopback_host(host) and settings.metrics_token is None:
        raise ApiSettingsError(
            f"serving on {host} (beyond loopback) needs WEATHER_TRADER_API_METRICS_TOKEN: "
            "/metrics would otherwise be open to the network"
        )
    configure_json_logging(log_level)
    app = create_app(settings)
    # Our middleware writes one JSON line per request: uvicorn's own access log would repeat it.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        log_config=None,
        access_log=False,
    )


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
    try:
        serve(host=args.host, port=args.port, settings=settings)
    except ApiSettingsError as exc:
        print(f"weather-trader-api: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
