"""A docker CLI stand-in with buildx, for tests: buildx cannot be installed on the test machines,
and the bed's engine builds with its bundled BuildKit only. Every command but `buildx` goes to the
real client (STANDIN_DOCKER, the bed's); `buildx` is emulated from its documentation, driver by
driver, so build-push-ecr's choice of builder runs against what a runner's buildx would do. The
build itself runs on the bed's engine (`docker build`, `docker push`), whatever the driver.

Each behaviour cites its source:
- [config] builders and the current one live in $BUILDX_CONFIG, else $DOCKER_CONFIG/buildx
  (docker/buildx util/confutil/config.go; https://docs.docker.com/build/building/variables/).
- [inspect] `buildx inspect [NAME]` prints the builder's `Name:` and `Driver:`, then `Nodes:`
  (docker/buildx docs/reference/buildx_inspect.md).
- [default] with no builder created, the current one is the docker context's, `default`, on the
  `docker` driver (https://docs.docker.com/build/builders/).
- [builder] `--builder NAME` or BUILDX_BUILDER picks a builder for one command
  (docker/buildx docs/reference/buildx.md).
- [cache] the docker driver exports no registry cache: "Cache export is not supported for the
  docker driver" (https://docs.docker.com/build/cache/backends/registry; the message is
  docker/buildx build/utils.go notSupported, checked in build/opt.go for every non-inline cache).
- [platforms] the docker driver builds one platform: "Multi-platform build is not supported for
  the docker driver" (https://docs.docker.com/build/drivers/, the driver table; build/opt.go,
  tests/build.go testBuildMultiPlatform). docker-container builds several.
- [load] `--load` of several platforms fails on docker-container too: "docker exporter does not
  currently support exporting manifest lists" (docker/buildx build/opt.go; loading them needs the
  containerd image store, https://docs.docker.com/build/drivers/).
- [allow] `--network host` makes buildx ask for the network.host entitlement (build/opt.go), which
  a docker-container builder grants only when its daemon was started with
  `--allow-insecure-entitlement network.host` (docker/buildx docs/reference/buildx_build.md
  `--allow`, buildx_create.md `--buildkitd-flags`).
- [metadata] `--metadata-file` receives `containerimage.digest` (docker/buildx
  docs/reference/buildx_build.md, `--metadata-file`).

Knobs (environment): STANDIN_DOCKER the real client; STANDIN_LOG a file that gets one JSON line
per call (argv, BUILDX_CONFIG, DOCKER_CONFIG, and `at`, when it started, in seconds since the
epoch); STANDIN_NO_BUILDX=1 behaves as a docker without
the plug-in; STANDIN_CREATE_FAILS=<message> makes `buildx create` fail (its BuildKit image cannot
be pulled, say); STANDIN_CREATE_SECONDS=<n> makes `buildx create` take that long (BuildKit's
image pulled and booted, as `--bootstrap` does on a runner) and log a `#ended` line after it
(`login` logs one too, unless STANDIN_LOGIN_FAILS); STANDIN_BUILD_SECONDS=<n> makes
`buildx build` take that much longer; STANDIN_LOGIN_FAILS=<message> makes `docker login` fail
with it, STANDIN_LOGIN_SECONDS=<n> makes it take that much longer. What is not emulated: the cache export itself (nothing is written to the cache
ref), QEMU, a manifest list for several platforms (the host's platform is built), BuildKit
containers (a docker-container builder is a file in the buildx directory).
"""

import ctypes
import json
import os
import signal
import subprocess
import sys
import time


def log(argv):
    path = os.environ.get("STANDIN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({
                "argv": argv,
                "buildx_config": os.environ.get("BUILDX_CONFIG"),
                "docker_config": os.environ.get("DOCKER_CONFIG"),
                "at": time.time(),
            }) + "\n")


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def buildx_dir():
    # [config]
    if os.environ.get("BUILDX_CONFIG"):
        return os.environ["BUILDX_CONFIG"]
    config = os.environ.get("DOCKER_CONFIG") or os.path.join(os.environ.get("HOME", "/"), ".docker")
    return os.path.join(config, "buildx")


def instance(name):
    if name == "default":
        return {"Name": "default", "Driver": "docker", "Flags": []}  # [default]
    try:
        with open(os.path.join(buildx_dir(), "instances", name)) as f:
            return json.load(f)
    except FileNotFoundError:
        fail(f'ERROR: no builder "{name}" found')


def current_name():
    try:
        with open(os.path.join(buildx_dir(), "current")) as f:
            return json.load(f)["Name"]
    except FileNotFoundError:
        return "default"  # [default]


def selected(args):
    """The builder named by --builder, else BUILDX_BUILDER, else the current one. [builder]"""
    name = option(args, "--builder") or os.environ.get("BUILDX_BUILDER") or current_name()
    return instance(name)


def option(args, flag):
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1:]
    return None


def options(args, flag):
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def inspect(args):
    positional = [a for a in args if not a.startswith("-")]
    b = instance(positional[0]) if positional else selected(args)
    # [inspect]
    print(f"Name:          {b['Name']}")
    print(f"Driver:        {b['Driver']}")
    print()
    print("Nodes:")
    print(f"Name:          {b['Name']}0")
    print("Endpoint:      default")
    print("Status:        running")


def create(args):
    if os.environ.get("STANDIN_CREATE_FAILS"):
        fail("ERROR: " + os.environ["STANDIN_CREATE_FAILS"])
    name = option(args, "--name") or "standin_builder"
    driver = option(args, "--driver") or "docker-container"
    flags = option(args, "--buildkitd-flags") or ""
    if os.environ.get("STANDIN_CREATE_SECONDS"):
        time.sleep(float(os.environ["STANDIN_CREATE_SECONDS"]))
        log(["#ended", "buildx", "create"] + args)  # when it ended, for overlap checks
    os.makedirs(os.path.join(buildx_dir(), "instances"), exist_ok=True)
    with open(os.path.join(buildx_dir(), "instances", name), "w") as f:
        json.dump({"Name": name, "Driver": driver, "Flags": flags.split()}, f)
    if "--use" in args:
        use([name])
    print(name)


def use(args):
    name = [a for a in args if not a.startswith("-")][0]
    instance(name)
    with open(os.path.join(buildx_dir(), "current"), "w") as f:
        json.dump({"Key": "default", "Name": name, "Global": False}, f)


def rm(args):
    name = [a for a in args if not a.startswith("-")][0]
    path = os.path.join(buildx_dir(), "instances", name)
    if not os.path.exists(path):
        fail(f'ERROR: no builder "{name}" found')
    os.remove(path)
    if current_name() == name:
        os.remove(os.path.join(buildx_dir(), "current"))
    print(f"{name} removed")


def build(args):
    b = selected(args)
    platforms = [p for p in (option(args, "--platform") or "").split(",") if p]
    docker_driver = b["Driver"] == "docker"
    if docker_driver and option(args, "--cache-to"):
        fail("ERROR: failed to build: Cache export is not supported for the docker driver.\n"
             "Switch to a different driver, or turn on the containerd image store, and try again.\n"
             "Learn more at https://docs.docker.com/go/build-cache-backends/")  # [cache]
    if docker_driver and len(platforms) > 1:
        fail("ERROR: failed to build: Multi-platform build is not supported for the docker driver.\n"
             "Switch to a different driver, or turn on the containerd image store, and try again.\n"
             "Learn more at https://docs.docker.com/go/build-multi-platform/")  # [platforms]
    if "--load" in args and len(platforms) > 1:
        fail("ERROR: docker exporter does not currently support exporting manifest lists")  # [load]
    if option(args, "--network") == "host":
        # [allow]
        if not docker_driver and "network.host" not in " ".join(b.get("Flags", [])):
            fail("ERROR: failed to build: granting entitlement network.host is not allowed by "
                 "build daemon configuration")
    if os.environ.get("STANDIN_BUILD_SECONDS"):
        time.sleep(float(os.environ["STANDIN_BUILD_SECONDS"]))
    real = os.environ["STANDIN_DOCKER"]
    passed = ["build"]
    skip_next = {"--builder", "--metadata-file", "--platform", "--cache-from", "--cache-to",
                 "--allow"}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in skip_next:
            i += 2
            continue
        if arg in ("--push", "--load") or arg.startswith("--provenance="):
            i += 1
            continue
        passed.append(arg)
        i += 1
    run = subprocess.run([real] + passed)
    if run.returncode != 0:
        sys.exit(run.returncode)
    digest = None
    if "--push" in args:
        for tag in options(args, "--tag"):
            out = subprocess.run([real, "push", tag], capture_output=True, text=True)
            sys.stderr.write(out.stdout + out.stderr)
            if out.returncode != 0:
                sys.exit(out.returncode)
            for word in out.stdout.split():
                if word.startswith("sha256:") and digest is None:
                    digest = word
    metadata = option(args, "--metadata-file")
    if metadata:
        with open(metadata, "w") as f:
            json.dump({"containerimage.digest": digest} if digest else {}, f)  # [metadata]


def main():
    argv = sys.argv[1:]
    log(argv)
    if argv[:1] == ["login"] and os.environ.get("STANDIN_LOGIN_FAILS"):
        sys.stdin.read()  # the password, as docker reads it before it answers
        fail("Error response from daemon: " + os.environ["STANDIN_LOGIN_FAILS"])
    if argv[:1] == ["login"] and os.environ.get("STANDIN_LOGIN_SECONDS"):
        time.sleep(float(os.environ["STANDIN_LOGIN_SECONDS"]))
    if argv[:1] == ["login"]:  # run, not exec'd: when it ended is logged, for overlap checks
        # Killed with the stand-in, as the exec'd client would be: no orphan writes the config.
        die_with_parent = lambda: ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        code = subprocess.run([os.environ["STANDIN_DOCKER"]] + argv,
                              preexec_fn=die_with_parent).returncode
        log(["#ended"] + argv)
        sys.exit(code if code >= 0 else 128 - code)
    if not argv or argv[0] != "buildx":
        os.execv(os.environ["STANDIN_DOCKER"], [os.environ["STANDIN_DOCKER"]] + argv)
    if os.environ.get("STANDIN_NO_BUILDX") == "1":
        fail("docker: 'buildx' is not a docker command.\nSee 'docker --help'")
    command, rest = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    handlers = {"inspect": inspect, "create": create, "use": use, "rm": rm, "build": build,
                "version": lambda _: print("github.com/docker/buildx v0.30.0-standin")}
    if command not in handlers:
        fail(f"ERROR: unknown buildx command {command!r} in the stand-in")
    handlers[command](rest)


if __name__ == "__main__":
    main()
