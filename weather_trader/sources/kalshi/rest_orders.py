"""Our orders and account over the REST transport: V2 order writes, their recovery by
``client_order_id``, order groups, and the portfolio reads (orders, fills, positions, settlements,
balance).

An order create is never blindly retried. When its outcome is unknown (timeout, 5xx, dropped
connection) the order is looked up by its ``client_order_id``; if it exists it is returned, if
not the create is re-sent once under the same id (a 409 duplicate then means it exists: look it
up again), and if the outcome is still unknown :class:`KalshiOrderUnknown` is raised. A new id is
never used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from weather_trader.core.records import OrderRequest
from weather_trader.sources.kalshi.errors import (
    KalshiApiError,
    KalshiConflict,
    KalshiOrderUnknown,
)
from weather_trader.sources.kalshi.portfolio_models import (
    Balance,
    BatchOrderResult,
    CancelAck,
    ErrorBody,
    KalshiFill,
    KalshiOrder,
    KalshiPosition,
    KalshiSettlement,
    OrderAck,
    OrderGroup,
)
from weather_trader.sources.kalshi.ratelimit import CANCEL_COST, DEFAULT_COST
from weather_trader.sources.kalshi.rest_transport import (
    KalshiTransport,
    OutcomeUnknown,
    chunks,
    items_of,
    with_default,
)

logger = logging.getLogger(__name__)

V2_ORDERS_PATH = "/portfolio/events/orders"
MAX_BATCH_ORDERS = 20

SelfTradePrevention = Literal["taker_at_cross", "maker"]


def format_price(price: Decimal) -> str:
    """A price as Kalshi's fixed-point dollar string (``Decimal("0.42")`` -> ``"0.4200"``).

    Raises:
        ValueError: If the price is not within (0, 1) dollars or not a Decimal.
    """
    if not isinstance(price, Decimal) or not Decimal(0) < price < Decimal(1):
        raise ValueError(f"price must be a Decimal within (0, 1) dollars, got {price!r}")
    return f"{price:.4f}"


def format_count(count: int | Decimal) -> str:
    """A contract count as Kalshi's fixed-point count string (``10`` -> ``"10.00"``).

    Raises:
        ValueError: If the count is negative, a bool or a float.
    """
    if isinstance(count, bool) or not isinstance(count, int | Decimal) or count < 0:
        raise ValueError(f"count must be a non-negative int or Decimal, got {count!r}")
    return f"{Decimal(count):.2f}"


class OrdersAndPortfolio(KalshiTransport):
    """Our side of Kalshi: order writes with recovery, order groups, portfolio reads.

    Every endpoint here is under ``/portfolio`` and needs credentials.
    """

    # -- portfolio -----------------------------------------------------------------------------

    def balance(self) -> Balance:
        """Account balance in Decimal dollars (``GET /portfolio/balance``)."""
        path = "/portfolio/balance"
        return self._parse(Balance, self._get(path), "GET", path)

    def positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        count_filter: str | None = None,
        limit: int = 1000,
    ) -> list[KalshiPosition]:
        """Market positions (all pages) (``GET /portfolio/positions``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "count_filter": count_filter,
            "limit": limit,
        }
        return self._collect("/portfolio/positions", params, "market_positions", KalshiPosition)

    def orders(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        status: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
    ) -> list[KalshiOrder]:
        """Our orders (all pages) (``GET /portfolio/orders``)."""
        return list(
            self._iter_orders(
                ticker=ticker,
                event_ticker=event_ticker,
                status=status,
                min_ts=min_ts,
                max_ts=max_ts,
                limit=limit,
            )
        )

    def get_order(self, order_id: str) -> KalshiOrder:
        """One of our orders by exchange id (``GET /portfolio/orders/{order_id}``)."""
        return self._one(f"/portfolio/orders/{order_id}", "order", KalshiOrder)

    def find_order(self, client_order_id: str, ticker: str) -> KalshiOrder | None:
        """Our order on ``ticker`` with this ``client_order_id``, or None if there is none.

        Kalshi has no client-id filter: the market's orders are listed (every status, all
        pages) and matched.
        """
        for order in self._iter_orders(ticker=ticker):
            if order.client_order_id == client_order_id:
                return order
        return None

    def fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
    ) -> list[KalshiFill]:
        """Our fills (all pages) (``GET /portfolio/fills``)."""
        params = {
            "ticker": ticker,
            "order_id": order_id,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "limit": limit,
        }
        return self._collect("/portfolio/fills", params, "fills", KalshiFill)

    def settlements(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
    ) -> list[KalshiSettlement]:
        """Our settlements (all pages) (``GET /portfolio/settlements``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "limit": limit,
        }
        return self._collect("/portfolio/settlements", params, "settlements", KalshiSettlement)

    # -- V2 order writes -----------------------------------------------------------------------

    def create_order(
        self,
        order: OrderRequest,
        *,
        self_trade_prevention_type: SelfTradePrevention = "taker_at_cross",
        order_group_id: str | None = None,
        cancel_order_on_pause: bool | None = None,
        expiration_time: int | None = None,
        subaccount: int | None = None,
    ) -> OrderAck:
        """Place one order (``POST /portfolio/events/orders``), resolving unknown outcomes.

        ``side`` is on the YES book: buy YES at p = ``bid`` at p; buy NO at p = ``ask`` at
        1 - p. A 409 (this ``client_order_id`` already exists) returns the existing order
        (``recovered=True``): the create is idempotent per client id.

        Raises:
            KalshiOrderUnknown: If the outcome of a timed-out / failed create cannot be
                resolved; look the order up before doing anything else.
            KalshiConflict: On a 409 when no order with this client id can be found.
            KalshiRateLimited: If 429s persisted (the order was certainly not placed).
            KalshiApiError: Other refusals (400 bad request, 401 auth ...).
        """
        body = self._order_body(
            order,
            self_trade_prevention_type=self_trade_prevention_type,
            order_group_id=order_group_id,
            cancel_order_on_pause=cancel_order_on_pause,
            expiration_time=expiration_time,
            subaccount=subaccount,
        )
        return self._create_with_recovery(body)

    def batch_create_orders(
        self,
        orders: Sequence[OrderRequest],
        *,
        self_trade_prevention_type: SelfTradePrevention = "taker_at_cross",
        order_group_id: str | None = None,
        cancel_order_on_pause: bool | None = None,
    ) -> list[BatchOrderResult]:
        """Place many orders, 20 per request (``POST /portfolio/events/orders/batched``).

        A batch whose outcome is unknown is resolved like :meth:`create_order`: every client
        id is looked up, the missing ones are re-sent once under the same ids.

        Raises:
            KalshiOrderUnknown: Naming the client ids whose outcome stays unknown.
            KalshiApiError: If the batch request itself is refused.
        """
        ids = [o.client_order_id for o in orders]
        if len(set(ids)) != len(ids):
            raise ValueError("client_order_id values in one batch must be unique")
        results: list[BatchOrderResult] = []
        for chunk in chunks(list(orders), MAX_BATCH_ORDERS):
            bodies = [
                self._order_body(
                    o,
                    self_trade_prevention_type=self_trade_prevention_type,
                    order_group_id=order_group_id,
                    cancel_order_on_pause=cancel_order_on_pause,
                )
                for o in chunk
            ]
            results += self._batch_create_with_recovery(bodies)
        return results

    def cancel_order(
        self, order_id: str, *, ticker: str | None = None, subaccount: int | None = None
    ) -> CancelAck:
        """Cancel an order (``DELETE /portfolio/events/orders/{order_id}``; 2 write tokens).

        ``ticker`` is sent as ``market_ticker`` (the project's local exchange uses it; Kalshi's
        documentation lists only ``subaccount``).
        """
        path = f"{V2_ORDERS_PATH}/{order_id}"
        params = {"market_ticker": ticker, "subaccount": subaccount}
        data = self._write("DELETE", path, params=params, cost=CANCEL_COST)
        if isinstance(data, Mapping) and not data.get("order_id"):
            data = {**data, "order_id": order_id}
        return self._parse(CancelAck, data, "DELETE", path)

    def batch_cancel_orders(
        self, order_ids: Sequence[str], *, subaccount: int | None = None
    ) -> list[CancelAck]:
        """Cancel many orders, 20 per request (``DELETE /portfolio/events/orders/batched``)."""
        path = f"{V2_ORDERS_PATH}/batched"
        out: list[CancelAck] = []
        for chunk in chunks(list(order_ids), MAX_BATCH_ORDERS):
            items = [
                {"order_id": oid, **({"subaccount": subaccount} if subaccount is not None else {})}
                for oid in chunk
            ]
            data = self._write(
                "DELETE", path, body={"orders": items}, cost=CANCEL_COST * len(chunk)
            )
            out += [self._parse(CancelAck, x, "DELETE", path) for x in items_of(data, "orders")]
        return out

    def amend_order(
        self,
        order_id: str,
        *,
        ticker: str,
        side: Literal["bid", "ask"],
        price: Decimal,
        count: int | Decimal,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
        subaccount: int | None = None,
    ) -> OrderAck:
        """Change an order's price and/or max fillable count (V2 amend).

        ``count`` is the new total (already filled + desired resting), as Kalshi defines it.
        """
        path = f"{V2_ORDERS_PATH}/{order_id}/amend"
        body: dict[str, Any] = {
            "ticker": ticker,
            "side": side,
            "price": format_price(price),
            "count": format_count(count),
        }
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        if updated_client_order_id is not None:
            body["updated_client_order_id"] = updated_client_order_id
        data = self._write("POST", path, body=body, params={"subaccount": subaccount})
        return self._parse(OrderAck, with_default(data, "order_id", order_id), "POST", path)

    def decrease_order(
        self,
        order_id: str,
        *,
        reduce_by: int | Decimal | None = None,
        reduce_to: int | Decimal | None = None,
        subaccount: int | None = None,
    ) -> OrderAck:
        """Reduce an order's resting size by or to a count (V2 decrease).

        Raises:
            ValueError: Unless exactly one of ``reduce_by`` / ``reduce_to`` is given.
        """
        if (reduce_by is None) == (reduce_to is None):
            raise ValueError("give exactly one of reduce_by or reduce_to")
        path = f"{V2_ORDERS_PATH}/{order_id}/decrease"
        body = (
            {"reduce_by": format_count(reduce_by)}
            if reduce_by is not None
            else {"reduce_to": format_count(reduce_to)}  # type: ignore[arg-type]
        )
        data = self._write("POST", path, body=body, params={"subaccount": subaccount})
        return self._parse(OrderAck, with_default(data, "order_id", order_id), "POST", path)

    # -- order groups --------------------------------------------------------------------------

    def create_order_group(self, contracts_limit: int, *, subaccount: int | None = None) -> str:
        """Create an order group capping matched contracts per rolling 15 s; returns its id."""
        if isinstance(contracts_limit, bool) or contracts_limit < 1:
            raise ValueError(f"contracts_limit must be >= 1, got {contracts_limit!r}")
        path = "/portfolio/order_groups/create"
        body: dict[str, Any] = {
            "contracts_limit": contracts_limit,
            "contracts_limit_fp": format_count(contracts_limit),
        }
        if subaccount is not None:
            body["subaccount"] = subaccount
        data = self._write("POST", path, body=body)
        group_id = data.get("order_group_id") if isinstance(data, Mapping) else None
        if not isinstance(group_id, str) or not group_id:
            raise self._malformed("POST", path, "no order_group_id in the response")
        return group_id

    def order_groups(self) -> list[OrderGroup]:
        """Our order groups (``GET /portfolio/order_groups``)."""
        path = "/portfolio/order_groups"
        data = self._get(path)
        return [self._parse(OrderGroup, x, "GET", path) for x in items_of(data, "order_groups")]

    def get_order_group(self, order_group_id: str) -> OrderGroup:
        """One order group with its order ids (``GET /portfolio/order_groups/{id}``)."""
        path = f"/portfolio/order_groups/{order_group_id}"
        data = self._get(path)
        if isinstance(data, Mapping) and isinstance(data.get("order_group"), Mapping):
            data = data["order_group"]
        return self._parse(OrderGroup, with_default(data, "id", order_group_id), "GET", path)

    def delete_order_group(self, order_group_id: str) -> None:
        """Delete an order group and cancel its orders."""
        self._write("DELETE", f"/portfolio/order_groups/{order_group_id}")

    def reset_order_group(self, order_group_id: str) -> None:
        """Reset an order group's matched-contracts counter so it accepts orders again."""
        self._write("PUT", f"/portfolio/order_groups/{order_group_id}/reset", body={})

    # -- internals: order recovery -------------------------------------------------------------

    def _order_body(
        self,
        order: OrderRequest,
        *,
        self_trade_prevention_type: str,
        order_group_id: str | None = None,
        cancel_order_on_pause: bool | None = None,
        expiration_time: int | None = None,
        subaccount: int | None = None,
    ) -> dict[str, Any]:
        if not order.client_order_id:
            raise ValueError("an order needs a deterministic client_order_id")
        body: dict[str, Any] = {
            "ticker": order.ticker,
            "client_order_id": order.client_order_id,
            "side": order.side,
            "count": format_count(order.count),
            "price": format_price(order.price),
            "time_in_force": order.time_in_force,
            "self_trade_prevention_type": self_trade_prevention_type,
            "post_only": order.post_only,
            "reduce_only": order.reduce_only,
        }
        optional = {
            "order_group_id": order_group_id,
            "cancel_order_on_pause": cancel_order_on_pause,
            "expiration_time": expiration_time,
            "subaccount": subaccount,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def _create_with_recovery(self, body: dict[str, Any]) -> OrderAck:
        cid, ticker = body["client_order_id"], body["ticker"]
        signed = self.signed_path(V2_ORDERS_PATH)
        for attempt in (1, 2):
            try:
                data = self._request(
                    "POST",
                    V2_ORDERS_PATH,
                    body=body,
                    bucket="write",
                    cost=DEFAULT_COST,
                    idempotent=False,
                    unknown_outcome=True,
                )
            except KalshiConflict as exc:
                found = self._lookup(cid, ticker, signed)
                if found is not None:
                    self._log_recovered(cid, signed, "409 duplicate")
                    return OrderAck.from_order(found)
                if attempt == 1:
                    raise
                raise KalshiOrderUnknown(
                    cid,
                    "the re-send was refused as a duplicate yet no such order is listed",
                    signed,
                ) from exc
            except OutcomeUnknown as exc:
                self._sleep(self.order_lookup_delay)
                found = self._lookup(cid, ticker, signed)
                if found is not None:
                    self._log_recovered(cid, signed, exc.error.code)
                    return OrderAck.from_order(found)
                if attempt == 2:
                    raise KalshiOrderUnknown(
                        cid, f"the re-sent create failed too ({exc.error.message})", signed
                    ) from exc.error
                logger.warning(
                    "Kalshi order create outcome unknown (%s) and no order with its "
                    "client_order_id exists; re-sending once under the same id",
                    exc.error.message,
                    extra={"method": "POST", "path": signed, "status": exc.error.status},
                )
                continue
            ack = self._parse(OrderAck, data, "POST", V2_ORDERS_PATH)
            if ack.client_order_id and ack.client_order_id != cid:
                raise self._malformed("POST", V2_ORDERS_PATH, "ack for another client_order_id")
            return ack
        raise AssertionError("unreachable")  # pragma: no cover

    def _batch_create_with_recovery(self, bodies: list[dict[str, Any]]) -> list[BatchOrderResult]:
        path = f"{V2_ORDERS_PATH}/batched"
        signed = self.signed_path(path)
        resolved: dict[str, BatchOrderResult] = {}
        pending = bodies
        for attempt in (1, 2):
            try:
                data = self._request(
                    "POST",
                    path,
                    body={"orders": pending},
                    bucket="write",
                    cost=DEFAULT_COST * len(pending),
                    idempotent=False,
                    unknown_outcome=True,
                )
            except OutcomeUnknown as exc:
                self._sleep(self.order_lookup_delay)
                found = self._lookup_many([(b["client_order_id"], b["ticker"]) for b in pending])
                for cid, order in found.items():
                    self._log_recovered(cid, signed, exc.error.code)
                    resolved[cid] = BatchOrderResult(
                        client_order_id=cid, ack=OrderAck.from_order(order)
                    )
                pending = [b for b in pending if b["client_order_id"] not in resolved]
                if not pending:
                    break
                if attempt == 2:
                    missing = ",".join(b["client_order_id"] for b in pending)
                    raise KalshiOrderUnknown(
                        missing, f"the re-sent batch failed too ({exc.error.message})", signed
                    ) from exc.error
                continue
            items = [
                self._parse(BatchOrderResult, x, "POST", path) for x in items_of(data, "orders")
            ]
            for body, item in zip(pending, items, strict=False):
                cid = item.client_order_id or body["client_order_id"]
                resolved[cid] = item
            break
        return [
            resolved.get(b["client_order_id"])
            or BatchOrderResult(
                client_order_id=b["client_order_id"],
                error=ErrorBody(code="missing_result", message="no result for this order"),
            )
            for b in bodies
        ]

    def _lookup(self, client_order_id: str, ticker: str, signed: str) -> KalshiOrder | None:
        try:
            return self.find_order(client_order_id, ticker)
        except KalshiApiError as exc:
            raise KalshiOrderUnknown(
                client_order_id, f"could not look the order up ({exc})", signed
            ) from exc

    def _lookup_many(self, keys: Iterable[tuple[str, str]]) -> dict[str, KalshiOrder]:
        wanted: dict[str, set[str]] = {}
        for cid, ticker in keys:
            wanted.setdefault(ticker, set()).add(cid)
        found: dict[str, KalshiOrder] = {}
        for ticker, cids in wanted.items():
            try:
                orders = list(self._iter_orders(ticker=ticker))
            except KalshiApiError as exc:
                raise KalshiOrderUnknown(
                    ",".join(sorted(cids)),
                    f"could not look the orders up ({exc})",
                    self.signed_path("/portfolio/orders"),
                ) from exc
            found.update({o.client_order_id: o for o in orders if o.client_order_id in cids})
        return found

    def _log_recovered(self, client_order_id: str, signed: str, reason: str) -> None:
        logger.warning(
            "Kalshi order %s resolved by client_order_id lookup after %s",
            client_order_id,
            reason,
            extra={"method": "POST", "path": signed, "status": None},
        )

    def _iter_orders(self, **filters: Any) -> Iterator[KalshiOrder]:
        path = "/portfolio/orders"
        params = {"limit": 1000, **filters}
        for page in self._pages(path, params, "orders"):
            for item in page:
                yield self._parse(KalshiOrder, item, "GET", path)
