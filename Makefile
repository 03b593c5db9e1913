# The two commands: `make run` starts the console, `make test` runs the tests.
# Both set up everything on a fresh machine: Debian's chromium (browser tests),
# gettext (translations) and postgresql (the PostgreSQL test run) when missing,
# the virtualenv from requirements.txt, the compiled translation catalogs, and kube-apiserver +
# etcd built from Go modules into ~/.cache/kubegems-routes (about 4 minutes on
# 2 cores the first time).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint controlplane clean bench system-packages messages

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

controlplane:
	$(PYTHON) -m kubegems_routes.controlplane.build

# Debian packages: installed when missing if we are root, else a clear message.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-zenhei"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

messages: $(STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore ".venv/*" -v0

setup: system-packages $(STAMP) messages controlplane

run: setup
	DJANGO_DEBUG=1 $(PY) manage.py runconsole

# The whole suite twice: on SQLite, then on a throwaway PostgreSQL server the tests start.
test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest
	KGR_TEST_DATABASE=postgres $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) var

bench: setup
	$(PY) bench/run.py
