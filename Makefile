# Periop: `make run [PORT=8080]` serves the demo (port 5000 by default); `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := PERIOP_ENV=development $(BIN)/flask --app wsgi

.PHONY: run test lint format install install-test db clean bench profile bench-browser

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

db: install
	$(FLASK) migrate
	$(FLASK) load-protocols
	$(FLASK) seed-demo

# make run [PORT=8080]
PORT ?= 5000
run: db
	@echo "Periop on http://127.0.0.1:$(PORT) (one process with threads, as SQLite needs). Stop with Ctrl-C."
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Compiled modules (and pytest's rewritten tests) are cached even where the environment says
# not to write bytecode: collecting the suite then takes about 1 s instead of 4 on each worker.
test: lint
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

# Benchmark: make bench [PATIENTS=50000] [DB=postgresql] (see bench/README.md).
PATIENTS ?= 5000
DB ?= sqlite
bench: install
	$(BIN)/python -m bench.run --patients $(PATIENTS) --database $(DB)

# Where a request's time goes (cProfile, by area): make profile [PATIENTS=50000] [DB=postgresql].
profile: install
	$(BIN)/python -m bench.profile --patients $(PATIENTS) --database $(DB)

# A tick in Chromium, click to updated item, on the synthetic site: make bench-browser [DB=postgresql].
bench-browser: install-test
	$(BIN)/python -m bench.browser_ticks --patients $(PATIENTS) --database $(DB)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
