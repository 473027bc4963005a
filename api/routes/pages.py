"""The dashboard's HTML pages: overview, markets, trades, performance, backtests, settings,
series, logs.

Server-rendered with Jinja2; plots are SVG drawn here (:mod:`api.plots`), so nothing is fetched
from a CDN. Pages that show live data carry ``data-live`` and ``static/live.js`` re-renders
their ``data-live-region`` parts when the ``/ws`` feed brings new events. Every page sits behind
the login (:data:`PAGE_DEPENDENCIES`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api import backtest_reports, dagster_log, plots, queries, queries_pages
from api.deps import get_engine, get_settings
from api.operator_settings import current_operator_settings
from api.security import require_user
from api.templating import templates
from weather_trader.core.cities import CITIES
from weather_trader.core.series_registry import unlisted_series
from weather_trader.store import repo_proposals, repo_registry
from weather_trader.store.db import session_scope

PAGE_DEPENDENCIES: list[Any] = [Depends(require_user)]
"""Dependencies of every page: the login (a redirect to the login page without a session)."""

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

OUR_MODEL, MARKET = "our model", "market mid"


def render(request: Request, name: str, page: str, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the common context (active page, CSRF token, user)."""
    state = request.state
    return templates.TemplateResponse(
        request,
        name,
        {
            "page": page,
            "csrf_token": getattr(state, "csrf_token", ""),
            "user": getattr(state, "username", None),
            "now": datetime.now(UTC),
            **context,
        },
    )


def _session(request: Request) -> Any:
    return session_scope(get_engine(request.app))


# --- overview --------------------------------------------------------------------------------


def _overview_context(request: Request) -> dict[str, Any]:
    settings = get_settings(request.app)
    now = datetime.now(UTC)
    overview = queries.overview(
        get_engine(request.app), settings.bankroll, now, settings.recent_decisions
    )
    with _session(request) as session:
        marked = queries_pages.marked_positions(session, list(overview.open_positions))
        alerts = queries_pages.recent_alerts(session)
        pending = sum(p.status == "pending" for p in repo_proposals.list_proposals(session, now))
    operator = current_operator_settings(request.app)
    if operator.manual_approval and pending:
        alerts.insert(
            0, queries_pages.Alert(now, "approval", f"{pending} proposals wait in the queue")
        )
    if operator.kill_switch:
        alerts.insert(0, queries_pages.Alert(now, "kill_switch", "on: no new orders are sent"))
    unrealised = [m.unrealised for m in marked if m.unrealised is not None]
    stale = queries_pages.stale_products({f.product: f.age_seconds for f in overview.freshness})
    return {
        "o": overview,
        "marked": marked,
        "unrealised": sum(unrealised, Decimal("0")) if unrealised else None,
        "unmarked": sum(1 for m in marked if m.unrealised is None),
        "stale": stale,
        "alerts": alerts,
    }


@router.get("/", response_class=HTMLResponse)
async def overview_page(request: Request) -> HTMLResponse:
    """Bankroll, exposure, realised and marked-to-market P&L, positions, freshness, alerts."""
    context = await run_in_threadpool(_overview_context, request)
    return render(request, "overview.html", "overview", **context)


# --- markets ---------------------------------------------------------------------------------


def _markets_context(request: Request, city: str | None, day: date | None) -> dict[str, Any]:
    with _session(request) as session:
        days = queries_pages.market_days(session)
        if (city is None or day is None) and days:
            city, day = city or days[0][0], day or days[0][1]
        view = (
            queries_pages.market_view(session, city, day, datetime.now(UTC))
            if city and day
            else None
        )
    charts = {}
    if view is not None:
        for k in view.kinds:
            charts[k.kind] = plots.grouped_bars(
                [b.label for b in k.brackets],
                {
                    OUR_MODEL: [b.p_model for b in k.brackets],
                    MARKET: [b.p_market for b in k.brackets],
                },
                title=f"{view.city} {view.day} {k.kind}: P(YES) per bracket",
                y_max=1.0,
            )
    head = queries.head_event_id(get_engine(request.app))
    return {"days": days, "view": view, "charts": charts, "city": city, "day": day, "live_id": head}


@router.get("/markets", response_class=HTMLResponse)
async def markets_page(
    request: Request,
    city: Annotated[str | None, Query()] = None,
    day: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    """One city-day: our bracket distribution next to the market, forecasts, observations."""
    if city is not None and city not in CITIES:
        raise HTTPException(404, f"unknown city {city!r}")
    context = await run_in_threadpool(_markets_context, request, city, day)
    return render(request, "markets.html", "markets", cities=sorted(CITIES), **context)


# --- trades ----------------------------------------------------------------------------------


@router.get("/trades", response_class=HTMLResponse)
async def trades_page(
    request: Request,
    city: Annotated[str | None, Query()] = None,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Order history grouped by event, filtered by city, climate-day range and status."""
    city = city or None
    status = status or None

    def load() -> list[queries_pages.EventTrades]:
        with _session(request) as session:
            return queries_pages.trades(session, city=city, start=start, end=end, status=status)

    events = await run_in_threadpool(load)
    head = await run_in_threadpool(queries.head_event_id, get_engine(request.app))
    filters = {"city": city or "", "start": start or "", "end": end or "", "status": status or ""}
    return render(
        request,
        "trades.html",
        "trades",
        events=events,
        filters=filters,
        cities=sorted(CITIES),
        live_id=head,
    )


@router.get("/trades/{city}/{day}/{kind}", response_class=HTMLResponse)
async def post_mortem_page(request: Request, city: str, day: date, kind: str) -> HTMLResponse:
    """The post-mortem of one event: forecast vs what happened, closest source, P&L, fees."""
    if city not in CITIES or kind not in ("high", "low"):
        raise HTTPException(404, "no such event")

    def load() -> queries_pages.PostMortem:
        with _session(request) as session:
            return queries_pages.post_mortem(session, city, day, kind)

    pm = await run_in_threadpool(load)
    chart = plots.grouped_bars(
        [s.source + ("/" + s.model if s.model != s.source else "") for s in pm.sources],
        {"forecast error (F)": [s.error for s in pm.sources]},
        title="forecast minus actual per source",
        fmt=".1f",
    )
    return render(request, "post_mortem.html", "trades", pm=pm, chart=chart)


# --- performance -----------------------------------------------------------------------------


def _day_axis(days: list[date]) -> dict[float, str]:
    """About six evenly spaced date labels for an x axis of ordinals."""
    if not days:
        return {}
    step = max(1, len(days) // 6)
    return {float(d.toordinal()): d.strftime("%m-%d") for d in days[::step]}


def _performance_context(request: Request) -> dict[str, Any]:
    bankroll = get_settings(request.app).bankroll
    with _session(request) as session:
        perf = queries_pages.performance(session, bankroll)
    days = [p.day for p in perf.equity]
    equity = plots.lines(
        [
            plots.Series(
                "equity",
                [(d.toordinal(), float(p.equity)) for d, p in zip(days, perf.equity, strict=True)],
            )
        ],
        title="equity (bankroll + settled P&L)",
        x_labels=_day_axis(days),
    )
    drawdown = plots.lines(
        [
            plots.Series(
                "drawdown",
                [
                    (d.toordinal(), float(p.drawdown))
                    for d, p in zip(days, perf.equity, strict=True)
                ],
            )
        ],
        title="drawdown from the peak",
        x_labels=_day_axis(days),
    )
    by_city = plots.grouped_bars(
        list(perf.pnl_by_city),
        {"P&L ($)": [float(v) for v in perf.pnl_by_city.values()]},
        title="settled P&L per city",
    )
    calibration = plots.lines(
        [
            plots.Series(OUR_MODEL, [(b.mean_p, b.frequency) for b in perf.calibration_model]),
            plots.Series(MARKET, [(b.mean_p, b.frequency) for b in perf.calibration_market]),
        ],
        title="reliability: forecast probability vs observed frequency",
        y_range=(0.0, 1.0),
        diagonal=True,
        markers=True,
    )
    brier_days = [d for d, *_ in perf.briers]
    brier = plots.lines(
        [
            plots.Series(OUR_MODEL, [(d.toordinal(), m) for d, m, _, _ in perf.briers]),
            plots.Series(MARKET, [(d.toordinal(), q) for d, _, q, _ in perf.briers]),
        ],
        title="mean event Brier per climate day (lower is better)",
        x_labels=_day_axis(brier_days),
        fmt=".3f",
        markers=True,
    )
    n = len(perf.briers)
    return {
        "perf": perf,
        "charts": {
            "equity": equity,
            "drawdown": drawdown,
            "by_city": by_city,
            "calibration": calibration,
            "brier": brier,
        },
        "mean_brier_model": sum(b[1] for b in perf.briers) / n if n else None,
        "mean_brier_market": sum(b[2] for b in perf.briers) / n if n else None,
    }


@router.get("/performance", response_class=HTMLResponse)
async def performance_page(request: Request) -> HTMLResponse:
    """Equity and drawdown, P&L per city, calibration, our Brier vs the market's."""
    context = await run_in_threadpool(_performance_context, request)
    return render(request, "performance.html", "performance", **context)


# --- backtests -------------------------------------------------------------------------------


@router.get("/backtests", response_class=HTMLResponse)
async def backtests_page(request: Request) -> HTMLResponse:
    """The backtest reports found in the home's ``backtests/`` folder."""
    folder = backtest_reports.reports_dir(get_settings(request.app).home)
    files = await run_in_threadpool(backtest_reports.list_reports, folder)
    return render(request, "backtests.html", "backtests", files=files, folder=folder)


@router.get("/backtests/{name}", response_class=HTMLResponse)
async def backtest_page(request: Request, name: str) -> HTMLResponse:
    """One backtest report: its summary and a plot per numeric series."""
    folder = backtest_reports.reports_dir(get_settings(request.app).home)
    try:
        report = await run_in_threadpool(backtest_reports.read_report, folder, name)
    except FileNotFoundError:
        raise HTTPException(404, f"no backtest report {name!r}") from None
    charts = {}
    for key, points in report.series.items():
        xs = [backtest_reports.x_position(x, i) for i, (x, _) in enumerate(points)]
        labels = {xs[i]: points[i][0][:10] for i in range(0, len(points), max(1, len(points) // 6))}
        charts[key] = plots.lines(
            [plots.Series(key, list(zip(xs, (y for _, y in points), strict=True)))],
            title=key,
            x_labels=labels,
        )
    return render(request, "backtest.html", "backtests", report=report, charts=charts)


# --- settings and logs -----------------------------------------------------------------------


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request) -> HTMLResponse:
    """A form over ``GET``/``PUT /api/settings`` and the Kalshi key (id and fingerprint only)."""
    return render(request, "settings.html", "settings", cities=sorted(CITIES))


# --- series registry -------------------------------------------------------------------------


@router.get("/series", response_class=HTMLResponse)
async def series_page(request: Request) -> HTMLResponse:
    """Every Kalshi temperature series discovered, its station, and why it is not verified
    (unverified series are never traded)."""

    def load() -> dict[str, Any]:
        with _session(request) as session:
            entries = repo_registry.load_registry(session)
            discovered_at = repo_registry.registry_discovered_at(session)
        return {
            "entries": entries,
            "discovered_at": discovered_at,
            "verified": sum(e.verified for e in entries),
            "unlisted": unlisted_series(entries) if entries else [],
        }

    context = await run_in_threadpool(load)
    return render(request, "series.html", "series", **context)


@router.get("/logs", response_class=HTMLResponse)
async def logs_page(
    request: Request, status: Annotated[str | None, Query(max_length=16)] = None
) -> HTMLResponse:
    """Recent alerts and errors from the outbox, and Dagster runs with links into its UI."""
    status = (status or "").upper() or None
    if status is not None and status not in {"SUCCESS", "FAILURE", "CANCELED", "STARTED", "QUEUED"}:
        raise HTTPException(
            422, "status must be one of SUCCESS, FAILURE, CANCELED, STARTED, QUEUED"
        )

    def load() -> dict[str, Any]:
        with _session(request) as session:
            alerts = queries_pages.recent_alerts(session, limit=100)
        try:
            runs = dagster_log.recent_runs(50, status=status)
            runs_error = None
        except Exception as exc:  # the instance may be unreadable; the page still shows alerts
            runs, runs_error = None, type(exc).__name__
        return {"alerts": alerts, "runs": runs, "runs_error": runs_error}

    context = await run_in_threadpool(load)
    return render(
        request,
        "logs.html",
        "logs",
        dagster_url=dagster_log.dagster_ui_url(),
        status=status or "",
        **context,
    )


# --- /docs, offline --------------------------------------------------------------------------


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI from the vendored ``static/swagger-ui`` files (no CDN, no inline script)."""
    csrf_token = getattr(request.state, "csrf_token", "")
    return templates.TemplateResponse(request, "docs.html", {"csrf_token": csrf_token})
