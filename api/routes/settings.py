"""``/api/settings``: the operator settings, their audit trail and the Kalshi key.

Reads need a session; changes also need the CSRF token. The Kalshi private key goes in and is
never given back: GET shows its key id and the SHA-256 fingerprint of its public key.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import get_engine, get_settings
from api.errors import error_response
from api.operator_settings import change_operator_settings, current_operator_settings
from api.security import require_api_user, require_csrf
from weather_trader.core.operator_settings import SettingsPatch
from weather_trader.core.secret_box import SecretBoxError
from weather_trader.store import repo_settings, secrets
from weather_trader.store.db import session_scope

logger = logging.getLogger(__name__)

router = APIRouter(tags=["settings"], dependencies=[Depends(require_api_user)])


class SettingsOut(BaseModel):
    """The effective settings (credentials redacted) and which fields are stored overrides."""

    settings: dict[str, Any]
    overridden: list[str]
    changed: list[str] = Field(default_factory=list)


class AuditOut(BaseModel):
    """One audited change."""

    changed_at: datetime
    username: str
    field: str
    old_value: Any
    new_value: Any


class KalshiKeyIn(BaseModel):
    """A Kalshi API key: its id and the unencrypted RSA private key (PEM)."""

    key_id: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._-]+$")
    private_key_pem: str = Field(min_length=1, max_length=20_000, repr=False)


class KalshiKeyOut(BaseModel):
    """What may be shown of the stored key."""

    configured: bool
    key_id: str | None = None
    fingerprint: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


def _overridden(request: Request) -> list[str]:
    with session_scope(get_engine(request.app)) as session:
        return sorted(repo_settings.stored_overrides(session))


@router.get("/api/settings", response_model=SettingsOut)
async def get_settings_route(request: Request) -> SettingsOut:
    """The settings the next Dagster run uses (stored values over the environment's)."""
    current = await run_in_threadpool(current_operator_settings, request.app)
    overridden = await run_in_threadpool(_overridden, request)
    return SettingsOut(settings=current.public(), overridden=overridden)


@router.put(
    "/api/settings",
    response_model=SettingsOut,
    dependencies=[Depends(require_csrf)],
    responses={422: {"description": "a field is invalid (named in the error)"}},
)
async def put_settings(
    request: Request, patch: SettingsPatch, username: str = Depends(require_api_user)
) -> SettingsOut:
    """Change some settings (only the fields given); each change is audited."""
    new, changed = await run_in_threadpool(change_operator_settings, request.app, patch, username)
    if changed:
        logger.info("settings changed", extra={"username": username, "fields": changed})
    overridden = await run_in_threadpool(_overridden, request)
    return SettingsOut(settings=new.public(), overridden=overridden, changed=changed)


@router.get("/api/settings/audit", response_model=list[AuditOut])
async def settings_audit(
    request: Request, limit: int = Query(default=100, ge=1, le=1000)
) -> list[AuditOut]:
    """The latest changes, newest first (credentials redacted)."""

    def read() -> list[AuditOut]:
        with session_scope(get_engine(request.app)) as session:
            return [
                AuditOut(**entry.__dict__) for entry in repo_settings.settings_audit(session, limit)
            ]

    return await run_in_threadpool(read)


def _key_out(info: secrets.StoredKeyInfo | None) -> KalshiKeyOut:
    if info is None:
        return KalshiKeyOut(configured=False)
    return KalshiKeyOut(configured=True, **info.__dict__)


@router.get("/api/settings/kalshi-key", response_model=KalshiKeyOut)
async def get_kalshi_key(request: Request) -> KalshiKeyOut:
    """The stored key's id and fingerprint (never the key)."""

    def read() -> secrets.StoredKeyInfo | None:
        with session_scope(get_engine(request.app)) as session:
            return secrets.kalshi_key_info(session)

    return _key_out(await run_in_threadpool(read))


@router.put(
    "/api/settings/kalshi-key",
    response_model=KalshiKeyOut,
    dependencies=[Depends(require_csrf)],
    responses={422: {"description": "not an unencrypted RSA private key"}},
)
async def put_kalshi_key(
    request: Request, body: KalshiKeyIn, username: str = Depends(require_api_user)
) -> KalshiKeyOut | JSONResponse:
    """Store a Kalshi key encrypted (AES-256-GCM under the master key), replacing any other."""
    home = get_settings(request.app).home

    def store() -> secrets.StoredKeyInfo:
        master = secrets.load_master_key(home)
        with session_scope(get_engine(request.app)) as session:
            return secrets.store_kalshi_key(
                session, master, body.key_id, body.private_key_pem.encode(), username,
                datetime.now(UTC),
            )  # fmt: skip

    try:
        info = await run_in_threadpool(store)
    except SecretBoxError as exc:
        return error_response(422, f"private_key_pem: {exc}", code="validation_error")
    except secrets.SecretStoreError as exc:
        logger.error("secret store unavailable", extra={"error": str(exc)})
        return error_response(503, f"the secret store is unavailable: {exc}")
    logger.info(
        "kalshi key stored",
        extra={"username": username, "key_id": info.key_id, "fingerprint": info.fingerprint},
    )
    return _key_out(info)


@router.delete(
    "/api/settings/kalshi-key", response_model=KalshiKeyOut, dependencies=[Depends(require_csrf)]
)
async def delete_kalshi_key(
    request: Request, username: str = Depends(require_api_user)
) -> KalshiKeyOut:
    """Forget the stored key."""

    def delete() -> bool:
        with session_scope(get_engine(request.app)) as session:
            return secrets.delete_kalshi_key(session)

    if await run_in_threadpool(delete):
        logger.info("kalshi key deleted", extra={"username": username})
    return KalshiKeyOut(configured=False)
