#!/usr/bin/env python3
"""Per-step overhead: each action's main path against the test bed, AWS time taken out, side by
side with `node -e 0`.

    tests/bed/.venv/bin/python bench/step_overhead.py path/to/deploy-kit [path/to/another...]

Each round runs `node -e 0` and then one action, for each of the six actions in turn, so machine
noise hits the baseline and the actions alike. Given several builds, each action runs once per
build in turn within a round, each beside its own `node -e 0`, and a table is printed per build:
the way to compare two builds, since this machine's speed drifts between runs. Each action runs as its action.yml runs it:
`deploy-kit <action>` with every input's default as INPUT_*, the inputs a workflow would set,
GITHUB_ACTIONS=true and the runner's files. The AWS endpoint, the OIDC token URL and every URL
the checks hit point at a timing proxy (bench/timing.py) in front of the bed; build-push-ecr's
docker is a shim that times each docker command. Per run:

- waiting: the union of the time inside those requests and docker commands, and of the time
  ECS was busy with what the action started, as the bed's clock says (a service deployment from
  its creation to its end, less the time our PAUSE hook awaited the action; a task from RunTask to
  STOPPED): a real ECS takes that long whoever follows it;
- own time: wall time minus waiting (start-up, configuration, requests built and parsed,
  outputs written, and the time between ECS reaching a state and the action noticing it, counted
  against us);
- CPU: user + system time of the process (the CPU time of docker and of the shim that times it
  taken out: the shim's exec and fork cost about 0.7 ms a command, ours only in the bench).

The bed runs ECS 10,000 times faster (BENCH_STEP_SCALE, default 0.0001), and so do deploy-kit's
polls, so a deployment or a one-off task ends within a few polls and the lag of a poll behind the
state it finds is at most about a millisecond. Prints a Markdown table on
stdout, every sample on stderr. BENCH_STEP_ROUNDS (default 15) and BENCH_STEP_WARMUP (default 2)
set the rounds; BENCH_STEP_WRAP prefixes each action's command, e.g. "valgrind --tool=callgrind
--callgrind-out-file=/tmp/cg.%p" (with an unstripped build) to profile its main path.
"""

import datetime
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import boto3
import yaml

import timing
from timing import ROOT, log, median, ms

SCALE = float(os.environ.get("BENCH_STEP_SCALE", "0.0001"))
ROUNDS = int(os.environ.get("BENCH_STEP_ROUNDS", "15"))
WARMUP = int(os.environ.get("BENCH_STEP_WARMUP", "2"))
CLUSTER = "bench"
ACCOUNT = "123456789012"
ELB = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}"
TEMPLATE = ROOT / "crates/render-taskdef/tests/fixtures/two-containers.json"
ACTIONS = ["oidc-login", "build-push-ecr", "render-taskdef", "run-migrations",
           "ecs-blue-green", "smoke-test"]


def defaults(action):
    """INPUT_* for every input of the action's action.yml, at its default."""
    inputs = yaml.safe_load((ROOT / action / "action.yml").read_text()).get("inputs", {})
    return {"INPUT_" + name.upper().replace("-", "_"): str(spec.get("default", ""))
            for name, spec in inputs.items()}


def setup(bed):
    """The bed's resources: cluster, blue/green service `api`, log group, ECR repository."""
    kw = {"endpoint_url": bed["AWS_ENDPOINT_URL"], "region_name": "us-east-1",
          "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ecs, ec2 = boto3.client("ecs", **kw), boto3.client("ec2", **kw)
    boto3.client("logs", **kw).create_log_group(logGroupName="/ecs/api")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ecs.create_cluster(clusterName=CLUSTER)
    first = ecs.register_task_definition(**json.loads(TEMPLATE.read_text()))
    lb = {"targetGroupArn": f"{ELB}:targetgroup/blue/1", "containerName": "web",
          "containerPort": 8080, "advancedConfiguration": {
              "alternateTargetGroupArn": f"{ELB}:targetgroup/green/2",
              "productionListenerRule": f"{ELB}:listener-rule/app/api/1/r/1",
              "testListenerRule": f"{ELB}:listener-rule/app/api/1/r/2",
              "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure"}}
    ecs.create_service(
        cluster=CLUSTER, serviceName="api", desiredCount=2, launchType="FARGATE",
        taskDefinition=first["taskDefinition"]["taskDefinitionArn"], loadBalancers=[lb],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
                                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    return subnet


class Steps:
    """The environment and inputs of each action, run by run."""

    def __init__(self, binary, bed, docker, proxy, shim, work):
        self.binary, self.bed, self.proxy, self.work = binary, bed, proxy, Path(work)
        self.base = {
            "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
            "GITHUB_ACTIONS": "true", "CI": "true", "DEPLOY_KIT_TIME_SCALE": str(SCALE),
            "AWS_ENDPOINT_URL": proxy.url, "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": bed["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": bed["AWS_SECRET_ACCESS_KEY"]}
        self.docker = {**docker, "DOCKER": str(shim),
                       "BENCH_REAL_DOCKER": docker.get("DOCKER", "/usr/bin/docker"),
                       "BENCH_SHIM_LOG": str(self.work / "shim.log")}
        self.rendered = None

    def env(self, action, run, inputs, extra=None):
        temp = self.work / f"{action}-{run}"
        temp.mkdir()
        files = {name: temp / name.lower() for name in
                 ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
        for path in files.values():
            path.touch()
        env = {**self.base, **{k: str(v) for k, v in files.items()}, "RUNNER_TEMP": str(temp),
               **defaults(action), **inputs, **(extra or {})}
        return env, files

    def command(self, action, run):
        """(argv, env, files) for run `run` of `action`: its main path."""
        smoke = self.proxy.url + timing.SMOKE_PATH
        if action == "oidc-login":
            env, files = self.env(action, run, {
                "INPUT_ROLE_TO_ASSUME": f"arn:aws:iam::{ACCOUNT}:role/github-deploy",
                "INPUT_AWS_REGION": "us-east-1", "INPUT_ALLOWED_ACCOUNT_IDS": ACCOUNT}, {
                "ACTIONS_ID_TOKEN_REQUEST_URL":
                    self.proxy.url + "/_bed/oidc/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.bed["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]})
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                env.pop(key)  # before oidc-login, a job has no credentials
        elif action == "build-push-ecr":
            # A new commit each run: a new tag, so the image is built and pushed, not skipped.
            env, files = self.env(action, run, {
                "INPUT_REPOSITORY": "web", "INPUT_CREATE_REPOSITORY": "true",
                "INPUT_CONTEXT": "tests/bed/app",
                "INPUT_DOCKERFILE": "tests/workflows/fixtures/Dockerfile"},
                {**self.docker, "GITHUB_SHA": f"{run:040x}"})
        elif action == "render-taskdef":
            env, files = self.env(action, run, {
                "INPUT_TASK_DEFINITION": str(TEMPLATE), "INPUT_CONTAINER_NAME": "web",
                "INPUT_IMAGE": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web@sha256:{'a' * 64}",
                "INPUT_ENVIRONMENT_VARIABLES": f"RELEASE=r{run}"})
        elif action == "run-migrations":
            env, files = self.env(action, run, {
                "INPUT_CLUSTER": CLUSTER, "INPUT_SERVICE": "api",
                "INPUT_TASK_DEFINITION": self.rendered, "INPUT_ENVIRONMENT":
                    "BED_LOG_LINES=migration 001 applied\nBED_RUN_SECONDS=1\nBED_EXIT_CODE=0"})
        elif action == "ecs-blue-green":
            env, files = self.env(action, run, {
                "INPUT_CLUSTER": CLUSTER, "INPUT_SERVICE": "api",
                "INPUT_TASK_DEFINITION": self.rendered, "INPUT_STRATEGY": "blue-green",
                "INPUT_TEST_URL": smoke, "INPUT_TEST_REQUESTS": "3"})
        else:
            env, files = self.env(action, run, {"INPUT_URL": smoke})
        return [self.binary, action], env, files

    def after(self, action, files):
        """render-taskdef's output feeds the two ECS steps, as in a workflow."""
        if action == "render-taskdef":
            lines = files["GITHUB_OUTPUT"].read_text().splitlines()
            for index, line in enumerate(lines):
                if line.startswith("task-definition="):
                    self.rendered = line.split("=", 1)[1]
                elif line.startswith("task-definition<<"):  # name<<delimiter, value, delimiter
                    self.rendered = lines[index + 1]


def ecs_busy(bed_url, start, end):
    """[(start, end)] in time.monotonic() within the run's [start, end] when the bed's ECS worked
    on a deployment or a task created in it (the bed says when, in time.time()). Work still under
    way when the action exited is not counted: the action's last moments stay its own."""
    offset = time.time() - time.monotonic()
    spans = [span for dep in timing.control(bed_url, "/_bed/deployments")["deployments"]
             for span in dep["busy"]]
    spans += [task["busy"] for task in timing.control(bed_url, "/_bed/tasks")["tasks"]]
    busy = []
    for low, high in spans:
        if high is None:
            continue
        low, high = low - offset, high - offset
        if start <= low <= end:
            busy.append((low, min(high, end)))
    return busy


def measure(steps, action, run):
    argv, env, files = steps.command(action, run)
    # e.g. BENCH_STEP_WRAP="valgrind --tool=callgrind": to profile each action's main path.
    argv = shlex.split(os.environ.get("BENCH_STEP_WRAP", "")) + argv
    steps.proxy.take()
    timing.shim_intervals(env.get("BENCH_SHIM_LOG", "/nonexistent"))
    wall, cpu, code, output, start = timing.run_timed(argv, env, cwd=ROOT)
    calls = steps.proxy.take()
    docker = timing.shim_intervals(env["BENCH_SHIM_LOG"]) if "BENCH_SHIM_LOG" in env else []
    if code != 0:
        raise SystemExit(f"bench: {action} exited {code}:\n{output[-4000:]}")
    steps.after(action, files)
    ecs = ecs_busy(steps.bed["AWS_ENDPOINT_URL"], start, start + wall)
    waiting = timing.union(calls + [(s, e) for s, e, *_ in docker] + ecs, (start, start + wall))
    return {"wall": wall, "waiting": waiting, "own": wall - waiting,
            "cpu": cpu - sum(c + own for _, _, c, own in docker), "calls": len(calls),
            "docker": len(docker), "what": [what for *_, what in calls]}


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: step_overhead.py path/to/deploy-kit [path/to/another ...]")
    binaries = [str(Path(arg).resolve()) for arg in sys.argv[1:]]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    state = Path(tempfile.mkdtemp(prefix="bench-step-bed-"))
    work = Path(tempfile.mkdtemp(prefix="bench-step-"))
    try:
        bed = timing.bed_up(state, SCALE, "aws", "oidc")
        docker = timing.docker_up(state)
        setup(bed)
        host, port = bed["AWS_ENDPOINT_URL"].rsplit("/", 1)[-1].split(":")
        proxy = timing.Proxy((host, int(port)))
        shim = timing.build_shim(work, "docker-shim", "BENCH_REAL_DOCKER", "BENCH_SHIM_LOG")
        # One Steps per binary (each follows its own rendered task definition); a run counter
        # shared by all, so each build-push-ecr run has a new commit.
        steps = [Steps(binary, bed, docker, proxy, shim, work) for binary in binaries]
        node = ["node", "-e", "0"]
        samples = [{name: [] for name in ["node -e 0", *ACTIONS]} for _ in binaries]
        run = 0
        for round_no in range(WARMUP + ROUNDS):
            for action in ACTIONS:
                # Builds alternate within a round, each beside its own run of node, so a
                # comparison of builds sees the same machine; which goes first alternates too.
                order = list(enumerate(steps))
                for index, build in order if round_no % 2 == 0 else order[::-1]:
                    wall, cpu, code, out, _ = timing.run_timed(node, {"PATH": os.environ["PATH"]})
                    if code != 0:
                        raise SystemExit(f"bench: node -e 0 failed: {out}")
                    sample = measure(build, action, run)
                    run += 1
                    if round_no >= WARMUP:
                        samples[index]["node -e 0"].append({"wall": wall, "cpu": cpu})
                        samples[index][action].append(sample)
                    warm = " (warm-up)" if round_no < WARMUP else ""
                    which = f" [{index + 1}]" if len(steps) > 1 else ""
                    log(f"round {round_no + 1 - WARMUP}/{ROUNDS}{warm} {action}{which}: wall "
                        f"{ms(sample['wall'])}, waiting {ms(sample['waiting'])} "
                        f"({sample['calls']} requests, {sample['docker']} docker), own "
                        f"{ms(sample['own'])}, cpu {ms(sample['cpu'])}; node -e 0 {ms(wall)}")
                    if round_no == 0:
                        log(f"  requests: {', '.join(sample['what'])}")
        for binary, build_samples in zip(binaries, samples):
            if len(binaries) > 1:
                print(f"\n`{binary}`:\n")
            print_table(build_samples)
    finally:
        timing.docker_down(state)
        timing.bed_down(state)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def print_table(samples):
    node = samples["node -e 0"]
    node_wall, node_cpu = median([s["wall"] for s in node]), median([s["cpu"] for s in node])
    print(f"Measured {datetime.date.today()} on {timing.machine()}: medians of {ROUNDS} runs "
          f"of each action, each beside a run of `node -e 0`, in one run; bed time scale "
          f"{SCALE:g}. Target: own time at least 10x lower than `node -e 0`.\n")
    print("| step | requests | wall | waiting on the bed | own time | vs `node -e 0` "
          "| CPU time | vs `node -e 0` |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| `node -e 0` | 0 | {ms(node_wall)} | 0 | {ms(node_wall)} | baseline "
          f"| {ms(node_cpu)} | baseline |")
    for action in ACTIONS:
        rows = samples[action]
        own, cpu = median([s["own"] for s in rows]), median([s["cpu"] for s in rows])
        docker = median([s["docker"] for s in rows])
        print(f"| {action} | {median([s['calls'] for s in rows]):g}"
              f"{f' + {docker:g} docker' if docker else ''} "
              f"| {ms(median([s['wall'] for s in rows]))} "
              f"| {ms(median([s['waiting'] for s in rows]))} | {ms(own)} "
              f"| {node_wall / own:.1f}x lower | {ms(cpu)} | {node_cpu / cpu:.1f}x lower |")


if __name__ == "__main__":
    main()
