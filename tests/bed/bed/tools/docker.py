"""The bed's docker engine and registry.

    python -m bed.tools.docker install
    python -m bed.tools.docker start --state-dir DIR [--parent-pid PID] [--ttl SECONDS]
    python -m bed.tools.docker stop --state-dir DIR

`start` runs dockerd on its own socket under DIR (no bridge, no iptables: the sandbox has neither,
and nothing here needs container networking) and Debian's `docker-registry` on 127.0.0.1 with
htpasswd auth (user AWS, random password: the same credentials the bed's ECR
GetAuthorizationToken hands out, see ecr.py). It prints the environment as KEY=value lines and
writes DIR/registry.json, which is how ecr.py finds the registry. A detached watcher stops both
when --parent-pid exits or the TTL runs out, so a crashed test leaves nothing behind.

Clients reach the registry through a small proxy (in the watcher) that applies what ECR checks
on a push and docker-registry does not: the repository must exist in the bed's ECR (404
NAME_UNKNOWN), and an immutable tag cannot be pushed over (400 TAG_INVALID).
"""

import argparse
import fcntl
import hashlib
import http.client
import http.server
import json
import re
import threading
import urllib.error
import urllib.request
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

from bed import calls
from bed.registry import Registry, tag_is_immutable

PACKAGES = {
    "docker.io": "/usr/sbin/dockerd",
    "docker-registry": "/usr/bin/docker-registry",
    "busybox-static": "/bin/busybox",
    "apache2-utils": "/usr/bin/htpasswd",
}
# Debian's 20.10 client builds with BuildKit on its own; /usr/local/bin/docker (28.x) would need
# the buildx plugin, which is not installed.
DOCKER = "/usr/bin/docker"


def install():
    if all(os.path.exists(path) for path in PACKAGES.values()):
        return
    # Tests start docker in parallel: one installs, the others wait and find it done.
    with open("/tmp/deploy-kit-bed-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [pkg for pkg, path in PACKAGES.items() if not os.path.exists(path)]
        if not missing:
            return
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing],
                       check=True, env=env, stdout=sys.stderr)


def free_port():
    # The registry cannot report the port it bound, so pick one here; the tiny race is acceptable.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    # A zombie counts as gone: our daemons are reparented to this sandbox's init, which reaps
    # them only after seconds.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def read_pid(path):
    try:
        return int(open(path).read().strip())
    except (OSError, ValueError):
        return 0


def env_lines(state):
    reg = json.load(open(os.path.join(state, "registry.json")))
    return [
        f"DOCKER_HOST=unix://{state}/docker.sock",
        f"BED_REGISTRY={reg['address']}",
        "DOCKER_BUILDKIT=1",
        f"DOCKER={DOCKER}",
    ]


def wait_for(check, what, log, seconds=30, fatal=True):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    if not fatal:
        return False
    sys.stderr.write(f"bed.tools.docker: {what} did not start within {seconds} s; log {log}:\n")
    sys.stderr.write(open(log).read()[-4000:])
    sys.exit(1)


def docker_ready(state):
    out = subprocess.run(
        [DOCKER, "-H", f"unix://{state}/docker.sock", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
    )
    return out.returncode == 0


def registry_ready(address):
    try:
        with socket.create_connection(("127.0.0.1", int(address.split(":")[1])), 0.5):
            return True
    except OSError:
        return False


def start_dockerd(state, log, extra):
    subprocess.Popen(
        [
            "/usr/sbin/dockerd",
            "-H", f"unix://{state}/docker.sock",
            "--bridge=none", "--iptables=false", "--ip-masq=false",
            "--data-root", f"{state}/docker",
            "--exec-root", f"{state}/exec",
            "--pidfile", f"{state}/dockerd.pid",
            *extra,
        ],
        stdout=open(log, "a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_pid(pid):
    if pid and alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not alive(pid):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def start(state, parent_pid, ttl):
    os.makedirs(state, exist_ok=True)
    state = os.path.abspath(state)
    dockerd_pid = read_pid(os.path.join(state, "dockerd.pid"))
    registry_pid = read_pid(os.path.join(state, "registry.pid"))
    running = dockerd_pid and alive(dockerd_pid) and registry_pid and alive(registry_pid)
    if running and os.path.exists(os.path.join(state, "registry.json")) and registry_ready(
        json.load(open(os.path.join(state, "registry.json")))["address"]
    ):
        print("\n".join(env_lines(state)))  # idempotent: reuse what runs for this state dir
        return
    stop(state)
    install()

    # Unix socket paths are limited to 108 bytes; fail clearly instead of a cryptic bind error.
    if len(f"{state}/docker.sock") > 100:
        sys.exit(f"bed.tools.docker: state dir path too long for a unix socket: {state}")
    dlog = os.path.join(state, "dockerd.log")
    start_dockerd(state, dlog, [])

    password = secrets.token_urlsafe(24)
    htpasswd = subprocess.run(
        ["htpasswd", "-Bbn", "AWS", password], check=True, capture_output=True, text=True
    ).stdout
    open(os.path.join(state, "registry.htpasswd"), "w").write(htpasswd)
    port = free_port()
    address = f"127.0.0.1:{port}"
    config = {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {
            "filesystem": {"rootdirectory": f"{state}/registry"},
            # Lets tests and ECR BatchDeleteImage remove manifests.
            "delete": {"enabled": True},
        },
        "http": {"addr": address, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"htpasswd": {"realm": "bed-ecr", "path": f"{state}/registry.htpasswd"}},
    }
    # JSON is YAML, so no YAML library is needed.
    open(os.path.join(state, "registry.yml"), "w").write(json.dumps(config))
    rlog = os.path.join(state, "registry.log")
    reg = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", f"{state}/registry.yml"],
        stdout=open(rlog, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    open(os.path.join(state, "registry.pid"), "w").write(str(reg.pid))

    if not wait_for(lambda: docker_ready(state), "dockerd", dlog, seconds=20, fatal=False):
        # overlay2 needs a filesystem that supports it under DIR; vfs works everywhere (slower).
        stop_pid(read_pid(os.path.join(state, "dockerd.pid")))
        start_dockerd(state, dlog, ["--storage-driver", "vfs"])
        wait_for(lambda: docker_ready(state), "dockerd (vfs)", dlog)
    wait_for(lambda: registry_ready(address), "docker-registry", rlog)
    # The watcher is a detached copy of this module, so it outlives `start` itself; it also
    # serves the proxy, whose port it writes.
    proxy_port = os.path.join(state, "registry-proxy.port")
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bed.tools.docker", "watch", "--state-dir", state,
         "--parent-pid", str(parent_pid), "--ttl", str(ttl), "--backend", address],
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(state, "registry-proxy.log"), "w"), start_new_session=True,
    )
    open(os.path.join(state, "watcher.pid"), "w").write(str(watcher.pid))
    wait_for(lambda: os.path.exists(proxy_port), "the registry proxy",
             os.path.join(state, "registry-proxy.log"))
    # 127.0.0.1 registries are insecure-by-default in docker, so plain http push works.
    tmp = os.path.join(state, "registry.json.tmp")
    json.dump({"address": f"127.0.0.1:{open(proxy_port).read()}", "backend": address,
               "user": "AWS", "password": password, "root": f"{state}/registry"}, open(tmp, "w"))
    os.replace(tmp, os.path.join(state, "registry.json"))
    # Also kept beside `up`'s env file, for tools that read the state dir (run-workflow).
    open(os.path.join(state, "docker.env"), "w").write("\n".join(env_lines(state)) + "\n")
    print("\n".join(env_lines(state)))


class Proxy(http.server.BaseHTTPRequestHandler):
    """Relays to docker-registry, refusing the pushes ECR would refuse. Bodies are buffered:
    the bed's images are a few MB."""

    protocol_version = "HTTP/1.1"
    backend = state = ""

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            data += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return data

    def relay(self):
        body = self.body()
        operation = registry_operation(self.command, self.path)
        if operation:
            calls.record("registry", operation)
        refusal = push_refusal(self.state, self.backend, self.command, self.path, body)
        if refusal:
            status, code, message = refusal
            data = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        skip = {"transfer-encoding", "connection", "content-length"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        conn = http.client.HTTPConnection(self.backend, timeout=120)
        # Host is kept, so the registry's Location headers name the proxy.
        sends_body = body or self.command in ("PUT", "POST", "PATCH")
        conn.request(self.command, self.path, body if sends_body else None, headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response_only(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in skip:
                self.send_header(key, value)
        length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else len(data)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = relay

    def log_message(self, *args):
        pass


def registry_operation(method, path):
    """The IAM action ECR checks for this registry (Docker API) request, or None."""
    path = path.split("?")[0]
    if re.match(r"^/v2/.+/blobs/uploads/?$", path) and method == "POST":
        return "ecr:InitiateLayerUpload"
    if re.match(r"^/v2/.+/blobs/uploads/[^/]+$", path):
        return {"PATCH": "ecr:UploadLayerPart", "PUT": "ecr:CompleteLayerUpload"}.get(method)
    if re.match(r"^/v2/.+/blobs/sha256:[0-9a-f]+$", path):
        return {"HEAD": "ecr:BatchCheckLayerAvailability",
                "GET": "ecr:GetDownloadUrlForLayer"}.get(method)
    if re.match(r"^/v2/.+/manifests/[^/]+$", path):
        return {"PUT": "ecr:PutImage", "GET": "ecr:BatchGetImage",
                "HEAD": "ecr:BatchGetImage"}.get(method)
    return None


def push_refusal(state, backend, method, path, body):
    """(status, code, message) when ECR would refuse this registry request, else None."""
    m = re.match(r"^/v2/(.+)/(blobs/uploads/|manifests/([^/?]+))", path)
    if not m or method not in ("POST", "PUT") or (m.group(3) is None) != (method == "POST"):
        return None
    name, ref = m.group(1), m.group(3)
    try:
        port = open(os.path.join(state, "port")).read().strip()
    except OSError:
        return None  # docker without a bed: no ECR to consult
    env = open(os.path.join(state, "env")).read() if os.path.exists(os.path.join(state, "env")) else ""
    region = (re.findall(r"^AWS_REGION=(\S+)", env, re.M) or ["us-east-1"])[0]
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=json.dumps({"repositoryNames": [name]}).encode(),
        headers={"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
                 "Content-Type": "application/x-amz-json-1.1",
                 # moto routes by the credential scope's service; it does not check signatures.
                 "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20200101/{region}/ecr/"
                                  "aws4_request, SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            repo = json.loads(resp.read())["repositories"][0]
    except urllib.error.HTTPError:
        return (404, "NAME_UNKNOWN", f"The repository with name '{name}' does not exist in the "
                "registry with id '123456789012'")
    if ref is None or ref.startswith("sha256:"):
        return None
    class Repo:
        image_tag_mutability = repo.get("imageTagMutability", "MUTABLE")
        image_tag_mutability_exclusion_filters = repo.get("imageTagMutabilityExclusionFilters")

    if not tag_is_immutable(Repo, ref):
        return None
    info = json.load(open(os.path.join(state, "registry.json")))
    existing = Registry(info).manifest(name, ref)
    if existing and existing[0] != "sha256:" + hashlib.sha256(body).hexdigest():
        return (400, "TAG_INVALID", f"The image tag '{ref}' already exists in the '{name}' "
                "repository and cannot be overwritten because the repository is immutable.")
    return None


def serve_proxy(state, backend):
    Proxy.backend, Proxy.state = backend, state
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = os.path.join(state, "registry-proxy.port.tmp")
    open(tmp, "w").write(str(server.server_port))
    os.replace(tmp, os.path.join(state, "registry-proxy.port"))


def watch(state, parent_pid, ttl, backend=None):
    if backend:
        serve_proxy(state, backend)
    # The pids are read once: the state dir may be deleted under us (a test's cleanup), and the
    # processes must still be stopped then.
    pids = [read_pid(os.path.join(state, n)) for n in ("registry.pid", "dockerd.pid")]
    deadline = time.monotonic() + ttl
    while time.monotonic() < deadline and any(p and alive(p) for p in pids):
        if parent_pid and not alive(parent_pid):
            break
        time.sleep(1)
    for pid in pids:
        if pid and alive(pid):
            os.kill(pid, signal.SIGTERM)
    # Clean up only our own generation: a later `start` in the same dir has its own watcher.
    current = [read_pid(os.path.join(state, n)) for n in ("registry.pid", "dockerd.pid")]
    if os.path.isdir(state) and current == pids:
        stop(state, watcher=False)


def stop(state, watcher=True):
    # The watcher (and the proxy in it) first, so it does not clean up after a later start.
    for name in (["watcher.pid"] if watcher else []) + ["registry.pid", "dockerd.pid"]:
        path = os.path.join(state, name)
        stop_pid(read_pid(path))
        if os.path.exists(path):
            os.remove(path)
    for name in ("registry.json", "docker.env", "registry-proxy.port"):
        path = os.path.join(state, name)
        if os.path.exists(path):
            os.remove(path)
    # dockerd leaves mounts behind (exec/netns/default, overlay layers): unmount them, deepest
    # first, so the state dir can be deleted.
    try:
        mounts = [line.split()[1] for line in open("/proc/mounts")]
    except OSError:
        mounts = []
    for point in sorted((m for m in mounts if m.startswith(state + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL)
    shutil.rmtree(os.path.join(state, "exec"), ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["install", "start", "stop", "watch"])
    p.add_argument("--state-dir")
    p.add_argument("--parent-pid", type=int, default=0)
    p.add_argument("--ttl", type=float, default=7200)
    p.add_argument("--backend", help="(watch) the registry the proxy relays to")
    a = p.parse_args()
    if a.command == "install":
        install()
    elif not a.state_dir:
        p.error("--state-dir is required")
    elif a.command == "start":
        start(a.state_dir, a.parent_pid, a.ttl)
    elif a.command == "stop":
        stop(os.path.abspath(a.state_dir))
    else:
        watch(os.path.abspath(a.state_dir), a.parent_pid, a.ttl, a.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
