"""Decide, execute, settle and score: the trading half of the graph."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    Config,
    MaterializeResult,
    asset,
)

from weather_trader.core.approval import approved_for_orders, to_propose
from weather_trader.core.cities import KINDS
from weather_trader.core.climate_day import (
    final_report_expected_at,
    in_pipeline_order,
    pipeline_as_of,
)
from weather_trader.core.forecasting.market_prices import WINDOW, bracket_prices
from weather_trader.core.gating import (
    block,
    edge_gate_reason,
    failed_check,
    gate_on_edge,
    nearest_instant,
    no_evaluation_reason,
    reason_code,
    unverified_series_reason,
    withhold,
)
from weather_trader.core.ports import Broker, PositionReader
from weather_trader.core.quality import books_stale, forecasts_stale
from weather_trader.core.reconciliation import PositionMismatch, net_yes, position_mismatches
from weather_trader.core.records import MarketSnapshot, OrderRequest, OrderResult
from weather_trader.core.settlement import settle_position
from weather_trader.core.trading import (
    Decision,
    decide_event,
    lots_before,
    lots_from_decisions,
    market_probabilities,
    order_from_decision,
    quote_from_snapshot,
    risk_state_at,
)
from weather_trader.defs.check_gate import latest_check_results
from weather_trader.defs.common import KINDS_TAG, PARTITIONED, city_days, per_partition_results
from weather_trader.defs.forecasting.models import (
    OURS_ASSET,
    Evaluation,
    evaluation_chooser,
    load_artifact,
)
from weather_trader.defs.resources import (
    BrokerResource,
    ClockResource,
    DatabaseResource,
    ModelStoreResource,
    TradingConfigResource,
)
from weather_trader.store import repo, repo_proposals, repo_registry
from weather_trader.store.repo_scores import EventScore


class DecisionConfig(Config):
    """How trade_decisions uses the measured edge.

    Attributes:
        require_measured_edge: Trade on model edge only for a city/instant where the newest
            forecast_evaluation known at the decision measured ours beating the market. Off,
            every decision row still records the verdict in the run's metadata.
    """

    require_measured_edge: bool = True


@asset(
    **PARTITIONED,
    deps=[
        "bracket_probabilities",
        "forecast_snapshots",
        "ours_model",
        "forecast_evaluation",
        "series_registry",
    ],
    group_name="trading",
    kinds=KINDS_TAG,
    description=(
        "Every candidate trade (each bracket, YES and NO) on ours (the weather distribution "
        "pooled with the market's prices at the decision) with EV after fees, fractional-Kelly "
        "size, risk verdict and the reason it was taken or skipped; nothing is taken on model "
        "edge where the walk-forward evaluation measured none, nor on a series whose "
        "settlement station the registry has not verified."
    ),
)
def trade_decisions(
    context: AssetExecutionContext,
    config: DecisionConfig,
    database: DatabaseResource,
    trading: TradingConfigResource,
    clock: ClockResource,
    model_store: ModelStoreResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Decide each partition's trades against the positions held at its pipeline instant.

    The risk state is point-in-time: the lots bought and not yet settled at ``as_of``. A range
    run decides its partitions in the order of their instants, whatever cities it spans (as
    live trading would), before any is executed, so its own earlier taken decisions count as
    lots too, settling when their final report is normally out.

    While the latest evaluation of a blocking check on a partition's forecasts or distribution
    failed (in this run or an earlier one), nothing is taken there: every candidate is recorded
    with the reason ``blocked_by_check:<check>`` (``core/gating.py``).

    ``p_model`` is ours: the weather bracket probabilities pooled (by the suite version of the
    partition's distribution) with the market's prices at ``as_of`` (the hour's traded prices,
    else the last trade, else the book's mid; normalised over the event). Where the newest
    evaluation known at ``as_of`` shows no edge for the city at the instant nearest ``as_of``,
    every candidate the model would have traded records why not (``no_measured_edge: ...``).

    A city and kind without a verified series in the stored registry takes nothing: every
    candidate records ``unverified_series: <the registry's reason>``.
    """
    limits, bankroll, now = trading.limits(), Decimal(trading.bankroll), clock.now()
    evaluations = evaluation_chooser(database)
    pools: dict[str, Any] = {}
    edge_verdicts: dict[str, str] = {}
    max_forecast_age = timedelta(hours=trading.max_forecast_age_hours)
    taken = candidates = stale_partitions = 0
    reasons: dict[str, int] = {}
    blocked: dict[str, str] = {}
    own: dict[str, dict[str, Any]] = {}
    unverified: dict[str, list[str]] = {}
    with database.session() as session:
        lots = repo.position_lots(session)
        registry = repo_registry.load_registry(session)
    partitions = in_pipeline_order(city_days(context), now)
    checks = latest_check_results(context.instance, [key for _, _, key in partitions])
    for city, day, key in partitions:
        failed = failed_check(checks[key])
        if failed:
            blocked[key] = failed
            context.log.warning(f"{key}: no trading while check {failed} fails on its inputs")
        as_of = pipeline_as_of(city, day, now)
        settles_at = final_report_expected_at(city, day)
        with database.session() as session:
            books = {
                k: {s.ticker: s for s in repo.market_snapshots(session, city, day, k, as_of=as_of)}
                for k in KINDS
            }
            events = {s.event_ticker for k in KINDS for s in books[k].values()}
            lots = lots_before(lots, events, as_of)  # a re-run decides as the first run did
            forecasts = repo.forecasts_as_of(session, city, day, as_of)
            frames = []
            for kind in KINDS:
                probs = repo.bracket_probabilities_for(session, city, day, kind)
                snapshots = books[kind]
                if probs.empty:
                    continue
                quotes = [quote_from_snapshot(snapshots[t]) for t in probs["ticker"]]
                dist = repo.distribution_for(session, city, day, kind)
                assert dist is not None  # bracket probabilities exist only from a distribution
                if dist.model_version not in pools:
                    pools[dist.model_version] = load_artifact(
                        model_store, OURS_ASSET, dist.model_version
                    )
                ours = _ours(session, pools[dist.model_version], probs, quotes, as_of)
                issued = forecasts.loc[forecasts["kind"] == kind, "issued_at"]
                stale = forecasts_stale(
                    (t.to_pydatetime() for t in issued), as_of, max_forecast_age
                ) or books_stale((s.captured_at for s in snapshots.values()), as_of)
                state = risk_state_at(bankroll, lots, as_of)
                decisions = decide_event(quotes, ours, state, limits, stale_inputs=stale)
                no_edge = _edge_reason(evaluations.version_at(as_of), evaluations, city, day, as_of)
                edge_verdicts[key] = no_edge or "measured edge"
                if no_edge and config.require_measured_edge:
                    decisions = gate_on_edge(decisions, no_edge)
                if failed:
                    decisions = block(decisions, failed)
                unlisted = unverified_series_reason(city, kind, registry)
                if unlisted:
                    decisions = withhold(decisions, unlisted)
                    unverified.setdefault(key, []).append(kind)
                lots += lots_from_decisions(decisions, as_of, settles_at)
                stale_partitions += stale
                frames.append(_decision_rows(decisions, kind, as_of))
                for d in decisions:
                    code = reason_code(d.reason)
                    reasons[code] = reasons.get(code, 0) + 1
                    if d.taken:
                        repo.append_event(
                            session,
                            "decision",
                            {
                                "ticker": d.ticker,
                                "side": d.side,
                                "count": d.count,
                                "price": d.price,
                                "ev_per_contract": d.ev_per_contract,
                            },
                            city=city,
                            climate_date=day,
                            key=(d.ticker, d.side, as_of),
                        )
            if frames:
                rows = pd.concat(frames, ignore_index=True)
                repo.replace_decisions(session, city, day, rows)
                candidates += len(rows)
                taken += int(rows["taken"].sum())
                own[key] = {
                    "candidates": len(rows),
                    "taken": int(rows["taken"].sum()),
                    "blocked_by_check": blocked.get(key, "none"),
                    "edge_gate": edge_verdicts.get(key, "none"),
                    "unverified_series": ", ".join(unverified.get(key, [])) or "none",
                    **{
                        f"reason_{k}": int(v)
                        for k, v in rows["reason"].map(reason_code).value_counts().items()
                    },
                }
    yield from per_partition_results(
        context,
        {
            "candidates": candidates,
            "taken": taken,
            "stale_events": stale_partitions,
            "blocked_by_check": ", ".join(f"{k}: {v}" for k, v in sorted(blocked.items()))
            or "none",
            "require_measured_edge": config.require_measured_edge,
            "unverified_series": ", ".join(
                f"{k}: {'+'.join(v)}" for k, v in sorted(unverified.items())
            )
            or "none",
            "partitions_without_measured_edge": sum(
                v != "measured edge" for v in edge_verdicts.values()
            ),
            **{f"reason_{k}": v for k, v in sorted(reasons.items())},
        },
        own,
    )


def _ours(
    session: Any, pool: Any, probs: pd.DataFrame, quotes: list[Any], as_of: datetime
) -> list[float]:
    """Ours for one event's brackets: the weather probabilities pooled with the market's."""
    tickers = probs["ticker"].tolist()
    tape = [
        {"ticker": t.ticker, "traded_at": t.traded_at, "yes_price": float(t.yes_price),
         "count": float(t.count)}
        for ticker in tickers
        for t in repo.trades_for(session, ticker, as_of - timedelta(days=1), as_of)
    ]  # fmt: skip
    traded = np.full(len(tickers), np.nan)
    if tape:
        requests = pd.DataFrame({"ticker": tickers, "at": [as_of] * len(tickers)})
        traded = bracket_prices(pd.DataFrame(tape), requests, WINDOW)
    mids = [float((q.yes_bid + q.yes_ask) / 2) for q in quotes]
    market = market_probabilities(traded.tolist(), mids)
    weather = probs["p_model"].to_numpy(dtype=float)
    events = [q.event_ticker for q in quotes]
    pooled = pool.combine(
        weather, np.asarray(market, dtype=float), np.asarray(events, dtype=object)
    )
    return [min(max(float(p), 0.0), 1.0) for p in pooled]


def _edge_reason(
    version: str | None, evaluations: Any, city: str, day: date, as_of: datetime
) -> str | None:
    """Why the model may not trade on its edge at ``as_of`` (None: a measured edge exists)."""
    if version is None:
        return no_evaluation_reason(as_of)
    evaluation: Evaluation = evaluations.at(as_of)[1]
    instant = nearest_instant(city, day, as_of, evaluation.instants)
    edge = evaluation.edges.get((city, instant.label))
    return edge_gate_reason(edge, instant, evaluation.min_events)


def _decision_rows(decisions: list[Decision], kind: str, as_of: object) -> pd.DataFrame:
    return pd.DataFrame(
        [{**d.record(), "kind": kind, "as_of": as_of, "taken": d.taken} for d in decisions]
    )


@asset(
    **PARTITIONED,
    deps=["trade_decisions"],
    group_name="trading",
    kinds=KINDS_TAG,
    pool="kalshi_api",
    description=(
        "Orders sent for the taken decisions, with their fills and the positions they build. "
        "Idempotent: each order has a deterministic client order id and is never sent twice. "
        "No new order goes to a market whose stored position disagrees with the exchange's."
    ),
    check_specs=[
        AssetCheckSpec(
            "positions_match_exchange",
            asset="orders",
            description="Stored positions equal the exchange's; a market that differs is halted.",
        )
    ],
)
def orders(
    context: AssetExecutionContext,
    database: DatabaseResource,
    broker: BrokerResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Send every taken decision whose order was not sent yet; record results, fills, positions.

    An order recorded as ``pending`` (a crash between recording and sending) is sent again
    under the same client order id, which the exchange rejects if it already has it. Those go
    first, since their fills may be what the exchange has and we lack; then the partition's
    positions are reconciled with the exchange's, and new orders go only to markets that agree.
    In manual-approval mode new orders are only those of approved proposals (``_approved``).
    """
    client, reader = broker.client(), broker.exchange_positions()
    already = halted = killed = 0
    kill_switch = database.operator_settings().kill_switch  # the dashboard's, read per run
    results: list[OrderResult] = []
    mismatches: list[PositionMismatch] = []
    own: dict[str, dict[str, Any]] = {}
    for city, day, key in city_days(context):
        with database.session() as session:
            decisions = repo.decisions_for(session, city, day)
            if decisions.empty:
                continue
            decided_at = decisions["as_of"].max().to_pydatetime()
            books = {
                s.ticker: s
                for kind in KINDS
                for s in repo.market_snapshots(session, city, day, kind, as_of=decided_at)
            }
            recorded = repo.orders_for(session, city=city, day=day)
        status = dict(zip(recorded["client_order_id"], recorded["status"], strict=True))
        pending: list[_ToSend] = []
        new: list[_ToSend] = []
        for row in decisions[decisions["taken"]].itertuples(index=False):
            decision = Decision.from_record(row._asdict())
            as_of = row.as_of.to_pydatetime()
            item = _ToSend(row.kind, decision, order_from_decision(decision, key, as_of), as_of)
            if status.get(item.order.client_order_id, "pending") != "pending":
                already += 1
            else:
                (pending if item.order.client_order_id in status else new).append(item)
        new = _approved(context, database, city, day, new, clock.now())
        if kill_switch:  # no order leaves, not even a pending one, while the switch is on
            killed += len(pending) + len(new)
            pending, new = [], []
        send = partial(_send, database, client, city, day, books)
        sent = [send(item) for item in pending]
        found = _reconcile(database, reader, city, day, set(decisions["ticker"]))
        mismatches += found
        stopped = {m.ticker for m in found}
        day_halted = sum(item.decision.ticker in stopped for item in new)
        sent += [send(item) for item in new if item.decision.ticker not in stopped]
        results += sent
        halted += day_halted
        own[key] = {**_order_figures(sent), "orders_halted": day_halted}
    mismatched = ", ".join(f"{m.ticker} ours {m.ours} exchange {m.exchange}" for m in mismatches)
    run_totals = {
        **_order_figures(results),
        "already_sent": already,
        "orders_halted": halted,
        "orders_held_by_kill_switch": killed,
        "positions_reconciled": reader is not None,
    }
    check = AssetCheckResult(
        check_name="positions_match_exchange",
        passed=not mismatches,
        severity=AssetCheckSeverity.ERROR,
        metadata={"mismatched": mismatched or "none", "mismatch_count": len(mismatches)},
    )
    yield from per_partition_results(context, run_totals, own, [check])


def _order_figures(results: list[OrderResult]) -> dict[str, Any]:
    """Orders sent, contracts filled and fees paid of ``results``."""
    return {
        "orders_sent": len(results),
        "contracts_filled": sum(r.filled_count for r in results),
        "fees_paid": float(sum((f.fee for r in results for f in r.fills), Decimal("0"))),
    }


@dataclasses.dataclass(frozen=True)
class _ToSend:
    kind: str
    decision: Decision
    order: OrderRequest
    as_of: datetime


def _approved(
    context: AssetExecutionContext,
    database: DatabaseResource,
    city: str,
    day: date,
    items: list[_ToSend],
    now: datetime,
) -> list[_ToSend]:
    """The approval queue (``core/approval.py``): with manual approval on, each new taken
    decision is queued once as a proposal, and only approved, unexpired ones are sent."""
    by_id = {item.order.client_order_id: item for item in items}
    with database.session() as session:
        if not by_id or not repo_proposals.manual_approval_on(session):
            return items
        proposals = repo_proposals.proposals_for(session, by_id)
        queued = repo_proposals.add_proposals(
            session,
            [
                repo_proposals.NewProposal(cid, city, day, item.kind, item.as_of, item.decision)
                for cid, item in to_propose(by_id, proposals).items()
            ],
            now,
        )
    approved = approved_for_orders(by_id, proposals, now)
    context.log.info(
        f"manual approval: {queued} proposals queued, {len(approved)} of {len(by_id)} approved"
    )
    return list(approved.values())


def _send(
    database: DatabaseResource,
    client: Broker,
    city: str,
    day: date,
    books: dict[str, MarketSnapshot],
    item: _ToSend,
) -> OrderResult:
    """Record ``item``'s order as pending, send it, then record the result and its fills."""
    decision, order = item.decision, item.order
    record = partial(
        repo.record_order, order=order, city=city, climate_date=day, kind=item.kind,
        outcome_side=decision.side, created_at=item.as_of,
    )  # fmt: skip
    with database.session() as session:
        # Recorded before it is sent: after a crash the id shows the order may be live.
        record(session)
    result = client.place(order, books[decision.ticker], as_of=item.as_of)
    with database.session() as session:
        record(session, result=result)
        repo.record_fills(session, result.fills)
        repo.append_event(
            session,
            "order",
            {
                "client_order_id": order.client_order_id,
                "ticker": order.ticker,
                "side": decision.side,
                "status": result.status,
                "filled": result.filled_count,
            },
            city=city,
            climate_date=day,
            key=(order.client_order_id, result.status),
        )
    return result


def _reconcile(
    database: DatabaseResource,
    reader: PositionReader | None,
    city: str,
    day: date,
    tickers: set[str],
) -> list[PositionMismatch]:
    """The city-day's markets whose stored open position differs from the exchange's.

    Compares ``tickers`` and every market we hold; settled positions are left out (the
    exchange closes them). Each mismatch goes to the events outbox as ``reconciliation``.
    """
    if reader is None:
        return []
    exchange = reader.positions()
    with database.session() as session:
        held = repo.positions_for(session, city=city, day=day)
        settled = {p.ticker for p in held if p.settled}
        ours = net_yes((p.ticker, p.outcome_side, p.count) for p in held if not p.settled)
        found = position_mismatches(ours, exchange, (tickers | set(ours)) - settled)
        for m in found:
            repo.append_event(
                session,
                "reconciliation",
                {"ticker": m.ticker, "ours": m.ours, "exchange": m.exchange, "halted": True},
                city=city,
                climate_date=day,
            )
    return found


@asset(
    **PARTITIONED,
    deps=["orders", "climate_reports"],
    group_name="trading",
    kinds=KINDS_TAG,
    description="Each position settled from the final climate report, with its P&L.",
)
def settlements(
    context: AssetExecutionContext, database: DatabaseResource
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Settle the partition's positions once its final report exists."""
    settled = waiting = 0
    pnl = Decimal("0")
    own: dict[str, dict[str, Any]] = {}
    for city, day, key in city_days(context):
        with database.session() as session:
            final = repo.final_report(session, city, day)
            if final is None:
                waiting += 1
                own[key] = {"positions_settled": 0, "awaiting_final_report": 1, "pnl": 0.0}
                continue
            brackets = {}
            for kind in KINDS:
                value = final.value(kind)
                for s in repo.market_snapshots(session, city, day, kind):
                    bracket = brackets[s.ticker] = s.bracket
                    if value is not None:
                        result = "yes" if bracket.settles_yes(value) else "no"
                        repo.set_market_result(
                            session, s.ticker, result=result, settled_value=value
                        )
            outcomes = []
            for p in repo.positions_for(session, city=city, day=day):
                value = final.value(p.kind)
                if value is None or p.count == 0:
                    continue
                outcomes.append(
                    settle_position(p, brackets[p.ticker], value, settled_at=final.issued_at)
                )
            if outcomes:
                rows = pd.DataFrame([dataclasses.asdict(o) for o in outcomes])
                repo.replace_settlements(session, city, day, rows)
                day_pnl = sum((o.pnl for o in outcomes), Decimal("0"))
                repo.append_event(
                    session,
                    "settlement",
                    {"positions": len(outcomes), "pnl": day_pnl},
                    city=city,
                    climate_date=day,
                    key=sorted(f"{o.ticker}/{o.outcome_side}/{o.count}/{o.pnl}" for o in outcomes),
                )
                settled += len(outcomes)
                pnl += day_pnl
            own[key] = {
                "positions_settled": len(outcomes),
                "awaiting_final_report": 0,
                "pnl": float(sum((o.pnl for o in outcomes), Decimal("0"))),
            }
    yield from per_partition_results(
        context,
        {"positions_settled": settled, "awaiting_final_report": waiting, "pnl": float(pnl)},
        own,
    )


@asset(
    **PARTITIONED,
    deps=["settlements", "bracket_probabilities"],
    group_name="trading",
    kinds=KINDS_TAG,
    description=(
        "Multi-category Brier score of our bracket probabilities next to the market's "
        "(normalised mids) on every settled event."
    ),
)
def forecast_scores(
    context: AssetExecutionContext, database: DatabaseResource
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Score each settled event of the range; lower Brier is better."""
    scores = []
    own: dict[str, dict[str, Any]] = {}
    with database.session() as session:
        for city, day, key in city_days(context):
            day_scores = repo.event_scores(session, city, day)
            own[key] = _score_figures(day_scores)
            scores += day_scores
    yield from per_partition_results(context, _score_figures(scores), own)


def _score_figures(scores: list[EventScore]) -> dict[str, Any]:
    """Events scored and the mean Brier of our probabilities and of the market's."""
    brier_model, brier_market = repo.mean_briers(scores)
    return {
        "events_scored": len(scores),
        "brier_model": round(brier_model, 4) if brier_model is not None else 0.0,
        "brier_market": round(brier_market, 4) if brier_market is not None else 0.0,
    }
