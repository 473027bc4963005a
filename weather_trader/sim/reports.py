"""Simulated NWS Daily Climate Reports (CLI) in the real text format.

For every climate day the sim issues

* a preliminary report ~17:00 LST of the day ("VALID TODAY AS OF 0500 PM LOCAL TIME", the
  maximum and minimum so far, ``final=False``);
* the final report ~07:00 LST the next morning (``final=True``), the settlement value:
  round-half-up of the day's true high/low, which is also the max/min of the hourly obs;
* rarely (:data:`CORRECTION_RATE`) the final carries a wrong value and a ``CCA`` correction
  issued a few hours later fixes it.

The text mirrors real products (see ``realdata/nws_products/.../CLI/CLINYC.txt``): WMO heading,
product id, issuing office and time, the "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR ..." line
(the city's registry ``cli_section``) and the TEMPERATURE (F) table with OBSERVED / TIME / RECORD
/ YEAR / NORMAL / DEPARTURE / LAST YEAR columns. Precipitation and the other sections are left
out. Like the real CLIHOU, Houston's product carries Intercontinental's section *before* Hobby's
(:data:`LEADING_SECTIONS`; its values are Hobby's shifted by a few degrees), so the offline world
keeps the wrong-station trap: the report's values are Hobby's, the first section's are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from weather_trader.core.cities import get_city
from weather_trader.core.records import ClimateReport
from weather_trader.sim.climatology import climate_for, doy_from_ordinals
from weather_trader.sim.weather import OBS_MINUTE, SimWeather, round_half_up

CORRECTION_RATE = 0.01
PRELIM_HOUR_LST = 17
FINAL_HOUR_LST = 7


@dataclass(frozen=True)
class _Office:
    office_name: str
    wmo: str
    record_since: int


# Issuing office as the product's "NATIONAL WEATHER SERVICE ..." line prints it, the WMO
# heading, and the first year of the station's climate record (for the simulated record years).
_OFFICES: dict[str, _Office] = {
    "NYC": _Office("NEW YORK NY", "CDUS41", 1869),
    "CHI": _Office("CHICAGO IL", "CDUS43", 1928),
    "MIA": _Office("MIAMI FL", "CDUS42", 1895),
    "AUS": _Office("AUSTIN/SAN ANTONIO TX", "CDUS44", 1942),
    "LAX": _Office("LOS ANGELES/OXNARD CA", "CDUS46", 1944),
    "DEN": _Office("DENVER/BOULDER CO", "CDUS45", 1872),
    "PHL": _Office("MOUNT HOLLY NJ", "CDUS41", 1872),
    "ATL": _Office("PEACHTREE CITY GA", "CDUS42", 1878),
    "BOS": _Office("BOSTON/NORTON MA", "CDUS41", 1872),
    "DAL": _Office("FORT WORTH TX", "CDUS44", 1898),
    "DC": _Office("BALTIMORE MD/WASHINGTON DC", "CDUS41", 1871),
    "HOU": _Office("HOUSTON/GALVESTON TX", "CDUS44", 1930),
    "LAS": _Office("LAS VEGAS NV", "CDUS45", 1937),
    "MSP": _Office("TWIN CITIES/CHANHASSEN MN", "CDUS43", 1872),
    "MSY": _Office("NEW ORLEANS LA", "CDUS44", 1946),
    "OKC": _Office("NORMAN OK", "CDUS44", 1890),
    "PHX": _Office("PHOENIX AZ", "CDUS45", 1896),
    "SAT": _Office("AUSTIN/SAN ANTONIO TX", "CDUS44", 1885),
    "SEA": _Office("SEATTLE WA", "CDUS46", 1945),
    "SFO": _Office("SAN FRANCISCO CA", "CDUS46", 1927),
}

LEADING_SECTIONS: dict[str, tuple[str, ...]] = {"HOU": ("HOUSTON INTERCONTINENTAL",)}
"""Other stations' sections printed before the city's own in its product (real CLIHOU order)."""

_RULE = "." * 66
_LEGEND = (
    "-  INDICATES NEGATIVE NUMBERS.\n"
    "R  INDICATES RECORD WAS SET OR TIED.\n"
    "MM INDICATES DATA IS MISSING.\n"
    "T  INDICATES TRACE AMOUNT.\n"
)


@dataclass(frozen=True)
class TempRow:
    """One row of the TEMPERATURE table (``MAXIMUM`` or ``MINIMUM``).

    Attributes:
        observed: Reported whole degrees.
        time_lst: Time of the extreme in local standard time (naive).
        record: Record value for the date (the observed value when it sets a record).
        record_year: Year of the record.
        is_record: Whether the observation set or tied the record.
        normal: Normal for the date, whole degrees.
        last_year: Observed value on the same date last year.
    """

    observed: int
    time_lst: datetime
    record: int
    record_year: int
    is_record: bool
    normal: int
    last_year: int


def _lst_clock(moment: datetime) -> str:
    # "301 PM", "1204 PM": 12-hour clock without a leading zero, as the CLI prints it.
    hour = moment.hour % 12 or 12
    return f"{hour}{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _header_time(issued_at: datetime, tz_name: str) -> str:
    local = issued_at.astimezone(ZoneInfo(tz_name))
    return f"{_lst_clock(local)} {local.strftime('%Z %a %b').upper()} {local.day} {local.year}"


def _row(label: str, row: TempRow) -> str:
    flag = "R " if row.is_record else "  "
    return (
        f"  {label:<9}{row.observed:>9}{flag}{_lst_clock(row.time_lst):>8}{row.record:>4}"
        f"{row.record_year:>8}{row.normal:>4}{row.observed - row.normal:>7}{row.last_year:>9}"
    )


def _section(
    title: str, day: date, since: int, maximum: TempRow, minimum: TempRow, final: bool
) -> list[str]:
    """One station's section: summary line, period lines and the TEMPERATURE table."""
    month = day.strftime("%B").upper()
    average = round_half_up((maximum.observed + minimum.observed) / 2)
    avg_normal = round_half_up((maximum.normal + minimum.normal) / 2)
    avg_last = round_half_up((maximum.last_year + minimum.last_year) / 2)
    return [
        f"...THE {title} CLIMATE SUMMARY FOR {month} {day.day} {day.year}...",
        *(["VALID TODAY AS OF 0500 PM LOCAL TIME."] if not final else []),
        "",
        "CLIMATE NORMAL PERIOD 1991 TO 2020",
        f"CLIMATE RECORD PERIOD {since} TO {day.year}",
        "",
        "",
        "WEATHER ITEM   OBSERVED TIME   RECORD YEAR NORMAL DEPARTURE LAST",
        "                VALUE   (LST)  VALUE       VALUE  FROM      YEAR",
        "                                                  NORMAL",
        _RULE,
        "TEMPERATURE (F)",
        " YESTERDAY" if final else " TODAY",
        _row("MAXIMUM", maximum),
        _row("MINIMUM", minimum),
        f"  {'AVERAGE':<9}{average:>9}{avg_normal:>26}{average - avg_normal:>7}{avg_last:>9}",
        "",
        _RULE,
        "",
    ]


def render_cli_text(
    city: str,
    day: date,
    issued_at: datetime,
    maximum: TempRow,
    minimum: TempRow,
    final: bool,
    correction_of: str | None = None,
    leading: tuple[tuple[str, TempRow, TempRow], ...] = (),
) -> str:
    """Render a CLI product's text for one climate day.

    Args:
        city: Registry city code.
        day: The climate day summarised.
        issued_at: Issue time (aware); printed in the office's local clock time.
        maximum: The MAXIMUM row.
        minimum: The MINIMUM row.
        final: False for the 5 PM preliminary report ("VALID TODAY AS OF 0500 PM").
        correction_of: For a ``CCA`` correction, what it corrects (``"HIGH"``/``"LOW"``).
        leading: Other stations' sections printed first, as ``(title, maximum, minimum)``.

    Returns:
        The product text, ending with ``$$``.
    """
    c = get_city(city)
    office = _OFFICES[city]
    stamp = issued_at.astimezone(UTC).strftime("%d%H%M")
    heading = f"{office.wmo} K{c.nws_office} {stamp}" + (" CCA" if correction_of else "")
    title = "CLIMATE REPORT" + (
        f"...CORRECTED {correction_of} TEMPERATURE..." if correction_of else ""
    )
    sections = [
        line
        for title, mx, mn in (*leading, (c.cli_section, maximum, minimum))
        for line in _section(title, day, office.record_since, mx, mn, final)
    ]
    lines = [
        "000 ",
        heading,
        c.cli_product,
        "",
        title,
        f"NATIONAL WEATHER SERVICE {office.office_name}",
        _header_time(issued_at, c.tz_name),
        "",
        "...................................",
        "",
        *sections,
        _LEGEND,
        "$$",
    ]
    return "\n".join(lines) + "\n"


def reports_for_days(world: SimWeather, city: str, days: list[date]) -> list[ClimateReport]:
    """Every climate report (preliminary, final, rare correction) of ``days``, by issue time.

    Vectorised over days; this is what history seeding calls.

    Args:
        world: The sim weather.
        city: Registry city code.
        days: Climate days.

    Returns:
        The reports, sorted by (climate day, issue time); each day yields 2 or 3 reports.
    """
    if not days:
        return []
    c = get_city(city)
    clim = climate_for(city)
    tz = c.standard_tz
    ords = np.array([d.toordinal() for d in days], dtype=np.int64)
    temps = world.hourly_temps(city, ords)
    final_max, final_min = round_half_up(temps.max(axis=1)), round_half_up(temps.min(axis=1))
    i_max, i_min = temps.argmax(axis=1), temps.argmin(axis=1)
    early = temps[:, :PRELIM_HOUR_LST]  # obs at hh:51 up to 16:51 LST
    pre_max, pre_min = round_half_up(early.max(axis=1)), round_half_up(early.min(axis=1))
    p_max, p_min = early.argmax(axis=1), early.argmin(axis=1)
    last_year = np.array([_same_day_last_year(d).toordinal() for d in days], dtype=np.int64)
    ly_high, ly_low = world.true_high_low(city, last_year)
    ly_high, ly_low = round_half_up(ly_high), round_half_up(ly_low)
    doy = doy_from_ordinals(ords)
    normal_hi = round_half_up(clim.normal("high", doy))
    normal_lo = round_half_up(clim.normal("low", doy))
    noise = world.noise
    hi_clim = clim.normal("high", doy) + 2.8 * clim.sd("high", doy)
    lo_clim = clim.normal("low", doy) - 2.8 * clim.sd("low", doy)
    rec_hi = np.ceil(hi_clim + 1.5 * np.abs(noise.normal("record-high", city, doy))).astype(int)
    rec_lo = np.floor(lo_clim - 1.5 * np.abs(noise.normal("record-low", city, doy))).astype(int)
    span = 2020 - _OFFICES[city].record_since + 1
    yr_hi = _OFFICES[city].record_since + (
        noise.bits("record-high-year", city, doy) % np.uint64(span)
    ).astype(int)
    yr_lo = _OFFICES[city].record_since + (
        noise.bits("record-low-year", city, doy) % np.uint64(span)
    ).astype(int)
    prelim_delay = 8 + 32 * noise.uniform("prelim-delay", city, ords)
    final_delay = 45 * noise.uniform("final-delay", city, ords)
    corrected = noise.uniform("cca", city, ords) < CORRECTION_RATE
    wrong_high = noise.uniform("cca-field", city, ords) < 0.5
    wrong_by = np.where(noise.uniform("cca-sign", city, ords) < 0.5, -1, 1) * (
        1 + (noise.uniform("cca-size", city, ords) < 0.3)
    )
    cca_delay = 60 + 180 * noise.uniform("cca-delay", city, ords)
    # Other stations of the product differ from the city's by 1-3 F each way, never 0.
    lead_hi, lead_lo = (
        np.where(noise.uniform(f"lead-{k}-sign", city, ords) < 0.5, -1, 1)
        * (1 + np.floor(3 * noise.uniform(f"lead-{k}-size", city, ords))).astype(int)
        for k in ("high", "low")
    )
    titles = LEADING_SECTIONS.get(city, ())

    out: list[ClimateReport] = []
    for n, day in enumerate(days):

        def row(value: int, hour: int, high: bool, n: int = n, day: date = day) -> TempRow:
            midnight = datetime.combine(day, datetime.min.time())
            rec, year = (rec_hi[n], yr_hi[n]) if high else (rec_lo[n], yr_lo[n])
            is_record = bool(value >= rec) if high else bool(value <= rec)
            return TempRow(
                observed=int(value),
                time_lst=midnight + timedelta(hours=int(hour), minutes=OBS_MINUTE),
                record=int(value) if is_record else int(rec),
                record_year=day.year if is_record else int(year),
                is_record=is_record,
                normal=int(normal_hi[n] if high else normal_lo[n]),
                last_year=int(ly_high[n] if high else ly_low[n]),
            )

        def report(
            mx: TempRow,
            mn: TempRow,
            final: bool,
            at: datetime,
            fix: str | None = None,
            day: date = day,
            n: int = n,
        ) -> ClimateReport:
            at = at.replace(second=0, microsecond=0)
            lead_max = mx.observed + int(lead_hi[n])
            lead_min = min(mn.observed + int(lead_lo[n]), lead_max)
            leading = tuple(
                (
                    title,
                    row(lead_max, mx.time_lst.hour, True),
                    row(lead_min, mn.time_lst.hour, False),
                )
                for title in titles
            )
            return ClimateReport(
                city=city,
                product=c.cli_product,
                climate_date=day,
                max_f=mx.observed,
                min_f=mn.observed,
                final=final,
                correction=fix is not None,
                issued_at=at,
                text=render_cli_text(city, day, at, mx, mn, final, fix, leading),
            )

        local0 = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        prelim_at = (
            local0 + timedelta(hours=PRELIM_HOUR_LST, minutes=float(prelim_delay[n]))
        ).astimezone(UTC)
        final_at = (
            local0 + timedelta(days=1, hours=FINAL_HOUR_LST, minutes=float(final_delay[n]))
        ).astimezone(UTC)
        out.append(
            report(
                row(pre_max[n], p_max[n], True), row(pre_min[n], p_min[n], False), False, prelim_at
            )
        )
        true_max, true_min = row(final_max[n], i_max[n], True), row(final_min[n], i_min[n], False)
        if not corrected[n]:
            out.append(report(true_max, true_min, True, final_at))
            continue
        bad = int(wrong_by[n])
        if wrong_high[n]:
            wrong = (row(final_max[n] + bad, i_max[n], True), true_min)
        else:
            wrong = (true_max, row(final_min[n] + bad, i_min[n], False))
        out.append(report(*wrong, True, final_at))
        fix_at = final_at + timedelta(minutes=float(cca_delay[n]))
        out.append(report(true_max, true_min, True, fix_at, "HIGH" if wrong_high[n] else "LOW"))
    return out


def day_reports(world: SimWeather, city: str, day: date) -> list[ClimateReport]:
    """All reports of one climate day, by issue time (see :func:`reports_for_days`)."""
    return reports_for_days(world, city, [day])


def settlement_report(reports: list[ClimateReport]) -> ClimateReport | None:
    """The report that settles a day: the last-issued final (a correction beats the original)."""
    finals = [r for r in reports if r.final]
    return max(finals, key=lambda r: r.issued_at) if finals else None


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # Feb 29
        return date(day.year - 1, 2, 28)
