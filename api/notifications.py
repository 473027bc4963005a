"""Notifications: a Slack-compatible webhook (``{"text": ...}``) for taken trades, fills,
settlements, halts, kill-switch changes and errors, fed from the events outbox.

Off by default: nothing is sent until the operator sets ``notification_webhook`` in the
settings. A tailer in the sidecar reads the outbox after the last event it handled (kept in the
database, so a restart neither repeats nor skips), formats the events worth a message and
posts each with retries; a message that still fails is logged and dropped. Trading never waits
for it: the pipeline only appends events, the sidecar does the sending. The webhook URL is a
credential and never reaches a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from weather_trader.core.operator_settings import OperatorSettings
from weather_trader.store import repo, repo_settings
from weather_trader.store.db import session_scope
from weather_trader.store.schemas import EventRecord

logger = logging.getLogger(__name__)

BATCH = 200
"""Events read per pass."""
TIMEOUT_SECONDS = 10.0


class RedactRequestUrls(logging.Filter):
    """Shows only the scheme and host of the URLs httpx logs ("HTTP Request: POST <url> ..."):
    a webhook's path is its credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's URL argument; never drops the record."""
        if isinstance(record.args, tuple) and len(record.args) >= 2:
            url = record.args[1]
            if isinstance(url, httpx.URL):
                redacted = f"{url.scheme}://{url.host}/…"
                record.args = (record.args[0], redacted, *record.args[2:])
        return True


def redact_httpx_urls() -> None:
    """Install :class:`RedactRequestUrls` on the ``httpx`` logger (idempotent)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactRequestUrls) for f in httpx_logger.filters):
        httpx_logger.addFilter(RedactRequestUrls())


class WebhookError(Exception):
    """The webhook answered with a status worth retrying (429 or 5xx) or not at all."""


def _money(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{'-' if number < 0 else ''}${abs(number):,.2f}"


def _where(event: EventRecord) -> str:
    parts = [p for p in (event.city, event.climate_date and event.climate_date.isoformat()) if p]
    return " ".join(parts)


def message_for(event: EventRecord) -> str | None:
    """The notification text of an outbox event, or None when it is not worth one."""
    p: Mapping[str, Any] = event.payload or {}
    where = _where(event)
    if event.topic == "decision":
        return (
            f"Trade taken {where}: {p.get('ticker')} {str(p.get('side', '')).upper()} "
            f"x{p.get('count')} at {_money(p.get('price'))} (EV {_money(p.get('ev_per_contract'))}"
            " per contract)"
        )
    if event.topic == "order":
        status = p.get("status")
        if status == "rejected":
            return f"Order REJECTED {where}: {p.get('ticker')} ({p.get('client_order_id')})"
        if p.get("filled"):
            return f"Order filled {where}: {p.get('ticker')} {p.get('filled')} contracts"
        return None
    if event.topic == "settlement":
        return f"Settled {where}: {p.get('positions')} positions, P&L {_money(p.get('pnl'))}"
    if event.topic == "reconciliation":
        return (
            f"HALT {where}: {p.get('ticker')} position ours {p.get('ours')} vs exchange "
            f"{p.get('exchange')}; no new orders on that market"
        )
    if event.topic == "settings":
        changed = p.get("changed") or {}
        if "kill_switch" in changed:
            state = "ON: no new orders" if changed["kill_switch"] else "off: trading resumes"
            return f"Kill switch {state} (by {p.get('by')})"
        return None
    if event.topic in ("error", "halt"):
        return f"{event.topic.upper()} {where}: {p.get('message') or p}"
    return None


@dataclass
class NotifierStats:
    """What the notifier did since it started."""

    sent: int = 0
    failed: int = 0


class Notifier:
    """Tails the outbox and posts notifications to the stored webhook.

    Args:
        engine: The domain database.
        defaults: Operator settings' defaults (the webhook is read from the stored settings).
        interval: Seconds between passes.
        client: The HTTP client (tests pass one); one is created otherwise.
        attempts: Tries per message (exponential backoff between them).
        wait_max: Longest wait between two tries, seconds.
        clock: Returns now (UTC), for the cursor's timestamp.
    """

    def __init__(
        self,
        engine: Engine,
        defaults: OperatorSettings,
        interval: float = 5.0,
        client: httpx.AsyncClient | None = None,
        attempts: int = 4,
        wait_max: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.defaults = defaults
        self.interval = interval
        self.client = client
        self._own_client = client is None
        self.attempts = attempts
        self.wait_max = wait_max
        self.clock = clock
        self.stats = NotifierStats()
        redact_httpx_urls()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start tailing in the background."""
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def stop(self) -> None:
        """Stop tailing (a message being sent is abandoned)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_client and self.client is not None:
            await self.client.aclose()
            self.client = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # keep tailing: a database hiccup must not end it
                logger.warning("notifier pass failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.interval)

    def _read(self) -> tuple[OperatorSettings, int | None, int, list[EventRecord]]:
        with session_scope(self.engine) as session:
            settings = repo_settings.stored_settings(session, self.defaults)
            cursor = repo_settings.notifier_cursor(session)
            head = repo.head_event_id(session)
            events = [] if cursor is None else repo.events_after(session, cursor, BATCH)
        return settings, cursor, head, events

    def _advance(self, event_id: int) -> None:
        with session_scope(self.engine) as session:
            repo_settings.set_notifier_cursor(session, event_id, self.clock())

    async def run_once(self) -> int:
        """One pass: send the messages of the events after the cursor; return how many sent.

        On its first pass the notifier starts at the outbox's head (no flood of history); while
        the webhook is off the cursor follows the head, so turning it on sends only what
        happens from then on.
        """
        settings, cursor, head, events = await asyncio.to_thread(self._read)
        webhook = settings.notification_webhook
        if cursor is None or webhook is None:
            if head != cursor:
                await asyncio.to_thread(self._advance, head)
            return 0
        sent = 0
        for event in events:
            text = message_for(event)
            if text is not None:
                sent += await self.send(webhook, text, event.id)
            await asyncio.to_thread(self._advance, event.id)
        return sent

    async def send(self, webhook: str, text: str, event_id: int | None = None) -> bool:
        """Post ``{"text": text}`` with retries on 429, 5xx and transport errors.

        Returns:
            Whether the webhook accepted it (a failure is logged, without the URL, and dropped).
        """
        assert self.client is not None, "start() the notifier first"
        client = self.client

        async def post() -> None:
            try:
                response = await client.post(webhook, json={"text": text})
            except httpx.TransportError as exc:
                raise WebhookError(type(exc).__name__) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise WebhookError(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise ValueError(f"HTTP {response.status_code}")

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=0.5, max=self.wait_max),
                retry=retry_if_exception_type(WebhookError),
                reraise=True,
            ):
                with attempt:
                    await post()
        except (WebhookError, ValueError) as exc:
            self.stats.failed += 1
            logger.error(
                "notification not delivered",
                extra={"event_id": event_id, "error": str(exc), "attempts": self.attempts},
            )
            return False
        self.stats.sent += 1
        return True
