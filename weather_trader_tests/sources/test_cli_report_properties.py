"""Property tests of the CLI parser: generated reports in the real layout (the sim's CLI writer)
read back to their values; single mutations of a final report (truncated numbers, swapped
characters, garbage, Unicode digits) raise ``CliParseError`` or read back to the truth, never a
different value and never another exception."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weather_trader.core.cities import CITIES, get_city
from weather_trader.sim.reports import TempRow, render_cli_text
from weather_trader.sources.cli_report import CliParseError, parse_cli

SETTINGS = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
QUICK = settings(SETTINGS, max_examples=100)


@dataclass(frozen=True)
class Case:
    """A generated report: its text and the values it states."""

    text: str
    product: str
    climate_date: date
    max_f: int
    min_f: int
    final: bool
    correction: bool
    issued_at: datetime


@st.composite
def temp_row(draw: st.DrawFn, day: date, observed: int, high: bool) -> TempRow:
    """A MAXIMUM/MINIMUM row as the CLI prints it: a record flagged ``R`` is the value itself."""
    is_record = draw(st.booleans())
    margin = draw(st.integers(1, 40))
    record = observed if is_record else observed + (margin if high else -margin)
    clock = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))
    return TempRow(
        observed=observed,
        time_lst=datetime.combine(day, clock),
        record=record,
        record_year=day.year if is_record else draw(st.integers(1870, day.year - 1)),
        is_record=is_record,
        normal=draw(st.integers(-20, 100)),
        last_year=draw(st.integers(-50, 120)),
    )


@st.composite
def cases(draw: st.DrawFn, final: bool | None = None) -> Case:
    city = draw(st.sampled_from(sorted(CITIES)))
    day = draw(st.dates(date(1990, 1, 1), date(2035, 12, 31)))
    is_final = draw(st.booleans()) if final is None else final
    fix = draw(st.sampled_from([None, "HIGH", "LOW"])) if is_final else None
    high = draw(st.integers(-40, 125))
    low = draw(st.integers(-60, high))
    local = datetime.combine(day, time(), tzinfo=ZoneInfo(get_city(city).tz_name))
    minutes = draw(st.integers(17 * 60, 17 * 60 + 59) if not is_final else st.integers(1440, 2879))
    issued_at = (local + timedelta(minutes=minutes)).astimezone(UTC)
    text = render_cli_text(
        city,
        day,
        issued_at,
        draw(temp_row(day, high, True)),
        draw(temp_row(day, low, False)),
        is_final,
        fix,
    )
    return Case(
        text=text,
        product=get_city(city).cli_product,
        climate_date=day,
        max_f=high,
        min_f=low,
        final=is_final,
        correction=fix is not None,
        issued_at=issued_at,
    )


@QUICK
@given(cases())
def test_parse_of_rendered_report_is_its_values(case: Case) -> None:
    (report,) = parse_cli(case.text)
    assert (
        report.product,
        report.climate_date,
        report.max_f,
        report.min_f,
        report.final,
        report.correction,
        report.issued_at,
    ) == (
        case.product,
        case.climate_date,
        case.max_f,
        case.min_f,
        case.final,
        case.correction,
        case.issued_at,
    )


# -- mutations ----------------------------------------------------------------------------------

_ROW_RE = re.compile(r"^  (?:MAXIMUM|MINIMUM) .*$", re.MULTILINE)
_NUMBER_RE = re.compile(r"-?[0-9]+")
UNICODE_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")


def _row_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _ROW_RE.finditer(text)]


@st.composite
def truncated_number(draw: st.DrawFn, text: str) -> str:
    """A number of a MAXIMUM/MINIMUM row with its first or last digit cut ("63" -> "6")."""
    numbers = [m for a, b in _row_spans(text) for m in _NUMBER_RE.finditer(text, a, b)]
    m = draw(st.sampled_from(numbers))
    digits = m.group().lstrip("-")
    if len(digits) < 2:
        return text
    sign = "-" if m.group().startswith("-") else ""
    cut = sign + (digits[1:] if draw(st.booleans()) else digits[:-1])
    return text[: m.start()] + cut + text[m.end() :]


@st.composite
def swapped_characters(draw: st.DrawFn, text: str) -> str:
    """Two neighbouring characters of a MAXIMUM/MINIMUM row swapped ("63" -> "36")."""
    a, b = draw(st.sampled_from(_row_spans(text)))
    i = draw(st.sampled_from([i for i in range(a, b - 1) if text[i] != text[i + 1]]))
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


@st.composite
def garbage(draw: st.DrawFn, text: str) -> str:
    """Random characters inserted, or one character replaced or deleted, anywhere or in a row."""
    a, b = draw(st.sampled_from([(0, len(text)), *_row_spans(text)]))
    i = draw(st.integers(a, b - 1))
    junk = draw(
        st.text(min_size=1, max_size=3)
        | st.binary(min_size=1, max_size=3).map(lambda raw: raw.decode("latin-1"))
    )
    how = draw(st.sampled_from(["insert", "replace", "delete"]))
    if how == "insert":
        return text[:i] + junk + text[i:]
    if how == "replace":
        return text[:i] + junk[0] + text[i + 1 :]
    return text[:i] + text[i + 1 :]


@st.composite
def unicode_digit(draw: st.DrawFn, text: str) -> str:
    """An ASCII digit anywhere in the text replaced by a Unicode digit (Arabic-Indic, fullwidth)."""
    positions = [i for i, c in enumerate(text) if "0" <= c <= "9"]
    i = draw(st.sampled_from(positions))
    return text[:i] + draw(UNICODE_DIGITS) + text[i + 1 :]


MUTATIONS = [truncated_number, swapped_characters, garbage, unicode_digit]


@SETTINGS
@given(cases(final=True), st.sampled_from(MUTATIONS), st.data())
def test_mutated_final_report_raises_or_reads_the_truth(
    case: Case, mutation: object, data: st.DataObject
) -> None:
    text = data.draw(mutation(case.text))  # type: ignore[operator]
    try:
        reports = parse_cli(text)
    except CliParseError:
        return
    assert [(r.max_f, r.min_f) for r in reports] == [(case.max_f, case.min_f)]


@QUICK
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_raises_only_the_typed_error(text: str) -> None:
    with contextlib.suppress(CliParseError):
        parse_cli(text)
