"""Scale: a year of archive and a year of trading replay for every series, on SQLite and Postgres.

Runs the demo's machinery (``weather_trader.demo.run_world``: the series registry against the
local exchange, the backfill and market recording in two lanes, the models and their
walk-forward evaluation, then the replay through the local exchange) over a 365-day archive and
the following ``--replay-days`` (default 365) traded climate days, every run over a range of
partitions spanning many cities (never one run per city-day). The replay goes in chunks of
``--chunk-days`` days (two runs each: weather and markets, then decisions, orders and
settlement, over every city) and starts no new chunk after ``--budget`` seconds, so the
report says how much of the year fitted and the measured time per replayed day.

Each backend runs in a fresh child process with a fresh home: ``sqlite`` (the domain database
and Dagster's storage as SQLite files under the home) and ``postgres`` (both on a Postgres server,
``--postgres-url`` or ``WEATHER_TRADER_TEST_POSTGRES_URL``, in two databases created for the run
and dropped after). Reported per backend: wall time per phase, Dagster runs launched, database
size, and peak memory (``ru_maxrss`` of the child and of its worker process: the two lanes run at
the same time, so their sum bounds the peak of the whole).

    .venv/bin/python benchmarks/scale.py [--backend sqlite,postgres] [--replay-days 365]
        [--chunk-days 28] [--budget 600] [--postgres-url postgresql://postgres@127.0.0.1:5432/x]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HISTORY_DAYS = 365
POSTGRES_ENV = "WEATHER_TRADER_TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 600
TARGET_MB = 2048


def main() -> int:
    """Run each backend in a child process and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite,postgres")
    parser.add_argument("--history-days", type=int, default=HISTORY_DAYS)
    parser.add_argument("--replay-days", type=int, default=365)
    parser.add_argument("--chunk-days", type=int, default=28)
    parser.add_argument("--budget", type=float, default=TARGET_SECONDS)
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_backend(args.child, args)), flush=True)
        return 0
    results = []
    for backend in args.backend.split(","):
        print(f"[scale] {backend}: running (budget {args.budget:.0f}s)", flush=True)
        child = subprocess.run(
            [sys.executable, __file__, "--child", backend, *_passed(args)],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [ln for ln in child.stdout.splitlines() if ln.startswith("{")]
        if child.returncode or not lines:
            print(child.stdout[-3000:], child.stderr[-3000:], sep="\n")
            return 1
        for line in child.stdout.splitlines():
            if line.startswith("[demo]"):
                print(f"    {line}")
        results.append(json.loads(lines[-1]))
    print(format_report(results, args))
    return 0


def _passed(args: argparse.Namespace) -> list[str]:
    return [
        f"--history-days={args.history_days}",
        f"--replay-days={args.replay_days}",
        f"--chunk-days={args.chunk_days}",
        f"--budget={args.budget}",
        f"--postgres-url={args.postgres_url}",
    ]


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, object]:
    """In the child: the whole run on ``backend``; its measurements."""
    from dagster import DagsterInstance

    from weather_trader.demo import Pace, Window, last_settled_day, run_world
    from weather_trader.settings import Settings

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"wt-scale-{backend}-") as home:
        env = {"WEATHER_TRADER_HOME": home}
        with _postgres(backend, args.postgres_url) as urls:
            if urls:
                env |= {"DATABASE_URL": urls[0], "WEATHER_TRADER_DAGSTER_POSTGRES_URL": urls[1]}
            settings = Settings.from_env(env)
            window = Window.ending(
                last_settled_day(datetime.now(UTC)), args.replay_days, args.history_days
            )
            phases: dict[str, float] = {}
            pace = Pace(chunk_days=args.chunk_days, deadline=started + args.budget, overlap=False)
            cities = run_world(settings, window, phases, pace)
            if cities is None:
                raise SystemExit(f"{backend}: a run failed")
            with DagsterInstance.get() as instance:
                runs = instance.get_runs_count()
            size = _database_bytes(home, urls)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "backend": backend,
        "cities": len(cities),
        "series": 2 * len(cities),
        "archive_days": args.history_days,
        "replay_days_asked": args.replay_days,
        "phases": phases,
        "total_seconds": time.monotonic() - started,
        "runs": runs,
        "database_mb": {k: v / 2**20 for k, v in size.items()},
        "peak_mb": {"main": own, "worker": worker},
    }


@contextmanager
def _postgres(backend: str, server_url: str) -> Iterator[tuple[str, str] | None]:
    """Two fresh databases (domain, Dagster) on the server for ``postgres``; dropped after."""
    if backend != "postgres":
        yield None
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from weather_trader.store.db import make_engine

    stem = f"wt_scale_{uuid.uuid4().hex[:8]}"
    names = (f"{stem}_domain", f"{stem}_dagster")
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url)
    try:
        yield tuple(url.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _database_bytes(home: str, urls: tuple[str, str] | None) -> dict[str, int]:
    """Bytes of the domain database and of Dagster's storage."""
    if urls is None:
        root = Path(home)
        domain = sum(p.stat().st_size for p in root.glob("weather_trader.db*"))
        dagster = sum(p.stat().st_size for p in (root / "dagster").rglob("*") if p.is_file())
        return {"domain": domain, "dagster": dagster}
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from weather_trader.store.db import make_engine

    sizes = {}
    for label, url in zip(("domain", "dagster"), urls, strict=True):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                name = make_url(url).database
                sizes[label] = int(
                    conn.execute(text("SELECT pg_database_size(:n)"), {"n": name}).scalar_one()
                )
        finally:
            engine.dispose()
    return sizes


def format_report(results: list[dict], args: argparse.Namespace) -> str:
    """The comparison table and the verdicts against the targets."""
    lines = [
        "",
        f"Scale: {results[0]['series']} series ({results[0]['cities']} cities x high/low), "
        f"{args.history_days}-day archive, replay of up to {args.replay_days} days in "
        f"{args.chunk_days}-day chunks, budget {args.budget:.0f}s (2 cores)",
        f"{'backend':<10}{'registry':>9}{'backfill':>9}{'models':>8}{'replay':>8}{'days':>6}"
        f"{'s/day':>7}{'total':>8}{'runs':>6}{'db MB':>8}{'peak MB':>17}",
    ]
    for r in results:
        p = r["phases"]
        days = int(p["replayed_days"])
        per_day = p["replay"] / days if days else float("nan")
        db = r["database_mb"]
        peak = f"{r['peak_mb']['main']:.0f} + {r['peak_mb']['worker']:.0f}"
        lines.append(
            f"{r['backend']:<10}{p['registry']:>9.1f}{p['backfill']:>9.1f}{p['models']:>8.1f}"
            f"{p['replay']:>8.1f}{days:>6}{per_day:>7.2f}{r['total_seconds']:>8.1f}"
            f"{r['runs']:>6}{db['domain'] + db['dagster']:>8.0f}"
            f"{peak:>17}"
        )
    lines.append(
        "(backfill = archive + market recording, two lanes; models = fit || walk-forward "
        "evaluation; db MB = domain + Dagster storage; peak MB = ru_maxrss of the main process "
        "+ of its worker, which run side by side)"
    )
    for r in results:
        p = r["phases"]
        days = int(p["replayed_days"])
        year = p["registry"] + p["backfill"] + p["models"] + p["replay"] / days * 365
        db = r["database_mb"]
        peak = r["peak_mb"]["main"] + r["peak_mb"]["worker"]
        lines.append(
            f"{r['backend']}: replayed {days} of {r['replay_days_asked']} days "
            f"({days / r['replay_days_asked']:.0%}) in {p['replay']:.0f}s; a full year at that "
            f"pace: {year / 60:.1f} min total (target {TARGET_SECONDS / 60:.0f} min: "
            f"{'met' if year < TARGET_SECONDS else 'missed'}); database "
            f"{db['domain']:.0f} MB domain + {db['dagster']:.0f} MB Dagster; peak memory "
            f"{peak:.0f} MB (target {TARGET_MB} MB: {'met' if peak < TARGET_MB else 'missed'})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
