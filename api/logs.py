"""Log lines of the sidecar: every record carries the request id; JSON output for production.

The request id lives in a context variable set by :class:`api.middleware.RequestContextMiddleware`;
a log record factory copies it onto every record created while the request runs (``-`` outside
requests), so any handler or formatter can show it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_request_id: ContextVar[str] = ContextVar("request_id", default="-")

_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


def current_request_id() -> str:
    """The id of the request being served (``-`` outside a request)."""
    return _request_id.get()


def set_request_id(value: str) -> Any:
    """Set the current request id; returns the token to reset it with."""
    return _request_id.set(value)


def reset_request_id(token: Any) -> None:
    """Restore the request id from before :func:`set_request_id`."""
    _request_id.reset(token)


def install_request_id_factory() -> None:
    """Make every log record carry ``request_id`` (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    factory._adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_json_logging(level: str = "info") -> None:
    """Send every log line to stderr as JSON (the ``weather-trader-api`` server does this)."""
    install_request_id_factory()
    root = logging.getLogger()
    root.setLevel(level.upper())
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
