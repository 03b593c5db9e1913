# The two commands: `make run` starts the console, `make test` runs the tests.
# Both set up everything on a fresh machine: Debian's chromium (browser tests),
# gettext (translations) and postgresql (the PostgreSQL test run) when missing,
# the virtualenv from requirements.txt, the compiled translation catalogs, and kube-apiserver +
# etcd built from Go modules into ~/.cache/kubegems-routes (about 4 minutes on
# 2 cores the first time), and the data plane (NGINX Ingress Controller and
# nginx + njs, from ../shared/third_party or upstream git; about 6-14 minutes
# the first time) with the Debian packages it needs to build and run. `make test` also fetches Keycloak
# (Maven and Java) for the sign-in tests; `KGR_DEMO_OIDC=1 make run` fetches it when it starts the demo one.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast check lint controlplane dataplane keycloak clean bench system-packages messages \
	image image-packages

# The development virtualenv: the runtime (requirements.txt) plus the test tools.
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

controlplane:
	$(PYTHON) -m kubegems_routes.controlplane.build
	$(PYTHON) -m kubegems_routes.controlplane.gatewayapi
	$(PYTHON) -m kubegems_routes.controlplane.certmanager

# Built after the control plane, never at the same time as another build of
# the same binary (the builder takes a lock in the cache).
dataplane: controlplane system-packages
	$(PYTHON) -m kubegems_routes.dataplane.build

# Keycloak (the sign-in tests' and the demo's OpenID Connect provider), fetched with Maven into the cache.
keycloak: system-packages
	$(PYTHON) -m kubegems_routes.demo.keycloak

# Debian packages: installed when missing if we are root, else a clear message.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-zenhei"; \
	command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing="$$missing build-essential"; \
	[ -e /usr/include/pcre2.h ] || missing="$$missing libpcre2-dev"; \
	[ -e /usr/include/openssl/ssl.h ] || missing="$$missing libssl-dev"; \
	[ -e /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v unshare >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 || missing="$$missing util-linux"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v mvn >/dev/null 2>&1 || missing="$$missing maven"; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

# Debian packages that build and run the image (docs/deployment.md): installed when missing if we are root.
image-packages:
	@missing=""; \
	for tool in buildah podman mmdebstrap runc; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	command -v newuidmap >/dev/null 2>&1 || missing="$$missing uidmap"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

# The console's image, localhost/kubegems-routes:<content hash>, tagged as deploy/base names it;
# skipped when that image exists. Prints its size and layers.
image: image-packages $(STAMP)
	$(PY) -m kubegems_routes.image

messages: $(STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore ".venv/*" -v0

setup: system-packages $(STAMP) messages controlplane dataplane

run: setup
	DJANGO_DEBUG=1 $(PY) manage.py runconsole

# The whole suite twice: on SQLite, then on a throwaway PostgreSQL server the tests start. The image
# tests (marker `image`) run in the first half only: they start their own PostgreSQL for the containers;
# so do the Keycloak sign-in tests (marker `keycloak`), which test no database difference.
test: setup keycloak image-packages check
	$(PY) -m pytest
	KGR_TEST_DATABASE=postgres $(PY) -m pytest -m "not image and not keycloak"

# Static checks, quick: lint, format, imports that run downward, types, Django's system checks,
# no missing migration.
check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	DJANGO_DEBUG=1 DATABASE_URL=sqlite:///:memory: $(PY) manage.py check --fail-level WARNING
	DJANGO_DEBUG=1 DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run

# A fast subset for developers: SQLite, no browser, no load test (make test runs everything).
test-fast: $(STAMP) messages controlplane dataplane keycloak
	$(PY) -m pytest -m "not e2e and not slow"

lint: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) var

bench: setup
	$(PY) bench/run.py
