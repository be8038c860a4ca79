"""The bed's one server: moto on 127.0.0.1 (ephemeral port) behind a small plug-in middleware.

    python -m bed.server --state-dir DIR [--parent-pid PID] [--ttl S] [--idle S] [--time-scale X]

It writes DIR/plugin.env (KEY=value lines plug-ins add) and then, last and atomically, DIR/port.
It stops by itself: when --parent-pid exits, after --ttl seconds, or after --idle seconds without
a request, so a crashed test never leaves a server behind.

Plug-ins (bed/plugins) extend it through one contract, the `Bed` object below: the server
imports each module named in bed.plugins.PLUGINS and calls its `install(bed)`; bed/plugins says
what `bed` offers.

Built-in controls: GET /_bed/health, GET|POST /_bed/time-scale {"timeScale": x}.
"""

import argparse
import importlib
import io
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from bed.calls import CallLog, signing_service
from bed.plugins import PLUGINS

JSON_TYPE = "application/x-amz-json-1.1"


def _json_response(start_response, status, body, extra_headers=()):
    data = json.dumps(body, default=str).encode()
    headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(data))),
               ("x-amzn-RequestId", str(uuid.uuid4())), *extra_headers]
    start_response(f"{status} {'OK' if status < 400 else 'Error'}", headers)
    return [data]


class Bed:
    def __init__(self, moto_app, state_dir, time_scale=1.0):
        self.app = moto_app
        self.state_dir = Path(state_dir)
        self.time_scale = float(time_scale)
        self.base_url = ""
        self.state = {}
        self.lock = threading.RLock()
        self.last_request = time.monotonic()
        self._targets, self._filters, self._queries, self._controls = {}, {}, {}, {}
        self._tickers, self._env, self._gates = [], {}, []
        self._paths = {}
        self._rest_operations = []
        self.add_control("health", lambda *_: (200, "text/plain", b"ok"))
        self.add_control("time-scale", _time_scale_control)

    # -- registration -----------------------------------------------------------------------
    def add_target(self, target, handler):
        self._targets[target] = handler

    def add_response_filter(self, target, fn):
        self._filters.setdefault(target, []).append(fn)

    def add_query_action(self, service, action, handler):
        self._queries[(service, action)] = handler

    def add_control(self, path, handler):
        self._controls[path.strip("/") + ("/" if path.endswith("/") else "")] = handler

    def add_json_control(self, path, fn):
        """A control with JSON both ways: fn(bed, method, query, payload) -> (status, obj)."""
        def handler(bed, method, query, body, _headers):
            payload = json.loads(body) if body.strip() else {}
            status, obj = fn(bed, method, query, payload)
            return status, "application/json", json.dumps(obj, default=str).encode()
        self.add_control(path, handler)

    def add_path(self, prefix, handler):
        self._paths[prefix] = handler

    def add_gate(self, fn):
        self._gates.append(fn)

    def add_ticker(self, fn):
        self._tickers.append(fn)

    def add_rest_operation(self, fn):
        self._rest_operations.append(fn)

    def rest_operation(self, environ):
        service = signing_service(environ)
        with self.lock:
            return next(filter(None, (fn(self, environ, service) for fn in self._rest_operations)),
                        None)

    def add_env(self, key, value):
        self._env[key] = str(value)

    # -- helpers for plug-ins ---------------------------------------------------------------
    @staticmethod
    def error(code, message, status=400):
        return status, {"__type": code, "message": message}

    def now(self):
        return time.time()

    def tick(self):
        with self.lock:
            now = time.time()
            for fn in self._tickers:
                try:
                    fn(self, now)
                except Exception as err:  # a bug in one plug-in must not stop the clock
                    print(f"bed: ticker {fn.__module__}: {err!r}", file=sys.stderr)

    def moto(self, target, body, environ):
        """Calls moto with a JSON body as if the request came in with `environ`'s headers."""
        raw = json.dumps(body).encode()
        env = dict(environ)
        env.update({"wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw)),
                    "HTTP_X_AMZ_TARGET": target, "REQUEST_METHOD": "POST", "PATH_INFO": "/"})
        status, headers, data = self._call_app(env)
        try:
            parsed = json.loads(data or b"{}")
        except ValueError:
            parsed = {"message": data.decode(errors="replace")}
        if status == 200:
            for fn in self._filters.get(target, []):
                parsed = fn(self, body, status, parsed)
        return status, parsed

    def _call_app(self, environ):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        chunks = self.app(environ, capture)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return int(captured["status"].split()[0]), captured["headers"], data

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        self.last_request = time.monotonic()
        self.tick()
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bed/"):
            return self._control(environ, start_response, path[len("/_bed/"):])
        for prefix, handler in self._paths.items():
            if path.startswith(prefix):
                raw = self._read(environ)
                with self.lock:
                    status, headers, data = handler(self, environ, raw)
                start_response(f"{status} X", headers)
                return [data]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target and self._gates:
            refused = self._gate(environ, target)
            if refused is not None:
                status, out = refused
                return _json_response(start_response, status, out,
                                      [("x-amzn-ErrorType", out.get("__type", ""))])
        if target in self._targets or target in self._filters:
            return self._json(environ, start_response, target)
        if environ.get("REQUEST_METHOD") == "POST" and self._queries and "x-www-form-urlencoded" in \
                environ.get("CONTENT_TYPE", ""):
            return self._query(environ, start_response)
        return self.app(environ, start_response)

    def _gate(self, environ, target):
        try:
            body = json.loads(self._read(environ) or b"{}")
        except ValueError:
            body = {}
        with self.lock:
            for fn in self._gates:
                refused = fn(self, target, body, environ)
                if refused is not None:
                    return refused
        return None

    def _read(self, environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        return raw

    def _json(self, environ, start_response, target):
        raw = self._read(environ)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.app(environ, start_response)  # moto answers a malformed body itself
        with self.lock:
            handler = self._targets.get(target)
            answer = handler(self, body, environ) if handler else None
            if answer is None:
                status, headers, data = self._call_app(environ)
                if status != 200 or not self._filters.get(target):
                    start_response(f"{status} X", headers)
                    return [data]
                answer = self.moto_filtered(target, body, data)
        status, out = answer
        extra = [("x-amzn-ErrorType", out["__type"])] if status >= 400 and "__type" in out else []
        return _json_response(start_response, status, out, extra)

    def moto_filtered(self, target, body, data):
        parsed = json.loads(data or b"{}")
        for fn in self._filters.get(target, []):
            parsed = fn(self, body, 200, parsed)
        return 200, parsed

    def _query(self, environ, start_response):
        raw = self._read(environ)
        params = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
        action, service = params.get("Action", ""), signing_service(environ)
        handler = self._queries.get((service, action))
        if handler is None and not service:
            # Unsigned calls (AssumeRoleWithWebIdentity needs no credentials) name no service.
            handler = next((h for (_, a), h in self._queries.items() if a == action), None)
        if handler is None:
            return self.app(environ, start_response)
        with self.lock:
            answer = handler(self, params, environ)
        if answer is None:
            return self.app(environ, start_response)
        status, xml = answer
        data = xml.encode()
        start_response(f"{status} X", [("Content-Type", "text/xml"),
                                       ("Content-Length", str(len(data)))])
        return [data]

    def _control(self, environ, start_response, path):
        handler = self._controls.get(path.strip("/"))
        if handler is None:
            prefixes = [p for p in self._controls if p.endswith("/") and path.startswith(p)]
            handler = self._controls[max(prefixes, key=len)] if prefixes else None
        if handler is None:
            status, ctype, data = 404, "application/json", json.dumps(
                {"error": f"no control route /_bed/{path}",
                 "routes": sorted(self._controls)}).encode()
        else:
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                       if k.startswith("HTTP_")}
            raw = self._read(environ)
            with self.lock:
                try:
                    status, ctype, data = handler(self, environ.get("REQUEST_METHOD", "GET"),
                                                  query, raw, headers)
                except ValueError as err:  # bad JSON or a bad knob: the caller's mistake
                    status, ctype = 400, "application/json"
                    data = json.dumps({"error": str(err)}).encode()
        start_response(f"{status} X", [("Content-Type", ctype), ("Content-Length", str(len(data)))])
        return [data]


def _time_scale_control(bed, method, _query, body, _headers):
    if method == "POST":
        value = float(json.loads(body or b"{}").get("timeScale", bed.time_scale))
        if value <= 0:
            raise ValueError("timeScale must be > 0")
        bed.time_scale = value
    return 200, "application/json", json.dumps({"timeScale": bed.time_scale}).encode()


def load_plugins(bed):
    """Installs the plug-ins, in PLUGINS order (the contract: bed/plugins)."""
    for name in PLUGINS:
        try:
            module = importlib.import_module(f"bed.plugins.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"bed.plugins.{name}":
                raise  # a plug-in that exists but fails to import is a bug worth seeing
            print(f"bed: plug-in bed.plugins.{name} not present, skipped", file=sys.stderr)
            continue
        module.install(bed)


def watch(server, bed, parent_pid, ttl, idle):
    deadline = time.monotonic() + ttl
    while time.monotonic() < deadline and time.monotonic() - bed.last_request < idle:
        if parent_pid and not os.path.exists(f"/proc/{parent_pid}"):
            break
        time.sleep(0.1)
        bed.tick()
    server.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--ttl", type=float, default=7200)
    parser.add_argument("--idle", type=float, default=7200)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()

    state_dir = Path(args.state_dir)
    bed = Bed(DomainDispatcherApplication(create_backend_app), state_dir, args.time_scale)
    server = make_server("127.0.0.1", 0, bed, threaded=True, request_handler=MotoRequestHandler)
    # Plug-ins see the final address (bed.base_url) when they install.
    bed.base_url = f"http://127.0.0.1:{server.server_port}"
    load_plugins(bed)
    server.app = CallLog(bed)
    threading.Thread(target=watch, args=(server, bed, args.parent_pid, args.ttl, args.idle),
                     daemon=True).start()
    (state_dir / "plugin.env").write_text("".join(f"{k}={v}\n" for k, v in bed._env.items()))
    # Written last and renamed into place, so a reader never sees a half-written port.
    (state_dir / "port.tmp").write_text(str(server.server_port))
    os.replace(state_dir / "port.tmp", state_dir / "port")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
