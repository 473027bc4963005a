"""``weather-trader history``: import recorded history into the archive (and convert files).

``history import`` is this module's; ``history convert`` is added by
:func:`weather_trader.history.convert.add_convert_arguments` to the same ``history`` parser
(hook: :func:`add_arguments` calls it, :func:`run` dispatches to ``run_convert``).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

SHOWN_ISSUES = 100
"""Issues printed before "... and N more" (the first ones name the problem)."""
_SUFFIXES = {
    "events": (".json", ".json.gz"),
    "trades": (".json", ".json.gz", ".csv", ".csv.gz"),
    "forecasts": (".csv", ".csv.gz"),
    "reports": (".csv", ".csv.gz"),
}


def add_arguments(subparsers: Any) -> None:
    """Add the ``history`` command (``import`` and ``convert``) to ``subparsers``."""
    history = subparsers.add_parser("history", help="import recorded history into the archive")
    commands = history.add_subparsers(dest="history_command", required=True)
    imp = commands.add_parser(
        "import",
        help="import Kalshi events/trades and forecast/report CSVs (all or nothing, idempotent)",
        description="Validate every row of every file, then write them in one transaction; a "
        "bad row is reported as file:line and nothing is written. Re-importing adds nothing. "
        "A directory stands for the matching files inside it (recursively).",
    )
    imp.add_argument("--events", nargs="+", type=Path, default=[], metavar="PATH",
                     help="Kalshi event JSON files ({event, markets})")  # fmt: skip
    imp.add_argument("--trades", nargs="+", type=Path, default=[], metavar="PATH",
                     help="trades: /markets/trades JSON or Kalshi-named CSV (.gz)")  # fmt: skip
    imp.add_argument("--forecasts", nargs="+", type=Path, default=[], metavar="PATH",
                     help="CSV: city,kind,source,model,member,issued_at,climate_date,"
                          "value_f")  # fmt: skip
    imp.add_argument("--reports", nargs="+", type=Path, default=[], metavar="PATH",
                     help="CSV: city,kind,climate_date,value_f,final,issued_at")  # fmt: skip
    imp.add_argument("--no-derive", action="store_true",
                     help="do not derive market rows from traded tickers without one")  # fmt: skip
    imp.add_argument("--totals-only", action="store_true",
                     help="print one line per input kind instead of one per file")  # fmt: skip
    # `history convert` lives with the converters: they add their own sub-command here.
    from weather_trader.history.convert import add_convert_arguments

    add_convert_arguments(commands)


def run(settings: Any, args: argparse.Namespace) -> int:
    """Run a ``history`` sub-command; 0 on success, 1 when the input was refused."""
    if args.history_command == "convert":
        from weather_trader.history.convert import run_convert

        return int(run_convert(settings, args))
    return _import(settings, args)


def expand(paths: list[Path], kind: str) -> list[Path]:
    """Files given, with each directory replaced by its matching files (sorted, recursive)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES[kind])
            )
        else:
            out.append(path)
    return out


def _import(settings: Any, args: argparse.Namespace) -> int:
    from weather_trader.history.loader import import_history
    from weather_trader.store.db import make_engine, migrate

    inputs = {kind: expand(getattr(args, kind), kind) for kind in _SUFFIXES}
    if not any(inputs.values()):
        print("history import: nothing to import (give --events, --trades, --forecasts or "
              "--reports)", file=sys.stderr)  # fmt: skip
        return 2
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        result = import_history(engine, **inputs, derive=not args.no_derive)
    finally:
        engine.dispose()
    if not result.written:
        for issue in result.issues[:SHOWN_ISSUES]:
            print(issue, file=sys.stderr)
        more = len(result.issues) - SHOWN_ISSUES + result.issues_dropped
        if more > 0:
            print(f"... and {more} more", file=sys.stderr)
        print("history import: refused, nothing was written", file=sys.stderr)
        return 1
    if args.totals_only:
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for s in result.files:
            t = totals[s.kind]
            for i, n in enumerate((1, s.read, s.inserted, s.updated, s.present)):
                t[i] += n
        for kind, (files, read, inserted, updated, present) in totals.items():
            print(f"{kind:<9} {files} files: {read} read, {inserted} inserted, "
                  f"{updated} updated, {present} already present")  # fmt: skip
    else:
        for summary in result.files:
            print(summary)
    if result.derived.inserted:
        print(f"markets   {result.derived.inserted} derived from traded tickers without an event "
              "file (status 'derived', no result)")  # fmt: skip
    if result.underived:
        examples = ", ".join(sorted(result.underived)[:5])
        print(f"no market row for {len(result.underived)} traded tickers ({examples}); "
              "their trades are imported")  # fmt: skip
    print(f"history import: done in {result.seconds:.1f} s")
    return 0
