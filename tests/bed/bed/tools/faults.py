"""Fault injection between a client (the deploy-kit binary) and an upstream HTTP server (the bed).

    python -m bed.tools.faults --upstream URL [--rate 0.1] [--seed N] [--kinds K,K...]
                         [--slow-seconds S] [--parent-pid PID] [--ttl S]

It listens on 127.0.0.1 (ephemeral port), prints `FAULTS_URL=http://127.0.0.1:PORT` and
`AWS_ENDPOINT_URL=` the same (so a shell can use the lines as env), then forwards every request
to --upstream, except that each one, with probability --rate, gets one of the --kinds:

  throttle  400 ThrottlingException (STS: Throttling), as AWS throttles; not forwarded
  429       429 with the same throttling error code; not forwarded
  500       500 ServerException (STS: InternalFailure); not forwarded
  503       503 with a load balancer's HTML page, no AWS error document; not forwarded
  reset     the connection is reset (RST) once the request is read; not forwarded
  truncate  forwarded, then the answer is cut: full Content-Length, half the body, RST
  slow      forwarded after a pause of --slow-seconds/2 to --slow-seconds
  stall     no answer for --stall-seconds (default 300), then the connection is reset: a
            half-open connection. Not in the default --kinds: only a client timeout ends it.

Error documents follow the request's protocol: AWS JSON (an X-Amz-Target header), the query
protocol (a form body: STS), REST-XML for S3 and CloudFront (by the signing service), or plain
text for anything else (the OIDC token endpoint, an app).
Decisions come from one seeded generator, in the order requests arrive.

Control routes (never faulted, never counted):
  GET  /_faults/stats   {"requests", "faulted", "byKind": {...}, "byOperation": {op: {...}}}
  POST /_faults/config  {"rate": 0.3, "kinds": [...], "seed": 7, "slowSeconds": 2,
                         "stallSeconds": 300, "operations": ["RegisterTaskDefinition"]}
                        (`operations`: only these are faulted; every one when empty)
  POST /_faults/reset   zeroes the counters

It stops by itself when --parent-pid exits or after --ttl seconds (default 900), like the bed.
"""

import argparse
import http.client
import http.server
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid

KINDS = ["throttle", "429", "500", "503", "reset", "truncate", "slow"]
ALL_KINDS = KINDS + ["stall"]
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "content-length"}


class Faults:
    """The configuration, the seeded generator and the counters, shared by all handler threads."""

    def __init__(self, rate, kinds, seed, slow_seconds, stall_seconds=300.0):
        self.lock = threading.Lock()
        self.operations = set()
        self.configure({"rate": rate, "kinds": kinds, "seed": seed, "slowSeconds": slow_seconds,
                        "stallSeconds": stall_seconds})
        self.reset()

    def configure(self, config):
        with self.lock:
            unknown = [k for k in config.get("kinds", []) if k not in ALL_KINDS]
            if unknown:
                raise ValueError(f"unknown fault kinds {unknown}; known: {ALL_KINDS}")
            if "rate" in config:
                rate = float(config["rate"])
                if not 0 <= rate <= 1:
                    raise ValueError("rate must be between 0 and 1")
                self.rate = rate
            if "kinds" in config:
                if not config["kinds"]:
                    raise ValueError(f"kinds must name at least one of {ALL_KINDS}")
                self.kinds = list(config["kinds"])
            if "seed" in config:
                self.seed = int(config["seed"])
                self.rng = random.Random(self.seed)
            if "slowSeconds" in config:
                self.slow_seconds = float(config["slowSeconds"])
            if "stallSeconds" in config:
                self.stall_seconds = float(config["stallSeconds"])
            if "operations" in config:
                self.operations = set(config["operations"])

    def reset(self):
        with self.lock:
            self.requests, self.faulted = 0, 0
            self.by_kind = {k: 0 for k in ALL_KINDS}
            self.by_operation = {}

    def decide(self, operation):
        """The fault for the next request (None: none), counted."""
        with self.lock:
            chosen = not self.operations or operation in self.operations
            kind = self.rng.choice(self.kinds) if chosen and self.rng.random() < self.rate \
                else None
            self.requests += 1
            op = self.by_operation.setdefault(operation, {"requests": 0, "faults": {}})
            op["requests"] += 1
            if kind:
                self.faulted += 1
                self.by_kind[kind] += 1
                op["faults"][kind] = op["faults"].get(kind, 0) + 1
            delay = self.rng.uniform(self.slow_seconds / 2, self.slow_seconds) \
                if kind == "slow" else self.stall_seconds if kind == "stall" else 0.0
            return kind, delay

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "faulted": self.faulted, "rate": self.rate,
                    "kinds": self.kinds, "seed": self.seed, "byKind": dict(self.by_kind),
                    "operations": sorted(self.operations),
                    "byOperation": json.loads(json.dumps(self.by_operation))}


def operation(headers, body, path):
    """`ecs:RunTask`-like name for the counters: the X-Amz-Target, the query Action, or the path."""
    target = headers.get("X-Amz-Target", "")
    if "." in target:
        return target.split(".", 1)[1]
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
        if action:
            return action
    return urllib.parse.urlsplit(path).path


def error_answer(kind, headers, body):
    """(status, content type, body, extra headers) of an injected error, in the request's protocol."""
    status = {"throttle": 400, "429": 429, "500": 500, "503": 503}[kind]
    if kind == "503":  # what a load balancer in front of the service would send
        return status, "text/html", b"<html><body><h1>503 Service Unavailable</h1></body></html>", []
    throttled = kind in ("throttle", "429")
    if headers.get("X-Amz-Target"):
        code = "ThrottlingException" if throttled else "ServerException"
        message = "Rate exceeded" if throttled else "Service encountered an internal error (injected)."
        data = json.dumps({"__type": code, "message": message}).encode()
        return status, "application/x-amz-json-1.1", data, [("x-amzn-ErrorType", code)]
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        code = "Throttling" if throttled else "InternalFailure"
        kind_of = "Sender" if throttled else "Receiver"
        message = "Rate exceeded" if throttled else "An internal error occurred (injected)."
        xml = ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
               f"<Type>{kind_of}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
               f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
        return status, "text/xml", xml.encode(), []
    rest = _rest_xml_error(kind, headers)
    if rest:
        return rest
    if throttled:
        return 429, "text/plain", b"Too Many Requests (injected)", []
    return status, "text/plain", b"Internal Server Error (injected)", []


def _rest_xml_error(kind, headers):
    """S3 and CloudFront (REST-XML, told by the signing service): S3 throttles with 503 SlowDown
    and fails with 500 InternalError (`<Error>` document); CloudFront with 400 Throttling and 500
    InternalError in an `<ErrorResponse>`, as their API references give them."""
    scope = headers.get("Authorization", "").split("Credential=")[-1].split("/")
    service = scope[3] if len(scope) > 3 else ""
    throttled = kind in ("throttle", "429")
    request_id = uuid.uuid4()
    if service == "s3":
        code, message = ("SlowDown", "Please reduce your request rate.") if throttled else \
            ("InternalError", "We encountered an internal error. Please try again. (injected)")
        xml = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
               f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>")
        return 503 if throttled else 500, "application/xml", xml.encode(), []
    if service == "cloudfront":
        code, kind_of, message = ("Throttling", "Sender", "Rate exceeded") if throttled else \
            ("InternalError", "Receiver", "An internal error occurred (injected).")
        xml = ("<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/"
               f"doc/2020-05-31/\"><Error><Type>{kind_of}</Type><Code>{code}</Code><Message>"
               f"{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return (429 if kind == "429" else 400) if throttled else 500, "text/xml", xml.encode(), []
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do: the SDK reuses connections
    server_version = "bed-faults"

    def log_message(self, *_args):
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/_faults/"):
            return self.control(body)
        kind, delay = self.server.faults.decide(operation(self.headers, body, self.path))
        if kind == "reset":
            return self.reset()
        if kind == "stall":
            time.sleep(delay)
            return self.reset()
        if kind in ("throttle", "429", "500", "503"):
            status, ctype, data, extra = error_answer(kind, self.headers, body)
            return self.answer(status, [("Content-Type", ctype), *extra,
                                        ("x-bed-fault", kind)], data)
        if delay:
            time.sleep(delay)
        try:
            status, headers, data = self.forward(body)
        except OSError as err:
            data = f"bed.tools.faults: upstream {self.server.upstream}: {err}".encode()
            return self.answer(502, [("Content-Type", "text/plain")], data)
        if kind == "truncate" and data:
            return self.truncate(status, headers, data)
        self.answer(status, headers, data)

    def forward(self, body):
        host, port = self.server.upstream
        conn = http.client.HTTPConnection(host, port, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            return response.status, kept, data
        finally:
            conn.close()

    def answer(self, status, headers, data):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def truncate(self, status, headers, data):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.reset()

    def reset(self):
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def control(self, body):
        faults = self.server.faults
        route = urllib.parse.urlsplit(self.path).path[len("/_faults/"):].strip("/")
        try:
            if route == "stats":
                status, out = 200, faults.stats()
            elif route == "config" and self.command == "POST":
                faults.configure(json.loads(body or b"{}"))
                status, out = 200, faults.stats()
            elif route == "reset" and self.command == "POST":
                faults.reset()
                status, out = 200, faults.stats()
            else:
                status, out = 404, {"error": f"no route {self.command} /_faults/{route}",
                                    "routes": ["GET stats", "POST config", "POST reset"]}
        except ValueError as err:
            status, out = 400, {"error": str(err)}
        self.answer(status, [("Content-Type", "application/json")], json.dumps(out).encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up on a slow answer (its own timeout) closed the socket: normal here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def watch(server, parent_pid, ttl):
    deadline = time.monotonic() + ttl
    while time.monotonic() < deadline:
        if parent_pid and not os.path.exists(f"/proc/{parent_pid}"):
            break
        time.sleep(0.2)
    server.shutdown()


def main():
    parser = argparse.ArgumentParser(description="Fault-injecting proxy in front of the bed.")
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated: {ALL_KINDS}")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--stall-seconds", type=float, default=300.0)
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--ttl", type=float, default=900)
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname:
        parser.error("--upstream must be http://HOST:PORT")
    try:
        faults = Faults(args.rate, [k for k in args.kinds.split(",") if k], args.seed,
                        args.slow_seconds, args.stall_seconds)
    except ValueError as err:
        parser.error(str(err))

    server = Server(("127.0.0.1", 0), Handler)
    server.faults = faults
    server.upstream = (upstream.hostname, upstream.port or 80)
    threading.Thread(target=watch, args=(server, args.parent_pid, args.ttl), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:  # one write: a caller may stop reading after the first line
        os.write(sys.stdout.fileno(), f"FAULTS_URL={url}\nAWS_ENDPOINT_URL={url}\n".encode())
    except BrokenPipeError:
        pass
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
