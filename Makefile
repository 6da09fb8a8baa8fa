# The two commands people run: `make demo` (the main job) and `make test` (the whole suite).
# Both create ./.venv on first use from constraints.txt, so a fresh machine needs only python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,fast]'
	# an editable install leaves our modules uncompiled, and where PYTHONDONTWRITEBYTECODE is
	# set (as on our CI machines) every command then compiles ~80 of them anew: 0.2 s of CPU at
	# each start. A pip install (non-editable) compiles them; this does the same for the checkout.
	$(BIN)/python -m compileall -q -j 0 flows transforms schemas connectors sandbox
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=$${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-180} $(BIN)/python -m flows.commands.demo

test: $(STAMP)
	$(BIN)/pytest -q -n auto --maxprocesses 4

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) leadflow-out test-output
