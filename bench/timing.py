"""What bench/step_overhead.py and bench/chain.py share: the test bed, a timing proxy in front of
it, a docker shim, and the processes' own time.

The proxy sits on loopback between the process under test and the bed: every AWS call, the GitHub
OIDC token request and the HTTP checks go through it, and it records each request from the moment
its first line arrives to the moment the last byte of the answer is written back. The shim (a few
lines of C, built once) does the same for each docker command build-push-ecr runs, with its CPU
time, and in the chain for each deploy-kit process. Time inside either is waiting on the bed; the
rest of the wall time is the process's own (which so also carries the proxy's delay in picking up
a request: against us).
"""

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE_PATH = "/_bench/health"  # answered by the proxy itself: an app that takes no time
SMOKE_BODY = b'{"status":"ok"}'

SHIM_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* Runs the program named by $REAL_ENV with our arguments; appends "start end cpu own"
   (CLOCK_MONOTONIC s, the child's user+system s, this shim's own user+system s: its exec and
   fork, which the process that ran it is charged for too) to the file named by $LOG_ENV. */
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  double start = now();
  pid_t pid = fork();
  if (pid == 0) { argv[0] = getenv(REAL_ENV); execv(argv[0], argv); _exit(127); }
  int status = 0; struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 126;
  double end = now();
  FILE *log = fopen(getenv(LOG_ENV), "a");
  struct rusage self; getrusage(RUSAGE_SELF, &self);
  if (log) { fprintf(log, "%.6f %.6f %.6f %.6f\n", start, end, ru.ru_utime.tv_sec
      + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
      self.ru_utime.tv_sec + self.ru_stime.tv_sec
      + (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6); fclose(log); }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"""


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- the bed -----------------------------------------------------------------------------------
def bed_up(state, scale, *components):
    env = {**os.environ, "BED_STATE_DIR": str(state), "BED_TIME_SCALE": str(scale)}
    out = subprocess.run([str(ROOT / "tests/bed/up"), "--parent-pid", str(os.getpid()),
                          *components], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: the test bed did not start:\n{out.stderr}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def bed_down(state):
    subprocess.run([str(ROOT / "tests/bed/down")], env={**os.environ, "BED_STATE_DIR": str(state)},
                   check=False, capture_output=True)


def docker_up(state):
    """The bed's docker engine and registry; returns docker.env as a dict."""
    py = ROOT / "tests/bed/.venv/bin/python"
    out = subprocess.run([str(py), "-m", "bed.tools.docker", "start", "--state-dir", str(state),
                          "--parent-pid", str(os.getpid())], cwd=ROOT / "tests/bed",
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: docker did not start:\n{out.stderr}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def docker_down(state):
    subprocess.run([str(ROOT / "tests/bed/.venv/bin/python"), "-m", "bed.tools.docker", "stop",
                    "--state-dir", str(state)], cwd=ROOT / "tests/bed", check=False,
                   capture_output=True)


def control(bed_url, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(bed_url + path, data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def build_shim(work, name, real_env, log_env):
    """A program that runs $real_env and logs each run to $log_env (see SHIM_C)."""
    source, binary = Path(work) / f"{name}.c", Path(work) / name
    source.write_text(SHIM_C)
    # Static: no dynamic loader before main, whose time the run would be charged as its own.
    subprocess.run(["cc", "-O2", "-static", f'-DREAL_ENV="{real_env}"', f'-DLOG_ENV="{log_env}"',
                    "-o", str(binary), str(source)], check=True)
    return binary


def shim_intervals(path):
    """[(start, end, cpu, own)] the shim logged (cpu: the program's; own: the shim's), and
    empties the log."""
    path = Path(path)
    if not path.exists():
        return []
    rows = [tuple(map(float, line.split())) for line in path.read_text().splitlines() if line]
    path.write_text("")
    return rows


# -- the timing proxy --------------------------------------------------------------------------
class Proxy:
    """HTTP/1.1 on 127.0.0.1 (ephemeral port) forwarding to `upstream` (host, port), keep-alive
    on both sides. `take()` returns and clears [(start, end, what)] in time.monotonic()."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.records = []
        threading.Thread(target=self._accept, daemon=True).start()

    def take(self):
        with self.lock:
            out, self.records = self.records, []
        return out

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        reader, up, up_reader = conn.makefile("rb"), None, None
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                start = time.monotonic()
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers, body = _read_message(reader)
                if target.startswith(SMOKE_PATH):
                    status, out_headers, out_body = b"200 OK", [
                        (b"Content-Type", b"application/json")], SMOKE_BODY
                else:
                    if up is None:
                        up = socket.create_connection(self.upstream)
                        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        up_reader = up.makefile("rb")
                    up.sendall(line + _head(headers, body) + body)
                    status_line = up_reader.readline()
                    status = status_line.split(b" ", 1)[1].rstrip(b"\r\n")
                    out_headers, out_body = _read_message(up_reader, method == "HEAD")
                    if _wants_close(out_headers):
                        up.close()
                        up = None
                conn.sendall(b"HTTP/1.1 " + status + b"\r\n" + _head(out_headers, out_body)
                             + out_body)
                what = _header(headers, b"x-amz-target") or target.split("?")[0]
                with self.lock:
                    self.records.append((start, time.monotonic(), what))
                if _wants_close(headers):
                    return
        except (OSError, ValueError):
            return
        finally:
            conn.close()
            if up is not None:
                up.close()


def _header(headers, name):
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _wants_close(headers):
    return (_header(headers, b"connection") or "").lower() == "close"


def _head(headers, body):
    kept = [(k, v) for k, v in headers
            if k.lower() not in (b"content-length", b"transfer-encoding", b"connection")]
    lines = [k + b": " + v for k, v in kept] + [b"Content-Length: " + str(len(body)).encode()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _read_message(reader, no_body=False):
    """Headers [(name, value)] and the whole body (Content-Length or chunked)."""
    headers = []
    while True:
        line = reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        key, _, value = line.partition(b":")
        headers.append((key.strip(), value.strip()))
    if no_body:
        return headers, b""
    if (_header(headers, b"transfer-encoding") or "").lower() == "chunked":
        chunks = []
        while True:
            size = int(reader.readline().split(b";")[0], 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return headers, b"".join(chunks)
            chunks.append(reader.read(size))
            reader.readline()
    length = int(_header(headers, b"content-length") or 0)
    return headers, reader.read(length) if length else b""


# -- measuring a process -----------------------------------------------------------------------
def union(intervals, within=None):
    """Total length of the union of [(start, end, ...)]: concurrent calls wait once. With
    `within` (start, end), only the part inside it."""
    if within is not None:
        low, high = within
        intervals = [(max(s, low), min(e, high)) for s, e, *_ in intervals if e > low and s < high]
    total, reach = 0.0, None
    for start, end, *_ in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def run_timed(argv, env, cwd=None, stdin=None):
    """Runs argv; returns (wall s, cpu s of it and its reaped children, exit code, output).
    Output goes to a file, so a full pipe never stalls the process."""
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin or subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, text, start


def machine():
    """`2 cores (Intel(R) Xeon(R) Processor), x86_64, Linux 6.1`: where a figure was measured."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return (f"{os.cpu_count()} cores ({model}), {platform.machine()}, "
            f"{platform.system()} {platform.release().split('-')[0]}")


def median(values):
    return statistics.median(values) if values else float("nan")


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"
