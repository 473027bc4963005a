from __future__ import annotations

import os
import stat

import jsonschema
import pytest

from weather_trader.cli import main
from weather_trader.sim.exchange.keys import KeyStore
from weather_trader_tests.sim.exchange.conformance import (
    check_response,
    check_ws_message,
    response_schema,
    to_json_schema,
)


def test_exchange_cli_registers_and_creates_keys(tmp_path, monkeypatch, capsys, keypair) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path))
    public = tmp_path / "pub.pem"
    public.write_bytes(keypair[1])
    assert main(["exchange", "add-key", "script-key", str(public)]) == 0
    assert KeyStore(tmp_path / "exchange" / "keys").get("script-key") is not None
    assert main(["exchange", "create-key"]) == 0
    out = capsys.readouterr().out
    assert "PRIVATE KEY" not in out
    key_id = out.split("key id: ")[1].split()[0]
    path = tmp_path / "exchange" / "private" / f"{key_id}.pem"
    assert f"private key: {path}" in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyStore(tmp_path / "exchange" / "keys").get(key_id) is not None
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    assert main(["exchange", "add-key", "k2", str(bad)]) == 2


def test_nullable_translation() -> None:
    assert to_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    ref = to_json_schema({"$ref": "#/x", "nullable": True})
    assert ref == {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}


def test_checks_catch_a_nonconforming_body(keypair) -> None:  # type: ignore[no-untyped-def]
    assert response_schema("get", "/markets/trades", 200) is not None
    assert response_schema("get", "/markets/ABC", 200) is not None
    assert response_schema("post", "/portfolio/events/orders", 201) is not None
    with pytest.raises(jsonschema.ValidationError):
        check_response("GET", "/trade-api/v2/markets", 200, {"markets": [{"ticker": "X"}]})
    with pytest.raises(jsonschema.ValidationError):
        check_response("POST", "/trade-api/v2/portfolio/events/orders", 201,
                       {"order_id": "x", "fill_count": 1, "remaining_count": "0.00"})  # fmt: skip
    with pytest.raises(AssertionError):
        check_response("GET", "/trade-api/v2/markets", 404, {"code": "not_found"})
    with pytest.raises(jsonschema.ValidationError):
        check_ws_message({"type": "orderbook_delta", "sid": 1, "seq": 2, "msg": {}})


def test_exchange_serve_builds_a_persistent_state(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import weather_trader.sim.exchange as exchange_pkg

    served = {}

    def fake_serve(state, host, port):  # type: ignore[no-untyped-def]
        served.update(state=state, host=host, port=port)

    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path))
    monkeypatch.setattr(exchange_pkg, "serve", fake_serve)
    assert main(["exchange", "serve", "--port", "8123", "--seed", "3"]) == 0
    state = served["state"]
    assert (served["host"], served["port"], state.market.seed) == ("127.0.0.1", 8123, 3)
    assert state.store.path == tmp_path / "exchange" / "exchange.sqlite"
    assert "/trade-api/ws/v2" in capsys.readouterr().out
    state.close()
