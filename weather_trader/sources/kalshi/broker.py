"""Orders on Kalshi (live, its demo, or the local exchange) behind the ``Broker`` port."""

from __future__ import annotations

from datetime import datetime

from weather_trader.core.records import (
    Fill,
    MarketSnapshot,
    OrderRequest,
    OrderResult,
    order_status,
)
from weather_trader.sources.kalshi.errors import KalshiBadRequest, KalshiConflict
from weather_trader.sources.kalshi.portfolio_models import KalshiFill
from weather_trader.sources.kalshi.rest import KalshiClient


class KalshiBroker:
    """:class:`~weather_trader.core.ports.Broker` placing V2 orders through :class:`KalshiClient`.

    Idempotent by ``client_order_id``: the client resolves an unknown outcome by that id and a
    re-send of a known id returns the existing order, so an order is never placed twice.

    Args:
        client: An authenticated REST client.
    """

    def __init__(self, client: KalshiClient) -> None:
        self.client = client

    def place(self, order: OrderRequest, book: MarketSnapshot, as_of: datetime) -> OrderResult:
        """Send ``order`` and report what the exchange did (``book`` is not needed here).

        Returns:
            ``rejected`` with Kalshi's reason when the exchange refuses the order (400, or a
            409 for an id it cannot show); otherwise filled / partially filled / resting /
            canceled from the exchange's counts, with the fills it reports.

        Raises:
            KalshiOrderUnknown: The outcome could not be resolved; the order stays pending and
                the next run sends it again under the same id.
        """
        try:
            ack = self.client.create_order(order)
        except (KalshiBadRequest, KalshiConflict) as exc:
            return OrderResult(
                client_order_id=order.client_order_id,
                status="rejected",
                filled_count=0,
                reason=f"{exc.code}: {exc.message}",
            )
        fills = tuple(
            _fill(f, order, as_of)
            for f in self.client.fills(ticker=order.ticker, order_id=ack.order_id)
        )
        filled = sum(f.count for f in fills)
        return OrderResult(
            client_order_id=order.client_order_id,
            status=order_status(order, filled),
            filled_count=filled,
            fills=fills,
        )

    def positions(self) -> dict[str, int]:
        """Net YES contracts the exchange holds for us per market (negative = NO); flat
        markets are left out."""
        held = {p.ticker: int(p.position) for p in self.client.positions()}
        return {ticker: count for ticker, count in held.items() if count}


def _fill(fill: KalshiFill, order: OrderRequest, as_of: datetime) -> Fill:
    return Fill(
        fill_id=fill.fill_id,
        trade_id=fill.trade_id,
        client_order_id=order.client_order_id,
        ticker=fill.ticker,
        side=order.side,
        count=int(fill.count),
        price=fill.yes_price,
        fee=fill.fee_cost,
        is_taker=fill.is_taker,
        filled_at=fill.created_time or as_of,
    )
