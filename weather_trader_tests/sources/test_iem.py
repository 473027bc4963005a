"""IemClient against the documented IEM formats and REAL archived CLI products.

Formats used (cited from the search corpora):
- ``/json/cli.py?station=KNYC&year=YYYY`` -> ``{"results": [{"station", "valid", "high", "low",
  "product", ...}]}`` with ``"M"`` for missing (public clients reading ``json["results"]``,
  ``row["valid"]``, ``row["high"] not in (None, "M", "")``; the product id links the raw NWS
  product, e.g. ``202601020524-KOKX-CDUS41-CLINYC``).
- ``/cgi-bin/afos/retrieve.py?pil=...&fmt=text&sdate=2024-01-01T00:00Z&edate=...&limit=9999
  &order=asc``: raw products; ``ERROR:`` bodies when nothing is found.
- ``/cgi-bin/request/asos.py?station=...&data=tmpf&tz=Etc/UTC&format=onlycomma&latlon=no
  &missing=M&sts=...&ets=...``: CSV ``station,valid,tmpf`` (IEM asos.py / hourlyprecip.py
  ``?help`` pages: ``sts``/``ets`` interval, ``tz`` an IANA zone such as ``Etc/UTC``).
- Real data: ``../shared/realdata/nws_products/pyIEM_product_examples/CLI/CLINYC.txt``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from weather_trader.sources.cli_report import parse_cli
from weather_trader.sources.errors import MalformedResponse, SourceUnavailable
from weather_trader.sources.iem import (
    IemClient,
    iem_asos_id,
    issued_at_from_product_id,
    split_afos_products,
)

UA = "weather-trader-tests (ops@example.test)"
START = datetime(2013, 1, 3, tzinfo=UTC)
END = datetime(2013, 1, 4, tzinfo=UTC)
CLI_JSON = {
    "results": [
        {
            "station": "KNYC",
            "name": "NEW YORK CENTRAL PARK",
            "valid": "2026-01-01",
            "high": 38,
            "high_normal": 39,
            "low": "M",
            "precip": 0.0,
            "product": "202601020524-KOKX-CDUS41-CLINYC",
        },
        {"station": "KNYC", "valid": "2026-01-02", "high": "41", "low": None, "product": None},
    ]
}


def client() -> IemClient:
    return IemClient(UA, min_interval=0.0, max_attempts=2, sleep=lambda _s: None, jitter=0.0)


def clinyc(realdata_dir: Path) -> str:
    path = realdata_dir / "nws_products" / "pyIEM_product_examples" / "CLI" / "CLINYC.txt"
    return path.read_text()


def test_cli_history_and_reports(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://mesonet.agron.iastate.edu/json/cli.py?station=KNYC&year=2026", json=CLI_JSON
    )
    iem = client()
    rows = iem.cli_history("KNYC", 2026)
    assert [(r.valid, r.high, r.low) for r in rows] == [
        (date(2026, 1, 1), 38, None),
        (date(2026, 1, 2), 41, None),
    ]
    httpx_mock.add_response(json=CLI_JSON)
    first, second = iem.cli_reports("KNYC", 2026)
    assert first.city == "NYC" and first.product == "CLINYC" and first.final
    assert first.issued_at == datetime(2026, 1, 2, 5, 24, tzinfo=UTC)
    # No product id: 07:00 EST (UTC-5) the next morning.
    assert second.issued_at == datetime(2026, 1, 3, 12, 0, tzinfo=UTC)
    assert second.max_f == 41 and second.min_f is None


def test_product_id_timestamp() -> None:
    assert issued_at_from_product_id("201301030616-KOKX-CDUS41-CLINYC") == datetime(
        2013, 1, 3, 6, 16, tzinfo=UTC
    )
    assert issued_at_from_product_id("CLINYC") is None
    assert issued_at_from_product_id(None) is None


def test_cli_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="<html>oops")
    with pytest.raises(MalformedResponse, match="invalid JSON"):
        client().cli_history("KNYC", 2026)
    httpx_mock.add_response(json={"data": []})
    with pytest.raises(MalformedResponse, match="no 'results' list"):
        client().cli_history("KNYC", 2026)
    httpx_mock.add_response(json={"results": [{"station": "KNYC", "valid": "x", "high": 1}]})
    with pytest.raises(MalformedResponse, match="does not match the schema: valid"):
        client().cli_history("KNYC", 2026)


def test_cli_5xx(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=502)
    httpx_mock.add_response(status_code=502)
    with pytest.raises(SourceUnavailable, match="HTTP 502"):
        client().cli_history("KNYC", 2026)


@pytest.mark.parametrize("framing", ["control", "dollars"])
def test_afos_text_split_and_parse_cli(
    httpx_mock: HTTPXMock, realdata_dir: Path, framing: str
) -> None:
    text = clinyc(realdata_dir)
    if framing == "control":
        body = f"\x01{text}\r\r\n\x03\x01{text}\r\r\n\x03"
    else:
        body = f"{text}\n{text}"
    httpx_mock.add_response(text=body)
    products = client().afos_text("CLINYC", START, END)
    assert len(products) == 2
    for product in products:
        (report,) = parse_cli(product)
        assert (report.product, report.climate_date) == ("CLINYC", date(2013, 1, 2))
        assert (report.max_f, report.min_f, report.final) == (33, 22, True)
    request = httpx_mock.get_requests()[0]
    assert request.url.params["sdate"] == "2013-01-03T00:00Z"
    assert request.url.params["fmt"] == "text" and request.url.params["limit"] == "9999"


def test_afos_not_found_and_errors(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="ERROR: Could not Find: CLINYC")
    assert client().afos_text("CLINYC", START, END) == []
    httpx_mock.add_response(text="ERROR: database unavailable")
    with pytest.raises(MalformedResponse, match="AFOS error"):
        client().afos_text("CLINYC", START, END)
    with pytest.raises(ValueError, match="timezone-aware"):
        client().afos_text("CLINYC", datetime(2013, 1, 3), END)


def test_afos_5xx(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(status_code=503)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        client().afos_text("CLINYC", START, END)


def test_split_keeps_inner_dollars() -> None:
    text = "CLINYC\nPART ONE\n$$\nTRAILER TEXT\n$$\n"
    assert split_afos_products(text) == [text]


def test_asos_csv(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        text=(
            "station,valid,tmpf\n"
            "NYC,2018-01-01 04:51,8.96\n"
            "NYC,2018-01-01 05:51,M\n"
            "NYC,2018-01-01 06:51,8.96\n"
        )
    )
    start, end = datetime(2018, 1, 1, tzinfo=UTC), datetime(2018, 1, 2, tzinfo=UTC)
    observations = client().asos("KNYC", start, end)
    assert [(o.observed_at.hour, o.temp_f) for o in observations] == [(4, 8.96), (6, 8.96)]
    assert all(o.city == "NYC" and o.station == "KNYC" for o in observations)
    params = httpx_mock.get_requests()[0].url.params
    assert params["station"] == "NYC" and params["format"] == "onlycomma"
    assert params["tz"] == "Etc/UTC" and params["sts"] == "2018-01-01T00:00Z"
    assert iem_asos_id("KMDW") == "MDW" and iem_asos_id("PANC") == "PANC"


def test_asos_malformed_and_5xx(httpx_mock: HTTPXMock) -> None:
    start, end = datetime(2018, 1, 1, tzinfo=UTC), datetime(2018, 1, 2, tzinfo=UTC)
    httpx_mock.add_response(text="<html>Service down</html>")
    with pytest.raises(MalformedResponse, match="lacks station,valid,tmpf"):
        client().asos("KNYC", start, end)
    httpx_mock.add_response(text="station,valid,tmpf\nNYC,yesterday,8.9\n")
    with pytest.raises(MalformedResponse, match="line 2"):
        client().asos("KNYC", start, end)
    httpx_mock.add_response(status_code=500)
    httpx_mock.add_response(status_code=500)
    with pytest.raises(SourceUnavailable, match="HTTP 500"):
        client().asos("KNYC", start, end)
