"""Start the local control plane and keep it up until interrupted.

python -m kubegems_routes.controlplane [--kubeconfig PATH]
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from kubegems_routes.controlplane.build import BuildError, cache_root
from kubegems_routes.controlplane.server import ControlPlane, ControlPlaneError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=cache_root() / "kubeconfig",
        help="where to write the admin kubeconfig (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    # SIGTERM ends the process through the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with ControlPlane(kubeconfig_path=args.kubeconfig) as plane:
            print(f"kube-apiserver: {plane.url}", flush=True)
            print(f"kubeconfig:     {plane.kubeconfig_path}", flush=True)
            print(f"try:            kubectl --kubeconfig {plane.kubeconfig_path} version", flush=True)
            print("Ctrl-C stops etcd and kube-apiserver.", flush=True)
            signal.pause()
    except KeyboardInterrupt:
        return 0
    except (BuildError, ControlPlaneError) as exc:
        print(f"control plane failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
