"""``weather-trader history import`` end to end through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from weather_trader.cli import main
from weather_trader.store.db import make_engine
from weather_trader.store.repo_history import market_history
from weather_trader_tests.history._import_files import legacy_event, write


def test_history_import_prints_a_summary_per_file_and_refuses_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "wt.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    folder = tmp_path / "events"
    folder.mkdir()
    event = write(folder / "ny.json", legacy_event())
    assert main(["history", "import", "--events", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"events    {event}: 3 read, 3 inserted, 0 already present" in out
    assert main(["history", "import", "--events", str(event), "--totals-only"]) == 0
    assert "events    1 files: 3 read, 0 inserted, 0 updated, 3 already present" in (
        capsys.readouterr().out
    )
    bad = write(tmp_path / "r.csv", "city,kind,climate_date,value_f,final,issued_at\n"
                "NYC,high,2025-01-10,43,maybe,2025-01-11T14:00:00Z\n")  # fmt: skip
    assert main(["history", "import", "--reports", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: final 'maybe' is not true/false" in err
    assert "refused, nothing was written" in err
    assert main(["history", "import"]) == 2
    engine = make_engine(f"sqlite:///{db}")
    assert len(market_history(engine)) == 3
    engine.dispose()
