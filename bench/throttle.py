#!/usr/bin/env python3
"""A monorepo's matrix: N services deployed at once against ECS's documented API throttling.

    tests/bed/.venv/bin/python bench/throttle.py path/to/deploy-kit

Each of N jobs (BENCH_THROTTLE_N, default 20) runs what examples/workflows/deploy.yml runs for a
service, all N at the same moment: render-taskdef from the live family (DescribeTaskDefinition),
run-migrations with the rendered file (RegisterTaskDefinition, RunTask, DescribeTasks) and
ecs-blue-green with the revision the migration ran (pre-flight, UpdateService, following the
BLUE_GREEN deployment to SUCCESSFUL). Three rounds, one after the other, on the same services:

- no buckets: the bed without throttling, for the time the jobs take anyway;
- `budget`: ECS's documented buckets (tests/bed/bed/plugins/throttle.py, preset `ecs`), deploy-kit's
  retry budget as shipped;
- `SDK default`: the same buckets, with `DEPLOY_KIT_RETRY_BUDGET=0s`: a throttled call gets the
  SDK's standard three attempts, which is what the SDK (and the aws-actions) give;
- the same two with every bucket scaled by BENCH_THROTTLE_SCALED (default 0.25): an account
  whose other traffic (other pipelines, Terraform, the console) takes three quarters of each
  bucket, or a matrix four times as large.

The bed runs at time scale 1 (every poll and backoff as on AWS) with short blue/green
deployments (SCALE_UP 3 s, about 26 s each). A job succeeds when its three steps exit 0 and its
service's newest deployment is SUCCESSFUL. "Added by throttling" is the slowest job of a
throttled round minus the slowest job of the unthrottled one.

Prints a Markdown table on stdout, progress and failures on stderr.
"""

import concurrent.futures
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("BENCH_THROTTLE_N", "20"))
CLUSTER = "bench"
TERMINAL = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
ELB = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
SCALED = float(os.environ.get("BENCH_THROTTLE_SCALED", "0.25"))
# (label, bucket scale or None for no throttling, DEPLOY_KIT_RETRY_BUDGET)
ROUNDS = [("none, retry budget", None, None),
          ("ECS's, retry budget", 1.0, None),
          ("ECS's, SDK default (3 attempts)", 1.0, "0s"),
          (f"ECS's x {SCALED:g}, retry budget", SCALED, None),
          (f"ECS's x {SCALED:g}, SDK default (3 attempts)", SCALED, "0s")]


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bed_up(state):
    env = {**os.environ, "BED_STATE_DIR": state, "BED_TIME_SCALE": "1"}
    out = subprocess.run([str(ROOT / "tests/bed/up"), "--parent-pid", str(os.getpid()), "aws"],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: the test bed did not start:\n{out.stderr}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def control(bed, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(bed["BED_URL"] + path, data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def task_definition(name, image):
    # The migration container exits 0 after a second; no awslogs, so no log streaming.
    return {"family": name, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "web", "image": image, "essential": True,
                                      "portMappings": [{"containerPort": 8080}],
                                      "environment": [{"name": "BED_RUN_SECONDS", "value": "1"}]}]}


def create_services(ecs, ec2, bed):
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ecs.create_cluster(clusterName=CLUSTER)
    for i in range(N):
        name = f"svc{i:02}"
        arn = ecs.register_task_definition(**task_definition(name, "app:0"))[
            "taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=CLUSTER, serviceName=name, desiredCount=1, taskDefinition=arn,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
            loadBalancers=[{"targetGroupArn": f"{ELB}:targetgroup/{name}-blue/1",
                            "containerName": "web", "containerPort": 8080,
                            "advancedConfiguration": {
                                "alternateTargetGroupArn": f"{ELB}:targetgroup/{name}-green/2",
                                "productionListenerRule": f"{ELB}:listener-rule/app/l/1/r/1",
                                "testListenerRule": f"{ELB}:listener-rule/app/l/1/r/2",
                                "roleArn": "arn:aws:iam::123456789012:role/ecs-infra"}}],
            deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
        control(bed, "/_bed/scenario", {"service": name, "scaleUpSeconds": 3})
    settle(ecs)


def settle(ecs):
    """Waits until no service has a deployment in flight (a failed job can leave one)."""
    deadline = time.time() + 600
    for i in range(N):
        while time.time() < deadline:
            deps = ecs.list_service_deployments(cluster=CLUSTER, service=f"svc{i:02}")
            if all(d["status"] in TERMINAL for d in deps["serviceDeployments"]):
                break
            time.sleep(0.5)


def outputs(path):
    """The `name<<delimiter` form of $GITHUB_OUTPUT."""
    found, lines = {}, path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        if "<<" in lines[i]:
            name, delimiter = lines[i].split("<<", 1)
            end = lines.index(delimiter, i + 1)
            found[name] = "\n".join(lines[i + 1:end])
            i = end
        i += 1
    return found


def step(binary, bed, work, tag, action, inputs, budget):
    env = {"PATH": os.environ.get("PATH", ""), **bed, "RUNNER_TEMP": str(work),
           "GITHUB_OUTPUT": str(work / f"{tag}.outputs"),
           "GITHUB_STEP_SUMMARY": str(work / f"{tag}.summary.md")}
    env.update({f"INPUT_{k.replace('-', '_').upper()}": v for k, v in inputs.items()})
    if budget is not None:
        env["DEPLOY_KIT_RETRY_BUDGET"] = budget
    started = time.time()
    proc = subprocess.run([binary, action], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    return {"code": proc.returncode, "seconds": time.time() - started,
            "retried": len(re.findall(r" retried \d+ times? over ", proc.stderr)),
            "stderr": proc.stderr, "outputs": outputs(work / f"{tag}.outputs")}


def job(binary, bed, work, index, image, budget):
    name = f"svc{index:02}"
    tag = f"{name}-{image.replace(':', '-')}"
    started, steps = time.time(), []
    render = step(binary, bed, work, f"{tag}-render", "render-taskdef", {
        "task-definition-family": name, "container-name": "web", "image": image}, budget)
    steps.append(("render-taskdef", render))
    if render["code"] == 0:
        migrate = step(binary, bed, work, f"{tag}-migrate", "run-migrations", {
            "cluster": CLUSTER, "service": name,
            "task-definition": render["outputs"].get("task-definition", ""),
            "container-name": "web", "command": '["migrate"]'}, budget)
        steps.append(("run-migrations", migrate))
        if migrate["code"] == 0:
            deploy = step(binary, bed, work, f"{tag}-deploy", "ecs-blue-green", {
                "cluster": CLUSTER, "service": name, "strategy": "blue-green",
                "task-definition": migrate["outputs"].get("task-definition-arn", "")}, budget)
            steps.append(("ecs-blue-green", deploy))
    ok = len(steps) == 3 and all(s["code"] == 0 for _, s in steps)
    failed = next(((n, s) for n, s in steps if s["code"] != 0), None)
    error = None
    if failed:
        errors = [line for line in failed[1]["stderr"].splitlines() if "error" in line]
        error = f"{failed[0]} exit {failed[1]['code']}: {(errors or ['?'])[-1][:300]}"
    return {"ok": ok, "seconds": time.time() - started, "error": error,
            "deploy": steps[2][1]["seconds"] if len(steps) == 3 else None,
            "retried": sum(s["retried"] for _, s in steps)}


def run_round(binary, bed, ecs, work, label, scale, budget, number):
    control(bed, "/_bed/throttle", {"preset": "off"})  # the bench's own calls are not the test
    settle(ecs)
    control(bed, "/_bed/throttle", {"preset": "off"} if scale is None else
            {"preset": "ecs", "scale": scale})
    control(bed, "/_bed/throttle", {"reset": True})
    image = f"app:{number}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=N) as pool:
        jobs = list(pool.map(lambda i: job(binary, bed, work, i, image, budget), range(N)))
    counters = control(bed, "/_bed/throttle")
    for i, result in enumerate(jobs):
        if result["ok"]:
            newest = ecs.list_service_deployments(cluster=CLUSTER, service=f"svc{i:02}")[
                "serviceDeployments"]
            newest = max(newest, key=lambda d: d["createdAt"])
            if newest["status"] != "SUCCESSFUL":
                result.update(ok=False, error=f"deployment {newest['status']}")
        if result["error"]:
            log(f"{label}: svc{i:02} failed: {result['error']}")
    throttled = sum(counters.get("throttled", {}).values())
    log(f"{label}: {sum(j['ok'] for j in jobs)}/{N} succeeded, slowest job "
        f"{max(j['seconds'] for j in jobs):.1f} s, {throttled} requests throttled "
        f"{counters.get('throttled', {})}")
    return {"label": label, "jobs": jobs, "throttled": throttled,
            "by_operation": counters.get("throttled", {})}


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: throttle.py path/to/deploy-kit")
    binary = str(Path(sys.argv[1]).resolve())
    state = tempfile.mkdtemp(prefix="bench-bed-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated (SIGTERM)"))
    work = Path(tempfile.mkdtemp(prefix="bench-throttle-"))
    try:
        bed = bed_up(state)
        kwargs = {"endpoint_url": bed["AWS_ENDPOINT_URL"],
                  "region_name": bed.get("AWS_REGION", "us-east-1"),
                  "aws_access_key_id": bed["AWS_ACCESS_KEY_ID"],
                  "aws_secret_access_key": bed["AWS_SECRET_ACCESS_KEY"]}
        ecs, ec2 = boto3.client("ecs", **kwargs), boto3.client("ec2", **kwargs)
        create_services(ecs, ec2, bed)
        rounds = [run_round(binary, bed, ecs, work, label, scale, budget, number + 1)
                  for number, (label, scale, budget) in enumerate(ROUNDS)]
        print_table(rounds)
    finally:
        subprocess.run([str(ROOT / "tests/bed/down")], env={**os.environ, "BED_STATE_DIR": state},
                       check=False)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def slowest(jobs):
    done = [j["seconds"] for j in jobs if j["ok"]]
    return max(done) if done else None


def print_table(rounds):
    base = slowest(rounds[0]["jobs"])
    print(f"Measured {datetime.date.today()} on {os.cpu_count()} cores, {platform.machine()}, "
          f"debug build: {N} jobs at once, each render-taskdef (live family), run-migrations and "
          f"ecs-blue-green (blue/green, about 26 s), against the test bed at time scale 1 with "
          f"ECS's documented API throttling, then with every bucket at {SCALED:g} of it.\n")
    print("| ECS buckets | retry | jobs succeeded | slowest successful job | added by throttling "
          "| requests throttled | calls retried (log lines) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rounds:
        jobs, worst = r["jobs"], slowest(r["jobs"])
        buckets, retry = r["label"].split(", ") if ", " in r["label"] else ("none", "budget")
        added = "-" if r is rounds[0] or worst is None or base is None else f"{worst - base:+.1f} s"
        shown = "-" if worst is None else f"{worst:.1f} s"
        print(f"| {buckets} | {retry} | {sum(j['ok'] for j in jobs)} of {N} | {shown} | {added} "
              f"| {r['throttled']} | {sum(j['retried'] for j in jobs)} |")
    for r in rounds[1:]:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(r["by_operation"].items()))
        print(f"\n{r['label']}: throttled {ops or 'nothing'}.", end="")
        errors = {}
        for j in r["jobs"]:
            if j["error"]:
                error = re.sub(r"svc\d\d", "svcNN", j["error"])
                errors[error] = errors.get(error, 0) + 1
        for error, count in sorted(errors.items()):
            print(f" {count} failed: {error}.", end="")
    print()


if __name__ == "__main__":
    main()
