"""Parser for the NWS Daily Climate Report (CLI product), the settlement source.

Only the OBSERVED column of the ``TEMPERATURE (F)`` table's ``YESTERDAY``/``TODAY`` block is read
(first value after ``MAXIMUM``/``MINIMUM``); the normals block ("MAXIMUM TEMPERATURE (F)") and the
TIME/RECORD/NORMAL/DEPARTURE/LAST YEAR columns are never used. Anything that does not fit the
known layouts raises :class:`CliParseError` instead of being guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from weather_trader.core.cities import MONTHS
from weather_trader.core.records import ClimateReport

__all__ = ["CliParseError", "ParsedClimateReport", "parse_cli"]

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

_WMO_RE = re.compile(r"^[A-Z]{4}\d{2} [A-Z]{4} (?P<ddhhmm>\d{6})(?: (?P<bbb>[A-Z]{3}))?$")
_AWIPS_RE = re.compile(r"^(?P<pil>CLI[A-Z0-9]{3})$")
_ISSUED_RE = re.compile(
    r"^(?P<hm>\d{1,2}:?\d{2})\s*(?P<ampm>AM|PM)"
    r"(?:\s+(?P<tz>[A-Z]{2,5}))??"
    r"(?:\s+(?:MON|TUE|WED|THU|FRI|SAT|SUN))?"
    rf"\s+(?P<mon>{'|'.join(MONTHS)})\s+(?P<day>\d{{1,2}})\s+(?P<year>\d{{4}})$"
)
_SUMMARY_RE = re.compile(
    r"^\.*\s*THE\s+(?P<name>.+?)\s+CLIMATE\s+SUMMARY\s+(?:FOR|FROM)\s+"
    r"(?P<mon>[A-Z]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})\b(?P<rest>.*)$"
)
_TEMP_HEADER_RE = re.compile(r"^TEMPERATURE\s*(?:\(F\))?$")
_VALID_AS_OF_RE = re.compile(r"^VALID\b.*\bAS OF\b")
_CORRECTION_RE = re.compile(r"\bCORRECT(?:ION|ED)\b")
_VALUE_RE = re.compile(r"^(?P<v>-?\d{1,3})R?(?:\(E\)|E)?$")
_BLOCK_LABELS = ("YESTERDAY", "TODAY")


class CliParseError(ValueError):
    """The text is not a Daily Climate Report this parser can read without guessing."""


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
        CliParseError: If the text is not a readable daily climate report.
    """
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
        climate_date = _date(product, m.group("mon"), m.group("day"), m.group("year"))
        label, max_f, min_f = _temperatures(product, station, section[1:])
        final = label == "YESTERDAY" and not any(
            _VALID_AS_OF_RE.match(ln.strip()) for ln in section
        )
        reports.append(
            ParsedClimateReport(
                product=product,
                station_name=station,
                climate_date=climate_date,
                max_f=max_f,
                min_f=min_f,
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


def _temperatures(
    product: str, station: str, section: list[str]
) -> tuple[str, int | None, int | None]:
    """The block label and observed MAXIMUM/MINIMUM of a section's temperature table."""
    where = f"{product} ({station})"
    idx = next((i for i, ln in enumerate(section) if _TEMP_HEADER_RE.match(ln.strip())), None)
    if idx is None:
        raise CliParseError(f"{where}: no TEMPERATURE (F) table")
    rest = [ln.strip() for ln in section[idx + 1 :]]
    pos = next((i for i, ln in enumerate(rest) if ln), None)
    if pos is None or rest[pos] not in _BLOCK_LABELS:
        raise CliParseError(f"{where}: TEMPERATURE table without a YESTERDAY/TODAY block")
    label = rest[pos]
    values: dict[str, int | None] = {}
    for ln in rest[pos + 1 :]:
        tokens = ln.split()
        if not tokens:
            break  # blank line ends the block
        key = tokens[0]
        if key in ("MAXIMUM", "MINIMUM"):
            if key in values:
                raise CliParseError(f"{where}: duplicate {key} row")
            values[key] = _observed(where, key, tokens[1:])
        elif key == "AVERAGE" or tokens[0].isdigit():
            continue  # average row, or a continuation line of tied record years
        else:
            break  # next table (PRECIPITATION ...) without a separating blank line
    if not values:
        raise CliParseError(f"{where}: no MAXIMUM/MINIMUM rows in the {label} block")
    return label, values.get("MAXIMUM"), values.get("MINIMUM")


def _observed(where: str, key: str, tokens: list[str]) -> int | None:
    """The OBSERVED value of a MAXIMUM/MINIMUM row (first column); None for ``MM``."""
    if not tokens:
        raise CliParseError(f"{where}: {key} row has no observed value")
    if tokens[0] == "MM":
        return None
    m = _VALUE_RE.match(tokens[0])
    # A value followed by AM/PM is a TIME: the observed column was empty.
    if m is None or (len(tokens) > 1 and tokens[1] in ("AM", "PM")):
        raise CliParseError(f"{where}: unreadable {key} observed value {tokens[0]!r}")
    value = int(m.group("v"))
    if not -100 <= value <= 150:
        raise CliParseError(f"{where}: implausible {key} {value}")
    return value


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
