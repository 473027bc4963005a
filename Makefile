# Two commands matter: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export WEATHER_TRADER_HOME ?= $(CURDIR)/.weather_trader

.PHONY: install demo test lint format dev clean

install: $(STAMP)

# Reinstall whenever the lock file or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: install
	$(BIN)/weather-trader demo

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Dagster UI + daemon on :3000 and the sidecar on :8000, in the foreground until Ctrl-C.
dev: install
	$(BIN)/weather-trader dev

clean:
	rm -rf $(VENV) .weather_trader
