"""Parser for the NWS Daily Climate Report (CLI product), the settlement source.

The value read is the OBSERVED column of the ``TEMPERATURE (F)`` table's ``YESTERDAY``/``TODAY``
block (first value after ``MAXIMUM``/``MINIMUM``); the normals block ("MAXIMUM TEMPERATURE (F)")
is never used. The other columns are read only to cross-check the observed value, in the order
the section's ``WEATHER ITEM ...`` header names them (``OBSERVED TIME RECORD YEAR NORMAL
DEPARTURE LAST``, or a subset; trailing columns may be empty):

* OBSERVED - NORMAL must equal DEPARTURE exactly in a final report showing both. Exempt, because
  real reports contradict the rule there: intermediate reports (Pago Pago's 5 PM CLIPPG2 prints
  86 / normal 85 / departure -2) and estimated values (CLIRDU_v2 prints ``31 E`` / 41 / -11, the
  departure of the unrounded estimate);
* an observed value flagged ``R`` must equal or beat the RECORD shown (``53R`` over a record of
  50: the column shows the record before the day), and an unflagged one must not beat it;
* the MAXIMUM must not be below the MINIMUM.

A product may hold several stations (CLIHOU: Houston Intercontinental first, Hobby second), so a
city's report is the section named by its registry ``cli_section`` (:func:`select_sections`),
never simply the first one.

Only ASCII is read: digits are ``[0-9]`` (never ``int()`` of a Unicode digit) and a table row
with any other character is refused. Anything that does not fit the known layouts, or
contradicts itself, raises :class:`CliParseError` instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from weather_trader.core.cities import MONTHS, City
from weather_trader.core.records import ClimateReport

__all__ = [
    "CliParseError",
    "ParsedClimateReport",
    "StationSectionError",
    "parse_cli",
    "section_key",
    "select_sections",
]

ZONE_OFFSETS: dict[str, int] = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
    "SST": -11,  # Samoa (Pago Pago)
    "CHST": 10,  # Guam
}
"""UTC offsets (hours) of the zone abbreviations CLI issuance lines use. "AST" is deliberately
absent: it means Atlantic (San Juan) or, in old products, Alaska, so the WMO header decides."""

_MONTH_NAMES = {
    **{m: i for i, m in enumerate(MONTHS, 1)},
    **{
        name: i
        for i, name in enumerate(
            (
                "JANUARY",
                "FEBRUARY",
                "MARCH",
                "APRIL",
                "MAY",
                "JUNE",
                "JULY",
                "AUGUST",
                "SEPTEMBER",
                "OCTOBER",
                "NOVEMBER",
                "DECEMBER",
            ),
            1,
        )
    },
    "SEPT": 9,
}

_A = re.ASCII  # \d, \s, \b match ASCII only: a Unicode digit is never read as a number
_WMO_RE = re.compile(r"^[A-Z]{4}\d{2} [A-Z]{4} (?P<ddhhmm>\d{6})(?: (?P<bbb>[A-Z]{3}))?$", _A)
_AWIPS_RE = re.compile(r"^(?P<pil>CLI[A-Z0-9]{3})$", _A)
_ISSUED_RE = re.compile(
    r"^(?P<hm>\d{1,2}:?\d{2})\s*(?P<ampm>AM|PM)"
    r"(?:\s+(?P<tz>[A-Z]{2,5}))??"
    r"(?:\s+(?:MON|TUE|WED|THU|FRI|SAT|SUN))?"
    rf"\s+(?P<mon>{'|'.join(MONTHS)})\s+(?P<day>\d{{1,2}})\s+(?P<year>\d{{4}})$",
    _A,
)
_SUMMARY_RE = re.compile(
    r"^\.*\s*THE\s+(?P<name>.+?)\s+CLIMATE\s+SUMMARY\s+(?:FOR|FROM)\s+"
    r"(?P<mon>[A-Z]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})\b(?P<rest>.*)$",
    _A,
)
_TEMP_HEADER_RE = re.compile(r"^TEMPERATURE\s*(?:\(F\))?$", _A)
_VALID_AS_OF_RE = re.compile(r"^VALID\b.*\bAS OF\b", _A)
_CORRECTION_RE = re.compile(r"\bCORRECT(?:ION|ED)\b", _A)
_VALUE_RE = re.compile(r"^(?P<v>-?[0-9]{1,3})(?P<r>R?)(?P<e>\(E\))?$", _A)
_NUMBER_RE = re.compile(r"^-?[0-9]{1,3}$", _A)
_YEAR_RE = re.compile(r"^[0-9]{1,4}$", _A)
_CLOCK_RE = re.compile(r"^[0-9]{1,2}:?[0-9]{2}$", _A)
_ROW_CHARS_RE = re.compile(r"^[ -~]*$", _A)  # printable ASCII (tabs are expanded before)
_BLOCK_LABELS = ("YESTERDAY", "TODAY")
_NEXT_TABLES = ("PRECIPITATION", "SNOWFALL", "DEGREE DAYS", "WIND", "SKY COVER", "RELATIVE", ".")
"""Starts of the lines that may end the temperature table without a blank line."""
_COLUMNS = ("OBSERVED", "TIME", "RECORD", "YEAR", "NORMAL", "DEPARTURE", "LAST")
"""Column names of the daily table's ``WEATHER ITEM`` header line, in the order NWS prints them."""


class CliParseError(ValueError):
    """The text is not a Daily Climate Report this parser can read without guessing."""


class StationSectionError(ValueError):
    """A CLI product of the city holds station sections, but none is the city's station."""


class ParsedClimateReport(BaseModel):
    """One station section of a CLI product, before it is tied to a registry city.

    ``final`` is False for intermediate reports (a ``VALID ... AS OF`` line or a ``TODAY``
    block: the day is not over, so the MAXIMUM/MINIMUM are only the values so far).
    ``correction`` marks a report replacing an earlier one (``CCx``/``RRx``/``AAx`` WMO header
    suffix, or "CORRECTION"/"CORRECTED" in the text).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    product: str
    station_name: str
    climate_date: date
    max_f: int | None
    min_f: int | None
    final: bool
    correction: bool
    issued_at: AwareDatetime

    def to_record(self, city: str, text: str = "") -> ClimateReport:
        """Convert to the domain record for ``city`` (a city registry code).

        Args:
            city: The registry city code the station belongs to.
            text: Optional raw product text to keep with the record.

        Returns:
            The corresponding :class:`weather_trader.core.records.ClimateReport`.
        """
        return ClimateReport(
            city=city,
            product=self.product,
            climate_date=self.climate_date,
            max_f=self.max_f,
            min_f=self.min_f,
            final=self.final,
            correction=self.correction,
            issued_at=self.issued_at,
            text=text,
        )


def parse_cli(text: str) -> list[ParsedClimateReport]:
    """Parse a CLI product into one report per station section.

    Args:
        text: The raw product text (WMO header optional).

    Returns:
        The reports, in the order of their sections.

    Raises:
        CliParseError: If the text is not a readable daily climate report, or its columns
            contradict the observed values (see the module docstring). No other exception.
    """
    try:
        return _parse(text)
    except CliParseError:
        raise
    except (ValueError, ArithmeticError) as exc:  # out-of-range dates, pydantic, overflow
        raise CliParseError(f"unreadable climate report: {type(exc).__name__}: {exc}") from None


def section_key(name: str) -> str:
    """A station heading reduced for comparison: upper case, words split on spaces and ``-/,.``.

    ``"Houston/Hobby  Airport"`` and ``"HOUSTON HOBBY AIRPORT"`` compare equal; a different
    word (``"HOUSTON INTERCONTINENTAL"``) never does.
    """
    return " ".join(w for w in re.split(r"[\s\-/,.]+", name.upper(), flags=_A) if w)


def select_sections(
    reports: Sequence[ParsedClimateReport], city: City
) -> list[ParsedClimateReport]:
    """The sections of ``reports`` that are ``city``'s station, in product order.

    A section is the city's when it comes from the city's CLI product and its heading is the
    city's ``cli_section`` (compared with :func:`section_key`). Position in the product never
    counts: in CLIHOU the first section is Intercontinental, Hobby's is the second.

    Returns:
        The city's sections; empty when none of ``reports`` comes from the city's product.

    Raises:
        StationSectionError: If the city's product is there but no section names its station
            (a renamed heading or the wrong product): guessing would risk the wrong station.
    """
    own = [r for r in reports if r.product == city.cli_product]
    wanted = section_key(city.cli_section)
    mine = [r for r in own if section_key(r.station_name) == wanted]
    if own and not mine:
        names = ", ".join(repr(r.station_name) for r in own)
        raise StationSectionError(
            f"{city.cli_product} has no {city.cli_section!r} section for {city.code} "
            f"({city.station}); its sections: {names}"
        )
    return mine


def _parse(text: str) -> list[ParsedClimateReport]:
    lines = [ln.expandtabs().rstrip() for ln in text.upper().replace("\r", "").split("\n")]
    summary_idx = [i for i, ln in enumerate(lines) if _SUMMARY_RE.match(ln.strip())]
    preamble = lines[: summary_idx[0]] if summary_idx else lines

    wmo, product = _header(preamble)
    if not summary_idx:
        raise CliParseError(f"{product}: no '...THE <station> CLIMATE SUMMARY FOR' line")
    bbb = wmo.group("bbb") if wmo else None
    header_correction = bool(bbb and bbb[:2] in ("CC", "RR", "AA")) or any(
        _CORRECTION_RE.search(ln) for ln in preamble
    )

    reports: list[ParsedClimateReport] = []
    for n, start in enumerate(summary_idx):
        end = summary_idx[n + 1] if n + 1 < len(summary_idx) else len(lines)
        section = lines[start:end]
        m = _SUMMARY_RE.match(section[0].strip())
        assert m is not None  # matched when the index was built
        station = " ".join(m.group("name").split())
        where = f"{product} ({station})"
        climate_date = _date(product, m.group("mon"), m.group("day"), m.group("year"))
        label, rows = _temperatures(where, section[1:])
        final = label == "YESTERDAY" and not any(
            _VALID_AS_OF_RE.match(ln.strip()) for ln in section
        )
        _cross_check(where, rows, final=final)
        maximum, minimum = rows.get("MAXIMUM"), rows.get("MINIMUM")
        reports.append(
            ParsedClimateReport(
                product=product,
                station_name=station,
                climate_date=climate_date,
                max_f=maximum.observed if maximum else None,
                min_f=minimum.observed if minimum else None,
                final=final,
                correction=header_correction or bool(_CORRECTION_RE.search(m.group("rest"))),
                issued_at=_issued_at(product, preamble, wmo, climate_date),
            )
        )
    return reports


def _header(preamble: list[str]) -> tuple[re.Match[str] | None, str]:
    """The WMO header match (or None) and the AWIPS product id (``CLINYC``)."""
    wmo = next((m for ln in preamble[:6] if (m := _WMO_RE.match(ln.strip()))), None)
    product = next(
        (m.group("pil") for ln in preamble[:12] if (m := _AWIPS_RE.match(ln.strip()))), None
    )
    if product is None:
        raise CliParseError("unknown product: no CLIxxx AWIPS id line")
    return wmo, product


def _date(product: str, mon: str, day: str, year: str) -> date:
    """A calendar date from a month name/abbreviation, day and year."""
    month = _MONTH_NAMES.get(mon)
    if month is None:
        raise CliParseError(f"{product}: unknown month {mon!r}")
    try:
        return date(int(year), month, int(day))
    except ValueError as exc:
        raise CliParseError(f"{product}: invalid date {mon} {day} {year}") from exc


@dataclass(frozen=True)
class _Row:
    """A MAXIMUM/MINIMUM row: the observed value, its record flag, and the numeric columns."""

    observed: int | None
    record_flag: bool
    estimated: bool
    columns: dict[str, int | None]


def _table_columns(where: str, section: list[str]) -> tuple[str, ...]:
    """Column names from the last ``WEATHER ITEM`` header line before the temperature table."""
    header = None
    for ln in section:
        stripped = ln.strip()
        if _TEMP_HEADER_RE.match(stripped):
            break
        if stripped.startswith("WEATHER ITEM"):
            header = stripped
    if header is None:
        raise CliParseError(f"{where}: no 'WEATHER ITEM OBSERVED ...' column header")
    names = tuple(header.removeprefix("WEATHER ITEM").split())
    known = [c for c in _COLUMNS if c in names]
    if not names or names[0] != "OBSERVED" or list(names) != known:
        raise CliParseError(f"{where}: unknown table layout {header!r}")
    return names


def _temperatures(where: str, section: list[str]) -> tuple[str, dict[str, _Row]]:
    """The block label and the MAXIMUM/MINIMUM rows of a section's temperature table."""
    columns = _table_columns(where, section)
    idx = next((i for i, ln in enumerate(section) if _TEMP_HEADER_RE.match(ln.strip())), None)
    if idx is None:
        raise CliParseError(f"{where}: no TEMPERATURE (F) table")
    rest = [ln.strip() for ln in section[idx + 1 :]]
    pos = next((i for i, ln in enumerate(rest) if ln), None)
    if pos is None or rest[pos] not in _BLOCK_LABELS:
        raise CliParseError(f"{where}: TEMPERATURE table without a YESTERDAY/TODAY block")
    label = rest[pos]
    rows: dict[str, _Row] = {}
    for ln in rest[pos + 1 :]:
        if not _ROW_CHARS_RE.match(ln):
            raise CliParseError(f"{where}: non-ASCII character in the temperature table: {ln!r}")
        tokens = ln.split(" ")
        tokens = [t for t in tokens if t]
        if not tokens:
            break  # blank line ends the block
        key = tokens[0]
        if key in ("MAXIMUM", "MINIMUM"):
            if key in rows:
                raise CliParseError(f"{where}: duplicate {key} row")
            rows[key] = _row(where, key, tokens[1:], columns)
        elif key == "AVERAGE" or (len(tokens) == 1 and _YEAR_RE.match(key) and len(key) == 4):
            continue  # average row, or a continuation line of tied record years
        elif key.startswith(_NEXT_TABLES):
            break  # next table (PRECIPITATION ...) without a separating blank line
        else:
            raise CliParseError(f"{where}: unexpected row in the temperature table: {ln!r}")
    if not rows:
        raise CliParseError(f"{where}: no MAXIMUM/MINIMUM rows in the {label} block")
    return label, rows


def _row(where: str, key: str, tokens: list[str], columns: tuple[str, ...]) -> _Row:
    """A MAXIMUM/MINIMUM row read column by column (trailing columns may be empty)."""
    if not tokens:
        raise CliParseError(f"{where}: {key} row has no observed value")
    first = tokens[0]
    observed: int | None = None
    flag = estimated = False
    i = 1
    if first != "MM":
        m = _VALUE_RE.match(first)
        # A value followed by AM/PM is a TIME: the observed column was empty.
        if m is None or (len(tokens) > 1 and tokens[1] in ("AM", "PM")):
            raise CliParseError(f"{where}: unreadable {key} observed value {first!r}")
        observed = int(m.group("v"))
        flag = bool(m.group("r"))
        estimated = bool(m.group("e"))
        if not -100 <= observed <= 150:
            raise CliParseError(f"{where}: implausible {key} {observed}")
        if not m.group("e") and len(tokens) > 1 and tokens[1] in ("E", "(E)"):
            i = 2  # "57 E": the estimate mark printed apart
            estimated = True
    values: dict[str, int | None] = {}
    for column in columns[1:]:
        if i >= len(tokens):
            break  # the remaining columns are empty
        token = tokens[i]
        if token == "MM":
            values[column] = None
            i += 1
        elif column == "TIME":
            if not (
                _CLOCK_RE.match(token) and i + 1 < len(tokens) and tokens[i + 1] in ("AM", "PM")
            ):
                raise CliParseError(f"{where}: unreadable {key} time {token!r}")
            i += 2
        elif column == "YEAR":
            if not _YEAR_RE.match(token):
                raise CliParseError(f"{where}: unreadable {key} record year {token!r}")
            i += 1
        else:
            if not _NUMBER_RE.match(token):
                raise CliParseError(f"{where}: unreadable {key} {column} value {token!r}")
            values[column] = int(token)
            i += 1
    if i < len(tokens):
        raise CliParseError(f"{where}: {key} row has more columns than its header: {tokens}")
    return _Row(observed, flag, estimated, values)


def _cross_check(where: str, rows: dict[str, _Row], *, final: bool) -> None:
    """Raise when a row's columns contradict its observed value (see the module docstring)."""
    for key, row in rows.items():
        value = row.observed
        if value is None:
            continue
        normal, departure = row.columns.get("NORMAL"), row.columns.get("DEPARTURE")
        if (
            final
            and not row.estimated
            and normal is not None
            and departure is not None
            and value - normal != departure
        ):
            raise CliParseError(
                f"{where}: {key} {value} minus normal {normal} is not the departure {departure}"
            )
        record = row.columns.get("RECORD")
        if record is not None:
            beats = value > record if key == "MAXIMUM" else value < record
            if row.record_flag and not (beats or value == record):
                raise CliParseError(f"{where}: {key} {value}R does not reach the record {record}")
            if beats and not row.record_flag:
                raise CliParseError(f"{where}: {key} {value} beats the record {record} unflagged")
    maximum, minimum = rows.get("MAXIMUM"), rows.get("MINIMUM")
    if (
        maximum is not None
        and minimum is not None
        and maximum.observed is not None
        and minimum.observed is not None
        and maximum.observed < minimum.observed
    ):
        raise CliParseError(
            f"{where}: MAXIMUM {maximum.observed} is below MINIMUM {minimum.observed}"
        )


def _issued_at(
    product: str, preamble: list[str], wmo: re.Match[str] | None, climate_date: date
) -> datetime:
    """Issuance time in UTC: the issuance line when its zone is known, else the WMO header."""
    local_date: date | None = None
    for ln in preamble:
        m = _ISSUED_RE.match(ln.strip())
        if m is None:
            continue
        hm = m.group("hm").replace(":", "")
        hour, minute = int(hm[:-2]), int(hm[-2:])
        if not (1 <= hour <= 12 and minute < 60):
            raise CliParseError(f"{product}: invalid issuance time {m.group('hm')}")
        hour = hour % 12 + (12 if m.group("ampm") == "PM" else 0)
        local_date = _date(product, m.group("mon"), m.group("day"), m.group("year"))
        offset = ZONE_OFFSETS.get(m.group("tz") or "")
        if offset is not None:
            local = datetime(local_date.year, local_date.month, local_date.day, hour, minute)
            return (local - timedelta(hours=offset)).replace(tzinfo=UTC)
        break  # zone missing or ambiguous: use the WMO header
    if wmo is None:
        raise CliParseError(f"{product}: no issuance time with a known zone and no WMO header")
    return _from_ddhhmm(product, wmo.group("ddhhmm"), local_date or climate_date)


def _from_ddhhmm(product: str, ddhhmm: str, near: date) -> datetime:
    """The WMO header's DDHHMM (UTC) placed in the month that puts it closest to ``near``."""
    day, hour, minute = int(ddhhmm[:2]), int(ddhhmm[2:4]), int(ddhhmm[4:])
    candidates: list[datetime] = []
    for shift in (-1, 0, 1):
        year, month = divmod(near.year * 12 + near.month - 1 + shift, 12)
        try:
            candidates.append(datetime(year, month + 1, day, hour, minute, tzinfo=UTC))
        except ValueError:
            continue  # e.g. day 31 in a 30-day month
    if not candidates:
        raise CliParseError(f"{product}: invalid WMO header time {ddhhmm}")
    return min(candidates, key=lambda dt: abs(dt.date() - near))
