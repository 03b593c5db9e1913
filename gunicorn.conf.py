"""gunicorn settings for the console (read from the working directory, or with `-c gunicorn.conf.py`).

Every value can be overridden on the command line or by GUNICORN_CMD_ARGS.
"""

import os

from kubegems_routes.lib.startup import load_settings_or_exit

# Refuse to start with one line if the Django settings are missing or malformed,
# before any worker boots (a worker's failure would print a traceback per worker).
load_settings_or_exit()

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: a request waits on the cluster for at most the configured
# timeouts, and the load test shows 4 workers hold concurrent creates.
# In a container the CPU count is the node's, so the count is set, not derived.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# A form save makes a few cluster calls, each bounded by KGR_KUBE_CONNECT_TIMEOUT
# + KGR_KUBE_READ_TIMEOUT (3 + 10 s): a worker silent for longer is stuck.
timeout = 60
# SIGTERM: stop accepting, let requests in flight finish for up to 25 s (below
# the pod's 35 s terminationGracePeriodSeconds), then exit.
graceful_timeout = 25
keepalive = 5
# Recycle workers now and then, so slow leaks never add up.
max_requests = 2000
max_requests_jitter = 200
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
