"""Runs a workflow through act in host mode against the bed (tests/bed/run-workflow).

    python -m bed.tools.act WORKFLOW [--job J] [--event E] [--input k=v] [--secret k=v] [--env k=v]
                           [--var k=v]
                      [--as-action owner/repo@ref] [--local-repository owner/repo@ref=DIR]
                      [--artifacts DIR] [--timeout S]

What act 0.2.89 does in host mode (`-P ubuntu-latest=-self-hosted`), and so what this does:
- RUNNER_TOOL_CACHE is `<--action-cache-path>/tool_cache` whatever the environment says, so the
  tool cache is seeded there: `deploy-kit/<version>/<x64|arm64>/deploy-kit` plus the
  `<arch>.complete` marker (actions/tool-cache layout), from $DEPLOY_KIT_BIN or
  target/debug/deploy-kit. dist/install.sh then finds it and nothing is rebuilt.
- act passes the host environment through to steps (without overriding its own variables), so
  GITHUB_*, ACTIONS_*, RUNNER_*, INPUT_* and AWS_* of the caller are dropped first: only the bed's
  env file (and docker.env when docker runs), then --env, reach the job.
- `actions/checkout` of the repository under test copies the work tree (no network); any other
  remote action is cloned from github.com, which fails offline, unless --local-repository maps
  it to a folder. --as-action maps it to a copy of this work tree, so the example workflows'
  `uses: org/deploy-kit/<action>@v1` run the code under test.
- Steps run on a pseudo-terminal: stdout and stderr are one stream and both are TTYs.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

BED = Path(__file__).resolve().parents[2]  # tests/bed
ROOT = BED.parent.parent
DROPPED = ("GITHUB_", "ACTIONS_", "RUNNER_", "INPUT_", "AWS_", "STATE_")


def pairs(values, what):
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            sys.exit(f"run-workflow: {what} must be KEY=VALUE, got {value!r}")
        out[key] = val
    return out


def read_env(path):
    env = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, val = line.partition("=")
            if sep and key and not key.startswith("#"):
                env[key] = val
    return env


def bed_env(state):
    """The bed's env file, starting the bed (`up`) when none runs for this state dir."""
    if not (state / "env").is_file():
        subprocess.run([str(BED / "up")], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, BED_STATE_DIR=str(state)))
    return {**read_env(state / "env"), **read_env(state / "docker.env")}


def version():
    text = (ROOT / "dist" / "install.sh").read_text()
    m = re.search(r"^DEPLOY_KIT_VERSION=\"?([^\"\s]+)", text, re.M)
    if not m:
        sys.exit("run-workflow: no DEPLOY_KIT_VERSION= line in dist/install.sh")
    return m.group(1)


def seed_tool_cache(cache, binary):
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    dest = cache / "tool_cache" / "deploy-kit" / version() / arch
    dest.mkdir(parents=True, exist_ok=True)
    # Copy to a temporary name and rename, so a concurrent reader never runs half a binary.
    tmp = dest / ".deploy-kit.tmp"
    shutil.copy2(binary, tmp)
    os.replace(tmp, dest / "deploy-kit")
    # The marker records the binary's sha256: dist/install.sh trusts the entry only if it matches.
    digest = hashlib.sha256((dest / "deploy-kit").read_bytes()).hexdigest()
    (dest.parent / f"{arch}.complete").write_text(digest + "\n")
    return dest / "deploy-kit"


def export_repo(directory, dest):
    """The work tree as git sees it (tracked and new files, not ignored ones) copied to dest.

    act's --local-repository tars the whole folder in memory, target/ included; a copy without
    the ignored paths keeps that small."""
    listed = subprocess.run(
        ["git", "-C", str(directory), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = directory / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_yaml(path, values):
    # act reads a `.yml` env/secret/input file as YAML; JSON is YAML, and needs no quoting rules.
    path.write_text(json.dumps(values))
    return str(path)


def command(args, state, work):
    workflow = Path(args.workflow).resolve()
    if not workflow.is_file():
        sys.exit(f"run-workflow: no workflow file {workflow}")
    cache = Path(args.cache_dir or state / "act").resolve()
    binary = Path(args.bin or os.environ.get("DEPLOY_KIT_BIN") or ROOT / "target/debug/deploy-kit")
    if binary.is_file():
        seeded = seed_tool_cache(cache, binary)
        print(f"run-workflow: tool cache seeded: {seeded} (from {binary})", file=sys.stderr)
    else:
        print(f"run-workflow: no deploy-kit binary at {binary} (cargo build, or DEPLOY_KIT_BIN): "
              "dist/install.sh would build from source", file=sys.stderr)

    bed = bed_env(state)
    secrets = {k: bed[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if k in bed}
    secrets.update(pairs(args.secret, "--secret"))
    inputs = pairs(args.input, "--input")
    event = args.event or ("workflow_dispatch" if inputs else "push")
    argv = [
        args.act, event, "-W", str(workflow), "-C", str(Path(args.directory).resolve()),
        "-P", "ubuntu-latest=-self-hosted", "-P", "self-hosted=-self-hosted",
        "--action-cache-path", str(cache),
        # act's cache server would bind its guess of an outbound address; keep it on loopback.
        "--cache-server-addr", "127.0.0.1", "--cache-server-path", str(cache / "cache-server"),
        "--env-file", write_yaml(work / "env.yml", bed),
        "--secret-file", write_yaml(work / "secrets.yml", secrets),
        "--input-file", write_yaml(work / "inputs.yml", inputs),
        "--var-file", write_yaml(work / "vars.yml", pairs(args.var, "--var")),
    ]
    for key, val in pairs(args.env, "--env").items():
        argv += ["--env", f"{key}={val}"]  # flags win over the env file
    if args.job:
        argv += ["-j", args.job]
    if args.event_json:
        argv += ["-e", str(Path(args.event_json).resolve())]
    for mapping in args.local_repository:
        argv += ["--local-repository", mapping]
    if args.as_action:
        copy = export_repo(Path(args.directory).resolve(), work / "repo")
        for name in args.as_action:
            argv += ["--local-repository", f"{name}={copy}"]
    if args.artifacts:
        argv += ["--artifact-server-path", str(Path(args.artifacts).resolve()),
                 "--artifact-server-addr", "127.0.0.1", "--artifact-server-port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED) and k != "CI"}
    return argv, env


def main():
    p = argparse.ArgumentParser(prog="run-workflow", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workflow")
    p.add_argument("--job", "-j")
    p.add_argument("--event", help="default: workflow_dispatch with --input, else push")
    p.add_argument("--event-json", help="event payload file (act -e)")
    p.add_argument("--input", action="append", default=[], metavar="K=V")
    p.add_argument("--secret", action="append", default=[], metavar="K=V")
    p.add_argument("--env", action="append", default=[], metavar="K=V")
    p.add_argument("--var", action="append", default=[], metavar="K=V",
                   help="a configuration variable (`vars.K` in the workflow)")
    p.add_argument("--local-repository", action="append", default=[],
                   metavar="OWNER/REPO@REF=DIR", help="serve a remote action from a folder")
    p.add_argument("--as-action", action="append", default=[], metavar="OWNER/REPO@REF",
                   help="serve `uses: OWNER/REPO/...@REF` from this work tree (e.g. org/deploy-kit@v1)")
    p.add_argument("--artifacts", help="run act's artifact server storing into DIR")
    p.add_argument("--directory", "-C", default=str(ROOT), help="the repository (default: this one)")
    p.add_argument("--bin", help="deploy-kit binary to seed (default $DEPLOY_KIT_BIN, target/debug)")
    p.add_argument("--cache-dir", help="act's action cache and tool cache (default STATE/act)")
    p.add_argument("--act", default=os.environ.get("ACT") or str(BED / ".venv/bin/act"))
    p.add_argument("--timeout", type=float, default=900, help="seconds before act is stopped")
    args = p.parse_args()

    state = Path(os.environ.get("BED_STATE_DIR") or BED / ".state" / "default").resolve()
    with tempfile.TemporaryDirectory(prefix="run-workflow-") as work:
        argv, env = command(args, state, Path(work))
        child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
        try:
            return child.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"run-workflow: act did not finish within {args.timeout:.0f} s; stopping it",
                  file=sys.stderr)
            child.send_signal(signal.SIGINT)  # act cancels the job and cleans up on SIGINT
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
            return 124
        except KeyboardInterrupt:
            child.wait()
            return 130


if __name__ == "__main__":
    sys.exit(main())
