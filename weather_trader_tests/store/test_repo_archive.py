"""Raw payloads kept for audit and the market trade tape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weather_trader.core.records import PublicTrade
from weather_trader.store import repo
from weather_trader.store.models import RawPayloadRow

T0 = datetime(2026, 11, 26, 15, tzinfo=UTC)


def _store(session: Session, body: bytes, at: datetime = T0) -> bool:
    return repo.store_raw_payload(
        session,
        source="open-meteo",
        url="https://api.open-meteo.com/v1/forecast?apikey=REDACTED",
        retrieved_at=at,
        status=200,
        content_type="application/json",
        body=body,
        city="NYC",
    )


def test_raw_payload_is_compressed_deduplicated_and_read_back(session: Session) -> None:
    body = b'{"daily": {"temperature_2m_max": [' + b"41.3, " * 500 + b"40.0]}}"
    assert _store(session, body) is True
    assert _store(session, body, T0 + timedelta(minutes=5)) is False  # same body: kept once
    assert _store(session, b"{}", T0 + timedelta(minutes=10)) is True
    session.commit()
    row = session.scalars(select(RawPayloadRow).order_by(RawPayloadRow.id)).first()
    assert row is not None
    assert row.size_bytes == len(body)
    assert len(row.body_zlib) < len(body) / 10
    kept = repo.raw_payloads(session, "open-meteo", T0, T0 + timedelta(hours=1))
    assert [(at, b) for _, at, b in kept] == [(T0, body), (T0 + timedelta(minutes=10), b"{}")]
    assert repo.raw_payloads(session, "nws", T0, T0 + timedelta(hours=1)) == []


def _trade(trade_id: str, minutes: int, price: str = "0.4200") -> PublicTrade:
    return PublicTrade(
        trade_id=trade_id,
        ticker="KXHIGHNY-26NOV27-B45.5",
        traded_at=T0 + timedelta(minutes=minutes),
        yes_price=Decimal(price),
        count=Decimal("12.00"),
        taker_side="yes",
    )


def test_trades_are_appended_once_and_read_in_time_order(session: Session) -> None:
    assert repo.append_trades(session, [_trade("b", 2), _trade("a", 1, "0.4100")]) == 2
    assert repo.append_trades(session, [_trade("a", 1, "0.4100"), _trade("c", 90)]) == 1
    session.commit()
    got = repo.trades_for(session, "KXHIGHNY-26NOV27-B45.5", T0, T0 + timedelta(hours=1))
    assert [t.trade_id for t in got] == ["a", "b"]
    assert got[0].yes_price == Decimal("0.4100") and got[0].count == Decimal("12")
    assert repo.append_trades(session, []) == 0
