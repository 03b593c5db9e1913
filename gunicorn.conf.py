"""gunicorn settings for the console (read from the working directory, or with `-c gunicorn.conf.py`).

Every value can be overridden on the command line or by GUNICORN_CMD_ARGS.
"""

import os

from kubegems_routes.lib.startup import load_settings_or_exit

# Refuse to start with one line if the Django settings are missing or malformed,
# before any worker boots (a worker's failure would print a traceback per worker).
load_settings_or_exit()

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The process model: one process per pod, its requests on threads (the gthread
# worker). The console keeps a watch-fed cache of every cluster (kube/cache.py):
# one per process, listed once, then followed. With N worker processes a pod
# would list and watch each cluster N times and hold its records N times;
# recycling a worker would list every cluster again. One process holds one
# cache for every request of the pod; the cache is read under locks from any
# thread. Requests mostly wait on the database and the API servers, which
# release the GIL, so threads keep the concurrency of the former 4 sync
# workers (tests/test_load.py; bench/RESULTS.md, benchmarks 11-14, measured
# side by side); CPU beyond one core comes from more replicas.
# A shared cache process beside several workers would need its records
# serialised across processes on every read, for no gain at this load.
# WEB_CONCURRENCY > 1 still works, at one cache per process.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gthread's heartbeat comes from the worker's main loop, not from a request: a
# request waiting on the cluster (bounded by KGR_KUBE_CONNECT_TIMEOUT +
# KGR_KUBE_READ_TIMEOUT per call) does not make the worker look stuck.
timeout = 60
# SIGTERM: stop accepting, let requests in flight finish for up to 25 s (below
# the pod's 35 s terminationGracePeriodSeconds), then exit.
graceful_timeout = 25
keepalive = 5
# No recycling: a new process would start every cluster's cache again, with a
# full list of each kind (the issue 25 benchmark counts them).
max_requests = 0
# Heartbeat files on tmpfs: the root filesystem is read-only in the pod.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# No control socket: it would be created under $HOME, read-only in the pod.
control_socket_disable = True
# Django logs one JSON access line per request, with its request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's own lines in the same JSON shape as the console's.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "kubegems_routes.lib.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
# Only trust X-Forwarded-* from the proxy in front (the ingress controller).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
