"""Run the sidecar with uvicorn (the CLI's ``serve`` command calls :func:`serve`)."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.settings import ApiSettings


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
