# The two commands: `make run` starts the console, `make test` runs the tests.
# Both set up everything on a fresh machine: the virtualenv from
# requirements.txt and kube-apiserver + etcd built from Go modules into
# ~/.cache/kubegems-routes (about 4 minutes on 2 cores the first time).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint controlplane clean bench

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

controlplane:
	$(PYTHON) -m kubegems_routes.controlplane.build

setup: $(STAMP) controlplane

run: setup
	DJANGO_DEBUG=1 $(PY) manage.py runconsole

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) var

bench: setup
	$(PY) bench/run.py
