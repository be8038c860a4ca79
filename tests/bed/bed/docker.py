"""The bed's docker engine and registry.

    python -m bed.docker install
    python -m bed.docker start --state-dir DIR [--parent-pid PID] [--ttl SECONDS]
    python -m bed.docker stop --state-dir DIR

`start` runs dockerd on its own socket under DIR (no bridge, no iptables: the sandbox has neither,
and nothing here needs container networking) and Debian's `docker-registry` on 127.0.0.1 with
htpasswd auth (user AWS, random password: the same credentials the bed's ECR
GetAuthorizationToken hands out, see ecr.py). It prints the environment as KEY=value lines and
writes DIR/registry.json, which is how ecr.py finds the registry. A detached watcher stops both
when --parent-pid exits or the TTL runs out, so a crashed test leaves nothing behind.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

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
    missing = [pkg for pkg, path in PACKAGES.items() if not os.path.exists(path)]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=sys.stderr
    )


def free_port():
    # The registry cannot report the port it bound, so pick one here; the tiny race is acceptable.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
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
    sys.stderr.write(f"bed.docker: {what} did not start within {seconds} s; log {log}:\n")
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
    if dockerd_pid and alive(dockerd_pid) and registry_pid and alive(registry_pid):
        print("\n".join(env_lines(state)))  # idempotent: reuse what runs for this state dir
        return
    stop(state)
    install()

    # Unix socket paths are limited to 108 bytes; fail clearly instead of a cryptic bind error.
    if len(f"{state}/docker.sock") > 100:
        sys.exit(f"bed.docker: state dir path too long for a unix socket: {state}")
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
    # 127.0.0.1 registries are insecure-by-default in docker, so plain http push works.
    tmp = os.path.join(state, "registry.json.tmp")
    json.dump({"address": address, "user": "AWS", "password": password}, open(tmp, "w"))
    os.replace(tmp, os.path.join(state, "registry.json"))

    # The watcher is a detached copy of this module, so it outlives `start` itself.
    subprocess.Popen(
        [sys.executable, "-m", "bed.docker", "watch", "--state-dir", state,
         "--parent-pid", str(parent_pid), "--ttl", str(ttl)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    print("\n".join(env_lines(state)))


def watch(state, parent_pid, ttl):
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
    if os.path.isdir(state):
        stop(state)


def stop(state):
    for name in ("registry.pid", "dockerd.pid"):
        path = os.path.join(state, name)
        stop_pid(read_pid(path))
        if os.path.exists(path):
            os.remove(path)
    for name in ("registry.json",):
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
        watch(os.path.abspath(a.state_dir), a.parent_pid, a.ttl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
