"""Tests for the CLI (Daily Climate Report) parser, on real products and inline snippets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from weather_trader.core.records import ClimateReport
from weather_trader.sources.cli_report import CliParseError, ParsedClimateReport, parse_cli

CLI_DIR = Path("nws_products/pyIEM_product_examples/CLI")

# (product, station_name, climate_date, max_f, min_f, final, correction) per station section,
# read by hand from each file's text (OBSERVED column of the TEMPERATURE table).
Row = tuple[str, str, date, int | None, int | None, bool, bool]
D = date
EXPECTED: dict[str, list[Row]] = {
    "CLIABY": [("CLIABY", "ALBANY", D(2014, 9, 29), 79, 72, True, False)],
    "CLIACT": [("CLIACT", "WACO", D(2014, 12, 15), 69, 52, False, False)],
    "CLIALO": [("CLIALO", "WATERLOO IA", D(2014, 1, 3), 19, -21, False, False)],  # -21R
    "CLIANC": [
        ("CLIANC", "ANCHORAGE AK", D(2017, 3, 14), 23, 12, True, False),
        ("CLIANC", "KING SALMON", D(2017, 3, 14), 22, 9, True, False),
        ("CLIANC", "KODIAK", D(2017, 3, 14), 31, 22, True, False),
        ("CLIANC", "BETHEL", D(2017, 3, 14), 10, -3, True, False),
        ("CLIANC", "SAINT PAUL ISLAND", D(2017, 3, 14), 29, 21, True, False),
        ("CLIANC", "COLD BAY", D(2017, 3, 14), 33, 23, True, False),
    ],
    "CLIANN": [("CLIANN", "ANNETTE WSO AP", D(2015, 3, 2), 53, 33, True, False)],  # 53R
    "CLIBET": [("CLIBET", "BETHEL AP", D(2014, 1, 1), 17, 11, True, False)],
    "CLIBGR": [("CLIBGR", "BANGOR ME", D(2014, 11, 2), 35, 31, True, False)],
    "CLIBNA": [("CLIBNA", "NASHVILLE", D(2015, 10, 19), 47, 34, False, False)],
    "CLIBOI": [("CLIBOI", "BOISE ID", D(2014, 12, 29), 28, 23, False, False)],
    "CLICKV": [("CLICKV", "CLARKSVILLE", D(2014, 12, 29), 39, 33, True, False)],
    "CLICVG": [("CLICVG", "CINCINNATI OH", D(2020, 4, 22), 69, 35, True, False)],
    "CLICVG_2007": [("CLICVG", "CINCINNATI", D(2007, 6, 30), 82, 67, True, False)],
    "CLICVG_colon": [("CLICVG", "CINCINNATI OH", D(2021, 2, 4), 39, 22, True, False)],
    "CLICVG_tab": [("CLICVG", "CINCINNATI OH", D(2013, 5, 9), 81, 57, True, False)],
    "CLIDCA": [("CLIDCA", "WASHINGTON NATIONAL DC", D(2026, 6, 28), 76, 72, True, False)],
    "CLIDMH": [("CLIDMH", "BALTIMORE INNER HARBOR MD", D(2019, 5, 9), 74, 61, True, False)],
    "CLIDRT": [("CLIDRT", "DEL RIO", D(2014, 12, 29), 42, 37, False, False)],
    "CLIDSM": [("CLIDSM", "DES MOINES IA", D(2013, 8, 1), 89, 63, True, False)],
    "CLIDSM2": [("CLIDSM", "DES MOINES IA", D(2014, 10, 12), 56, 43, False, False)],
    "CLIEAR": [("CLIEAR", "KEARNEY", D(2014, 11, 13), 25, 5, False, False)],
    "CLIECP": [("CLIECP", "PANAMA CITY NW", D(2014, 12, 29), 70, 62, False, False)],
    "CLIEKA": [("CLIEKA", "EUREKA CA", D(2014, 12, 28), 55, 42, True, False)],
    "CLIEST": [("CLIEST", "ESTHERVILLE IA", D(2014, 10, 12), 62, 33, True, True)],  # RRA
    "CLIEWN": [("CLIEWN", "NEW BERN NC", D(2014, 9, 28), 83, 62, True, True)],  # CORRECTION
    "CLIFFC": [("CLIFFC", "PEACHTREE CITY", D(2014, 10, 3), 79, 67, False, False)],
    "CLIFMY": [("CLIFMY", "FORT MYERS", D(2014, 12, 29), None, 63, False, False)],  # min only
    "CLIHOU": [
        ("CLIHOU", "HOUSTON INTERCONTINENTAL", D(2014, 11, 30), 80, 61, True, False),
        ("CLIHOU", "HOUSTON/HOBBY AIRPORT", D(2014, 11, 30), 79, 62, True, False),
    ],
    "CLIICT": [("CLIICT", "WICHITA MID CONTINENT", D(2014, 12, 29), None, 22, False, False)],
    "CLIJNU": [("CLIJNU", "JUNEAU", D(2013, 6, 30), 75, 52, False, False)],
    "CLILWD": [("CLILWD", "LAMONI IA", D(2017, 5, 29), 76, 55, True, True)],  # RRA
    "CLIMAI": [("CLIMAI", "MARIANNA", D(2014, 12, 29), 69, 61, False, False)],
    "CLIMBS": [("CLIMBS", "TRI CITIES MI", D(2014, 12, 29), 29, 18, True, False)],
    "CLIMSO": [("CLIMSO", "MISSOULA MT", D(2014, 12, 29), None, 12, False, False)],
    "CLIMSO_2": [("CLIMSO", "MISSOULA MT", D(2015, 1, 9), None, 16, False, False)],
    "CLIMUO": [("CLIMUO", "MOUNTAIN HOME AFB", D(2021, 6, 23), 92, 58, True, False)],
    "CLIMYV": [("CLIMYV", "MARYSVILLE", D(2022, 11, 12), 60, 41, True, False)],
    "CLINYC": [("CLINYC", "CENTRAL PARK NY", D(2013, 1, 2), 33, 22, True, False)],
    "CLIOLF": [("CLIOLF", "WOLF POINT MT", D(2014, 12, 29), 1, -6, False, False)],
    "CLIOME": [("CLIOME", "NOME WSO AP", D(2014, 10, 23), 33, 19, True, False)],
    "CLIOME_2": [("CLIOME", "NOME AIRPORT", D(2006, 11, 8), 29, 19, True, False)],
    # Pago Pago's 5 PM reports carry a TODAY block: the day is not over, so not final.
    "CLIPPG": [("CLIPPG", "PAGO PAGO AIRPORT", D(2020, 12, 28), 89, 77, False, False)],
    "CLIPPG2": [("CLIPPG", "PAGO PAGO AIRPORT", D(2021, 6, 23), 86, 78, False, False)],
    "CLIPPG3": [("CLIPPG", "PAGO PAGO AIRPORT", D(2022, 2, 6), 89, 82, False, False)],
    "CLIPPG4": [("CLIPPG", "PAGO PAGO AIRPORT", D(2023, 3, 30), 86, 77, True, False)],
    "CLIRDU": [  # 57(E) / 37(E)
        ("CLIRDU", "RALEIGH-DURHAM INTL AIRPORT NC", D(2021, 3, 19), 57, 37, True, False)
    ],
    "CLIRDU_v2": [  # CCA, "57 E" / "31 E"
        ("CLIRDU", "RALEIGH-DURHAM INTL AIRPORT NC", D(2021, 3, 20), 57, 31, True, True)
    ],
    "CLISAD": [("CLISAD", "SAFFORD AZ AIRPORT", D(2021, 8, 6), None, 76, False, False)],
    "CLISEW": [("CLISEW", "SEATTLE WA WFO", D(2014, 12, 29), 44, 34, True, False)],
    "CLITCS": [("CLITCS", "TRUTH OR CONSEQUENCES", D(2014, 12, 29), 60, 22, True, False)],
}

# Files whose columns contradict their observed value: the parser refuses them rather than
# returning a number its own report disputes. Both are CLICVG.txt (max 69, normal 67, departure
# 2) with the observed max edited by the pyIEM author to 68 / 70 and the departure left at 2.
CONTRADICTORY: dict[str, str] = {
    "CLICVG_newer": "MAXIMUM 70 minus normal 67 is not the departure 2",
    "CLICVG_older": "MAXIMUM 68 minus normal 67 is not the departure 2",
}

# Issuance lines read by hand, converted to UTC (zone offset; AST falls back to the WMO header).
EXPECTED_ISSUED = {
    "CLINYC": datetime(2013, 1, 3, 6, 16, tzinfo=UTC),  # 116 AM EST THU JAN 3 2013
    "CLIANC": datetime(2017, 3, 15, 12, 35, tzinfo=UTC),  # 435 AM AKDT WED MAR 15 2017
    "CLIJNU": datetime(2013, 7, 1, 0, 36, tzinfo=UTC),  # 436 PM AKDT SUN JUN 30 2013
    "CLIPPG": datetime(2020, 12, 29, 4, 0, tzinfo=UTC),  # 500 PM SST MON DEC 28 2020
    "CLIOME_2": datetime(2006, 11, 9, 9, 51, tzinfo=UTC),  # "AST" -> header 090951
    "CLICVG_colon": datetime(2021, 2, 5, 5, 34, tzinfo=UTC),  # 1234 AM EST FRI FEB 05 2021
}


def _read(realdata_dir: Path, name: str) -> str:
    return (realdata_dir / CLI_DIR / f"{name}.txt").read_text()


def test_expected_table_covers_every_real_file(realdata_dir: Path) -> None:
    names = {p.stem for p in (realdata_dir / CLI_DIR).glob("*.txt")}
    assert names == set(EXPECTED) | set(CONTRADICTORY)
    assert not set(EXPECTED) & set(CONTRADICTORY)


@pytest.mark.parametrize("name", sorted(CONTRADICTORY))
def test_real_file_contradicting_its_departure_raises(realdata_dir: Path, name: str) -> None:
    with pytest.raises(CliParseError, match=CONTRADICTORY[name]):
        parse_cli(_read(realdata_dir, name))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file(realdata_dir: Path, name: str) -> None:
    reports = parse_cli(_read(realdata_dir, name))
    got = [
        (r.product, r.station_name, r.climate_date, r.max_f, r.min_f, r.final, r.correction)
        for r in reports
    ]
    assert got == EXPECTED[name]
    for r in reports:
        assert r.issued_at.utcoffset() is not None
        assert 0 <= (r.issued_at.date() - r.climate_date).days <= 21


@pytest.mark.parametrize(("name", "issued"), sorted(EXPECTED_ISSUED.items()))
def test_real_file_issued_at(realdata_dir: Path, name: str, issued: datetime) -> None:
    assert {r.issued_at for r in parse_cli(_read(realdata_dir, name))} == {issued}


@pytest.mark.parametrize("other", ["CF6", "DSM", "TAF"], ids=lambda s: f"{s}-products-are-not-cli")
def test_other_real_products_raise(realdata_dir: Path, other: str) -> None:
    files = sorted((realdata_dir / "nws_products/pyIEM_product_examples" / other).glob("*"))
    files = [f for f in files if f.is_file()][:3]
    if not files:
        pytest.skip(f"no {other} examples")
    for f in files:
        with pytest.raises(CliParseError):
            parse_cli(f.read_text(errors="replace"))


# --- inline snippets in the real layout -------------------------------------------------------

HEADER = """\
123
CDUS41 KOKX 030616{bbb}
CLINYC

CLIMATE REPORT
NATIONAL WEATHER SERVICE NEW YORK NY
{issued}

...................................

...THE CENTRAL PARK NY CLIMATE SUMMARY FOR JANUARY 2 2013...
{valid}
CLIMATE NORMAL PERIOD 1981 TO 2010
CLIMATE RECORD PERIOD 1869 TO 2013

WEATHER ITEM   OBSERVED TIME   RECORD YEAR NORMAL DEPARTURE LAST
                VALUE   (LST)  VALUE       VALUE  FROM      YEAR
                                                  NORMAL
..................................................................
TEMPERATURE (F)
 {label}
"""
FOOTER = """\
  AVERAGE         28                        33     -5       42

PRECIPITATION (IN)
  YESTERDAY        0.00          1.92 1925   0.12  -0.12     0.00

THE CENTRAL PARK NY CLIMATE NORMALS FOR TODAY
                         NORMAL    RECORD    YEAR
 MAXIMUM TEMPERATURE (F)   39        63      1950
 MINIMUM TEMPERATURE (F)   28        -4      1904
"""
MAX_ROW = "  MAXIMUM         {v}    301 PM{rec:>4}    1876  39{dep:>7}       50\n"
MIN_ROW = "  MINIMUM         {v}    743 AM{rec:>4}    1918  28{dep:>7}       33\n"


def max_row(v: str) -> str:
    """A MAXIMUM row whose record and departure agree with ``v`` (normal 39, record 68)."""
    return _row(MAX_ROW, v, normal=39, record=68, high=True)


def min_row(v: str) -> str:
    """A MINIMUM row whose record and departure agree with ``v`` (normal 28, record 2)."""
    return _row(MIN_ROW, v, normal=28, record=2, high=False)


def _row(template: str, v: str, *, normal: int, record: int, high: bool) -> str:
    m = re.match(r"-?[0-9]+", v)
    if m is None:
        return template.format(v=v, rec=record, dep="MM")
    value = int(m.group())
    if "R" in v:
        record = value  # tied
    elif (value > record) if high else (value < record):
        record = value + (1 if high else -1)
    return template.format(v=v, rec=record, dep=value - normal)


def make(
    max_v: str | None = "33",
    min_v: str | None = "22",
    *,
    bbb: str = "",
    issued: str = "116 AM EST THU JAN 3 2013",
    valid: str = "",
    label: str = "YESTERDAY",
) -> str:
    """A CLINYC-style product with the given observed values (None drops the row)."""
    text = HEADER.format(bbb=bbb, issued=issued, valid=valid, label=label)
    if max_v is not None:
        text += max_row(max_v)
    if min_v is not None:
        text += min_row(min_v)
    return text + FOOTER


def one(text: str) -> ParsedClimateReport:
    (report,) = parse_cli(text)
    return report


def test_plain_final_report() -> None:
    r = one(make())
    assert (r.product, r.station_name, r.climate_date) == (
        "CLINYC",
        "CENTRAL PARK NY",
        D(2013, 1, 2),
    )
    assert (r.max_f, r.min_f, r.final, r.correction) == (33, 22, True, False)
    assert r.issued_at == datetime(2013, 1, 3, 6, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("53R", 53), ("57(E)", 57), ("57 E", 57), ("-21R", -21), ("-3", -3), ("0", 0), ("MM", None)],
)
def test_observed_value_forms(raw: str, value: int | None) -> None:
    assert one(make(max_v=raw, min_v="-40")).max_f == value
    assert one(make(max_v="99", min_v=raw)).min_f == value


@pytest.mark.parametrize("raw", ["5X", "3.5", "T", "12:34", "1234", "57E", "6_3", "+5"])
def test_unreadable_observed_value_raises(raw: str) -> None:
    with pytest.raises(CliParseError, match="CLINYC"):
        parse_cli(make(max_v=raw))


def test_blank_observed_column_is_not_read_from_time() -> None:
    text = make().replace("  MAXIMUM         33    301 PM", "  MAXIMUM               301 PM")
    with pytest.raises(CliParseError, match="CLINYC"):
        parse_cli(text)


def test_normals_block_is_never_used() -> None:
    # Without the daily table, the "MAXIMUM TEMPERATURE (F)" normals must not be read.
    text = make(max_v=None, min_v=None)
    with pytest.raises(CliParseError, match="CLINYC"):
        parse_cli(text)


@pytest.mark.parametrize(
    ("valid", "label"),
    [
        ("VALID TODAY AS OF 0500 PM LOCAL TIME.", "TODAY"),
        ("VALID AS OF 0600 AM LOCAL TIME.", "TODAY"),
        ("", "TODAY"),
        ("VALID AS OF 0600 AM LOCAL TIME.", "YESTERDAY"),
    ],
)
def test_intermediate_reports_are_not_final(valid: str, label: str) -> None:
    assert one(make(valid=valid, label=label)).final is False


def test_morning_report_with_only_minimum() -> None:
    r = one(make(max_v=None, valid="VALID AS OF 0700 AM LOCAL TIME.", label="TODAY"))
    assert (r.max_f, r.min_f, r.final) == (None, 22, False)


@pytest.mark.parametrize("bbb", [" CCA", " RRA", " CCB"])
def test_correction_from_header(bbb: str) -> None:
    assert one(make(bbb=bbb)).correction is True


def test_correction_from_text() -> None:
    text = make().replace("CLIMATE REPORT\n", "CLIMATE REPORT (CORRECTION)\n")
    assert one(text).correction is True
    text = make().replace("JANUARY 2 2013...", "JANUARY 2 2013 CORRECTED...")
    assert one(text).correction is True


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        ("459 PM CDT TUE JAN 1 2013", datetime(2013, 1, 1, 21, 59, tzinfo=UTC)),
        ("1205 AM AKST WED JAN 2 2013", datetime(2013, 1, 2, 9, 5, tzinfo=UTC)),
        ("1200 PM HST WED JAN 2 2013", datetime(2013, 1, 2, 22, 0, tzinfo=UTC)),
        ("11:30 PM PDT WED JAN 2 2013", datetime(2013, 1, 3, 6, 30, tzinfo=UTC)),
        ("1259 AM EST WED JAN 02 2013", datetime(2013, 1, 2, 5, 59, tzinfo=UTC)),
        # No zone / ambiguous zone: the WMO header's 030616 (UTC) is used.
        ("1130 AM THU JAN 3 2013", datetime(2013, 1, 3, 6, 16, tzinfo=UTC)),
        ("116 AM AST THU JAN 3 2013", datetime(2013, 1, 3, 6, 16, tzinfo=UTC)),
    ],
)
def test_issued_at(issued: str, expected: datetime) -> None:
    assert one(make(issued=issued)).issued_at == expected


def test_header_fallback_crosses_month_end() -> None:
    # Climate day Jan 31, header day 01: the header time belongs to February.
    text = (
        make(issued="SOMETIME")
        .replace("KOKX 030616", "KOKX 010530")
        .replace("JANUARY 2 2013", "JANUARY 31 2013")
    )
    assert one(text).issued_at == datetime(2013, 2, 1, 5, 30, tzinfo=UTC)


def test_no_header_and_no_zone_raises() -> None:
    text = make(issued="1130 AM THU JAN 3 2013").replace("CDUS41 KOKX 030616\n", "")
    with pytest.raises(CliParseError, match="CLINYC"):
        parse_cli(text)


def test_without_wmo_header() -> None:
    text = make().replace("123\nCDUS41 KOKX 030616\n", "")
    r = one(text)
    assert (r.product, r.max_f, r.min_f) == ("CLINYC", 33, 22)


def test_alaska_layout() -> None:
    text = """\
CLIANN

CLIMATE REPORT
NATIONAL WEATHER SERVICE ANNETTE, AK
1205 AM AKST TUE MAR 3 2015

...................................
...THE ANNETTE WSO AP CLIMATE SUMMARY FOR MAR 2 2015...

WEATHER ITEM   OBSERVED TIME    RECORD YEAR NORMAL DEPARTURE LAST
               VALUE    (LST)   VALUE       VALUE  FROM      YEAR
...................................................................
TEMPERATURE
YESTERDAY
 MAXIMUM            53R 0151 PM    50  2003     43      10     27
 MINIMUM            33  1149 PM     4  1955     33       0     22
 AVERAGE            43                          38       5     25
"""
    r = one(text)
    assert (r.station_name, r.climate_date, r.max_f, r.min_f) == (
        "ANNETTE WSO AP",
        D(2015, 3, 2),
        53,
        33,
    )
    assert r.issued_at == datetime(2015, 3, 3, 9, 5, tzinfo=UTC)


def test_two_stations() -> None:
    second = make(max_v="79", min_v="62").split("...................................\n", 1)[1]
    second = second.replace("CENTRAL PARK NY", "LAGUARDIA AIRPORT")
    reports = parse_cli(make() + second)
    assert [(r.station_name, r.max_f, r.min_f) for r in reports] == [
        ("CENTRAL PARK NY", 33, 22),
        ("LAGUARDIA AIRPORT", 79, 62),
    ]


def test_compact_layout_without_blank_line() -> None:
    text = (
        make()
        .replace("TEMPERATURE (F)\n", "TEMPERATURE(F)\n")
        .replace(
            "  AVERAGE         28                        33     -5       42\n\n", "AVERAGE 28\n"
        )
    )
    assert (one(text).max_f, one(text).min_f) == (33, 22)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CLINYC\nNOTHING TO SEE\n",
        make().replace("TEMPERATURE (F)", "TEMPS"),
        make().replace(" YESTERDAY\n  MAXIMUM", " LAST WEEK\n  MAXIMUM"),
        make().replace("JANUARY 2 2013", "JANUARY 32 2013"),
        make().replace("  AVERAGE", max_row("40") + "  AVERAGE"),
    ],
    ids=["empty", "no-summary", "no-table", "no-block", "bad-date", "dup-row"],
)
def test_unparseable_raises(text: str) -> None:
    with pytest.raises(CliParseError):
        parse_cli(text)


def test_error_names_product() -> None:
    with pytest.raises(CliParseError, match="CLINYC"):
        parse_cli(make().replace("TEMPERATURE (F)", "TEMPS"))
    with pytest.raises(CliParseError, match="unknown product"):
        parse_cli("NOTHING\n")
    assert issubclass(CliParseError, ValueError)


def test_to_record() -> None:
    r = one(make(max_v="53R", bbb=" CCA"))
    rec = r.to_record("NYC")
    assert isinstance(rec, ClimateReport)
    assert (rec.city, rec.product, rec.climate_date, rec.max_f, rec.min_f) == (
        "NYC",
        "CLINYC",
        D(2013, 1, 2),
        53,
        22,
    )
    assert (rec.final, rec.correction, rec.issued_at) == (True, True, r.issued_at)
    assert rec.value("high") == 53
    with pytest.raises(ValidationError):
        r.max_f = 1  # type: ignore[misc]


# --- cross-checks of the observed value against the report's other columns -------------------


def test_truncated_number_contradicting_its_departure_raises() -> None:
    # "63" cut to "6": the row still says normal 39, departure 24 (63 - 39).
    text = make(max_v="63").replace("  MAXIMUM         63 ", "  MAXIMUM          6 ")
    with pytest.raises(CliParseError, match="MAXIMUM 6 minus normal 39 is not the departure 24"):
        parse_cli(text)


def test_departure_is_not_checked_in_intermediate_reports_or_estimates() -> None:
    # Real reports contradict the rule there (CLIPPG2, CLIRDU_v2): see the parser's docstring.
    wrong = make().replace("39     -6", "39     -9")
    with pytest.raises(CliParseError, match="departure"):
        parse_cli(wrong)
    assert one(wrong.replace(" YESTERDAY\n", " TODAY\n")).max_f == 33
    assert one(wrong.replace("         33 ", "         33(E)")).max_f == 33


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (("  MAXIMUM         33    301 PM  68", "  MAXIMUM         33R   301 PM  68"), "33R"),
        (("  MAXIMUM         33    301 PM  68", "  MAXIMUM         33    301 PM  30"), "beats"),
        (("  MINIMUM         22    743 AM   2", "  MINIMUM         22R   743 AM   2"), "22R"),
        (("  MINIMUM         22    743 AM   2", "  MINIMUM         22    743 AM  25"), "beats"),
    ],
    ids=["R-below-record", "unflagged-record-high", "R-above-record-low", "unflagged-record-low"],
)
def test_record_flag_must_agree_with_the_record_column(edit: tuple[str, str], match: str) -> None:
    text = make().replace(*edit)
    assert text != make()
    with pytest.raises(CliParseError, match=match):
        parse_cli(text)


def test_record_tie_and_new_record() -> None:
    tie = make().replace("33    301 PM  68", "68R   301 PM  68").replace(" -6  ", " 29  ", 1)
    assert one(tie).max_f == 68
    assert one(make(max_v="70R")).max_f == 70  # the column shows the old record, 70 ties
    text = make(max_v="70R").replace("301 PM  70", "301 PM  69")  # beats the old record 69
    assert one(text).max_f == 70


def test_maximum_below_minimum_raises() -> None:
    with pytest.raises(CliParseError, match="below MINIMUM"):
        parse_cli(make(max_v="20", min_v="22"))


@pytest.mark.parametrize("digit", ["\u0663", "\uff13", "\u00b3", "\U0001d7d1"])
def test_unicode_digits_are_never_read(digit: str) -> None:
    with pytest.raises(CliParseError):
        parse_cli(make().replace("         33 ", f"         3{digit}"))
    with pytest.raises(CliParseError):
        parse_cli(make().replace("JANUARY 2 2013", f"JANUARY {digit} 2013"))


def test_unknown_layout_and_extra_columns_raise() -> None:
    with pytest.raises(CliParseError, match="unknown table layout"):
        parse_cli(make().replace("RECORD YEAR NORMAL", "RECORD YEAR MEDIAN"))
    with pytest.raises(CliParseError, match="more columns"):
        parse_cli(make().replace("  -6       50\n", "  -6       50    7\n", 1))
    with pytest.raises(CliParseError, match="time"):
        parse_cli(make().replace("301 PM", "301 XM"))


@pytest.mark.parametrize(
    "issued", ["1200 AM CHST MON JAN 1 0001", "1159 PM HST FRI DEC 31 9999"], ids=["min", "max"]
)
def test_issuance_out_of_datetime_range_raises_typed_error(issued: str) -> None:
    with pytest.raises(CliParseError):
        parse_cli(make(issued=issued))


def test_split_or_unknown_rows_raise() -> None:
    # A row cut in two by a stray newline must not leave "MAXIMUM 6" with its columns dropped.
    with pytest.raises(CliParseError, match="unexpected row"):
        parse_cli(make(max_v="63").replace("MAXIMUM         63 ", "MAXIMUM         6\n3 "))
    with pytest.raises(CliParseError, match="unexpected row"):
        parse_cli(make().replace("  MINIMUM ", "  MINIMUX "))
    with pytest.raises(CliParseError, match="column header"):
        parse_cli(make().replace("WEATHER ITEM", "WEATHER"))
