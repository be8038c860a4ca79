"""Runs moto's server on 127.0.0.1 on an ephemeral port and writes the port to a file.

It stops by itself: after --ttl seconds, or as soon as --parent-pid (the test that started it)
is gone, so a crashed test never leaves a server behind.
"""

import argparse
import os
import sys
import threading
import time

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def watch(server, parent_pid, deadline):
    while time.monotonic() < deadline:
        if parent_pid and not os.path.exists(f"/proc/{parent_pid}"):
            break
        time.sleep(0.5)
    server.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--ttl", type=float, default=7200)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    # OIDC endpoint and registry-backed ECR (bed/oidc.py, bed/ecr.py) wrap the app; they keep
    # their files (request token, registry.json) in the state dir, the port file's directory.
    state_dir = os.path.dirname(os.path.abspath(args.port_file))
    for name in ("oidc", "ecr"):
        try:
            module = __import__(f"bed.{name}", fromlist=["install"])
        except ImportError:
            continue
        app = module.install(app, state_dir)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(
        target=watch, args=(server, args.parent_pid, time.monotonic() + args.ttl), daemon=True
    ).start()
    # Written last and renamed into place, so a reader never sees a half-written port.
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_port))
    os.replace(tmp, args.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
