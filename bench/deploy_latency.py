#!/usr/bin/env python3
"""`deploy-kit ecs-blue-green` against a 15 s fixed poller, side by side on the test bed.

    tests/bed/.venv/bin/python bench/deploy_latency.py path/to/deploy-kit

For each deployment shape (5 s rolling, 60 s blue/green, 180 s blue/green with a 2 minute bake)
each round deploys two twin services at the same moment, from two threads, so both see the same
machine load: one with `deploy-kit ecs-blue-green`, one with a poller that starts the deployment
itself (UpdateService, then ListServiceDeployments to find it) and calls
DescribeServiceDeployments every 15 s until it reads a terminal status. It measures:

- detection latency: from the moment the bed's clock made the deployment terminal
  (`terminalAt`, exact whoever looks) to the moment the process exited (or the poller read it);
- DescribeServiceDeployments calls per minute of deployment (`terminalAt - createdAt`), as the
  bed counted them for that deployment; deploy-kit's DescribeServices calls (for the service's
  events) are reported on their own.

The bed runs ECS 10x faster (BENCH_DEPLOY_SCALE, default 0.1) and deploy-kit's polls shrink with
it (DEPLOY_KIT_TIME_SCALE), as does the poller's 15 s. Every figure is converted back to ECS
time: latencies divided by the scale, calls per minute multiplied by it.

The bed's deployments last exactly 5, 60 and 180 s, multiples of 15: a poller that always starts
its clock at the update would read the end at the same phase every time, which no real
deployment does. So round k of N starts the poller's 15 s grid at offset 15 * (k + 0.5) / N s
(2.5, 7.5 and 12.5 s for 3 rounds): an even sample of the phase, the same in every run.

A last check deploys the 5 s shape once more at time scale 1 (deploy-kit only; skip it with
BENCH_DEPLOY_CHECK=0) to show the scaled latency is not an artefact of the scaling.

Prints a Markdown table on stdout, progress and every sample on stderr. The bed binds loopback,
keeps its state in BENCH_BED_STATE_DIR (a new temporary directory when unset) and is stopped at
the end (and stops by itself if this process dies).
"""

import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("BENCH_DEPLOY_SCALE", "0.1"))
ROUNDS = int(os.environ.get("BENCH_DEPLOY_ROUNDS", "3"))
CHECK = os.environ.get("BENCH_DEPLOY_CHECK", "1") != "0"
BASELINE_POLL = 15.0
CLUSTER = "bench"
TERMINAL = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
ELB = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
# (label, strategy, SCALE_UP seconds, bake minutes). In ECS seconds:
#   rolling:    SCALE_UP 0 + CLEAN_UP 5                                         =   5
#   blue/green: PRE_SCALE_UP 2 + SCALE_UP 37 + 2 + 5 + 2 + 5 + 2 + CLEAN_UP 5     =  60
#               the same with BAKE_TIME 120                                    = 180
SHAPES = [
    ("5 s rolling", "ROLLING", 0, 0),
    ("60 s blue/green", "BLUE_GREEN", 37, 0),
    ("180 s blue/green (2 min bake)", "BLUE_GREEN", 37, 2),
]


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bed_up(state):
    env = {**os.environ, "BED_STATE_DIR": state, "BED_TIME_SCALE": str(SCALE)}
    out = subprocess.run([str(ROOT / "tests/bed/up"), "--parent-pid", str(os.getpid()), "aws"],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: the test bed did not start:\n{out.stderr}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def bed_down(state):
    subprocess.run([str(ROOT / "tests/bed/down")], env={**os.environ, "BED_STATE_DIR": state},
                   check=False)


def control(bed, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(bed["BED_URL"] + path, data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def load_balancers():
    return [{"targetGroupArn": f"{ELB}:targetgroup/blue/1", "containerName": "web",
             "containerPort": 8080, "advancedConfiguration": {
                 "alternateTargetGroupArn": f"{ELB}:targetgroup/green/2",
                 "productionListenerRule": f"{ELB}:listener-rule/app/l/1/r/1",
                 "testListenerRule": f"{ELB}:listener-rule/app/l/1/r/2",
                 "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure"}}]


def containers(image):
    return [{"name": "web", "image": image, "memory": 128, "essential": True}]


def settle(ecs, name):
    """Waits until the service has deployments and none is in flight."""
    deadline = time.time() + 300
    while time.time() < deadline:
        deps = ecs.list_service_deployments(cluster=CLUSTER, service=name)["serviceDeployments"]
        if deps and all(d["status"] in TERMINAL for d in deps):
            return
        time.sleep(0.05)
    raise SystemExit(f"bench: service {name} never settled")


def create_service(ecs, bed, name, strategy, scale_up, bake, scale):
    td = ecs.register_task_definition(family=name, containerDefinitions=containers("app:0"))
    config = {"strategy": strategy, "bakeTimeInMinutes": bake}
    if strategy == "ROLLING":
        # What deploy-kit sets for `rolling`, so the twins stay alike.
        config["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
    ecs.create_service(
        cluster=CLUSTER, serviceName=name, desiredCount=2,
        taskDefinition=td["taskDefinition"]["taskDefinitionArn"],
        loadBalancers=load_balancers(), deploymentConfiguration=config)
    settle(ecs, name)
    # Knobs are resolved when a deployment starts: they apply to the benchmarked ones only.
    control(bed, "/_bed/scenario", {"service": name, "scaleUpSeconds": scale_up,
                                    "timeScale": scale})


def run_deploy_kit(binary, bed, name, strategy, bake, image, scale, work, result):
    tag = f"{name}-{image.replace(':', '-')}"
    task = work / f"{tag}.json"
    task.write_text(json.dumps({"family": name, "containerDefinitions": containers(image)}))
    env = {"PATH": os.environ.get("PATH", ""), **bed, "DEPLOY_KIT_TIME_SCALE": str(scale),
           "GITHUB_OUTPUT": str(work / f"{tag}.outputs"),
           "GITHUB_STEP_SUMMARY": str(work / f"{tag}.summary.md"),
           "INPUT_CLUSTER": CLUSTER, "INPUT_SERVICE": name, "INPUT_TASK_DEFINITION": str(task),
           "INPUT_STRATEGY": "rolling" if strategy == "ROLLING" else "blue-green"}
    if strategy != "ROLLING":
        env["INPUT_BAKE_TIME"] = f"{bake}m"
    proc = subprocess.Popen([binary, "ecs-blue-green"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    code = proc.wait()
    result["ended"] = time.time()
    if code != 0:
        result["error"] = f"exit {code}\n" + stderr.decode(errors="replace")[-3000:]


def fixed(_attempt):
    """The 15 s poller."""
    return BASELINE_POLL


def exponential(attempt):
    """The SDK waiter aws-actions uses: 15 s, doubling to at most 120 s."""
    return min(120.0, BASELINE_POLL * 2 ** attempt)


def run_baseline(ecs, name, image, phase, scale, result, delay=fixed):
    """UpdateService, find the new deployment, then DescribeServiceDeployments at `phase` s
    after the update and `delay(n)` s after the n-th look until the status is terminal."""
    try:
        td = ecs.register_task_definition(family=name, containerDefinitions=containers(image))
        before = {d["serviceDeploymentArn"] for d in
                  ecs.list_service_deployments(cluster=CLUSTER, service=name)["serviceDeployments"]}
        start = time.time()
        ecs.update_service(cluster=CLUSTER, service=name,
                           taskDefinition=td["taskDefinition"]["taskDefinitionArn"])
        arn = None
        while arn is None:
            listed = ecs.list_service_deployments(cluster=CLUSTER, service=name)
            arn = next((d["serviceDeploymentArn"] for d in listed["serviceDeployments"]
                        if d["serviceDeploymentArn"] not in before), None)
            if arn is None:
                time.sleep(0.01)
        due = start + phase * scale
        attempt = 0
        while True:
            time.sleep(max(0.0, due - time.time()))
            found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
            if found["serviceDeployments"][0]["status"] in TERMINAL:
                result["ended"] = time.time()
                return
            due += delay(attempt) * scale
            attempt += 1
    except Exception as error:  # noqa: BLE001 - reported by the main thread
        result["error"] = repr(error)


def measure(bed, service, ended, scale):
    deps = control(bed, f"/_bed/deployments?service={service}")["deployments"]
    dep = max(deps, key=lambda d: d["createdAt"])
    if dep["status"] != "SUCCESSFUL" or dep["terminalAt"] is None:
        raise SystemExit(f"bench: {service} ended {dep['status']}: {dep['statusReason']}")
    minutes = (dep["terminalAt"] - dep["createdAt"]) / 1000 / scale / 60
    calls = dep["describeCalls"]
    return {"latency": (ended * 1000 - dep["terminalAt"]) / 1000 / scale,
            "duration": minutes * 60,
            "per_minute": calls.get("DescribeServiceDeployments", 0) / minutes,
            "events_per_minute": calls.get("DescribeServices", 0) / minutes,
            "calls": calls.get("DescribeServiceDeployments", 0)}


def show(who, sample):
    return (f"{who}: deployment {sample['duration']:.1f} s, end noticed after "
            f"{sample['latency']:.2f} s, {sample['calls']} describes "
            f"({sample['per_minute']:.1f}/min)")


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: deploy_latency.py path/to/deploy-kit")
    binary = str(Path(sys.argv[1]).resolve())
    # A fresh state dir, so a bed already running for tests is never reused (nor stopped).
    own_state = not os.environ.get("BENCH_BED_STATE_DIR")
    state = os.environ.get("BENCH_BED_STATE_DIR") or tempfile.mkdtemp(prefix="bench-bed-")
    # SIGTERM (an interrupted bench/run) still stops the bed through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    try:
        bed = bed_up(state)
        ecs = boto3.client("ecs", endpoint_url=bed["AWS_ENDPOINT_URL"],
                           region_name=bed.get("AWS_REGION", "us-east-1"),
                           aws_access_key_id=bed["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=bed["AWS_SECRET_ACCESS_KEY"])
        ecs.create_cluster(clusterName=CLUSTER)
        rows = []
        for index, (label, strategy, scale_up, bake) in enumerate(SHAPES):
            ours, base, waiter = f"dk{index}", f"poll{index}", f"wait{index}"
            for name in (ours, base, waiter):
                create_service(ecs, bed, name, strategy, scale_up, bake, SCALE)
            samples = {"ours": [], "base": [], "waiter": []}
            for round_no in range(ROUNDS):
                image = f"app:{round_no + 1}"
                phase = BASELINE_POLL * (round_no + 0.5) / ROUNDS
                mine, theirs, waited = {}, {}, {}
                threads = [
                    threading.Thread(target=run_deploy_kit, args=(
                        binary, bed, ours, strategy, bake, image, SCALE, work, mine)),
                    threading.Thread(target=run_baseline, args=(
                        ecs, base, image, phase, SCALE, theirs)),
                    threading.Thread(target=run_baseline, args=(
                        ecs, waiter, image, phase, SCALE, waited, exponential)),
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                for who, result in (("deploy-kit", mine), ("baseline", theirs),
                                    ("waiter", waited)):
                    if "error" in result:
                        raise SystemExit(f"bench: {who} failed on {label}:\n{result['error']}")
                samples["ours"].append(measure(bed, ours, mine["ended"], SCALE))
                samples["base"].append(measure(bed, base, theirs["ended"], SCALE))
                samples["waiter"].append(measure(bed, waiter, waited["ended"], SCALE))
                log(f"{label}, round {round_no + 1}/{ROUNDS}: "
                    f"{show('deploy-kit', samples['ours'][-1])}; "
                    f"{show(f'poller (phase {phase:.1f} s)', samples['base'][-1])}")
                for name in (ours, base, waiter):
                    settle(ecs, name)
            rows.append((label, samples))
        check = None
        if CHECK:
            label, strategy, scale_up, bake = SHAPES[0]
            create_service(ecs, bed, "dk-check", strategy, scale_up, bake, 1.0)
            mine = {}
            run_deploy_kit(binary, bed, "dk-check", strategy, bake, "app:1", 1.0, work, mine)
            if "error" in mine:
                raise SystemExit(f"bench: deploy-kit failed on the unscaled check:\n{mine['error']}")
            check = measure(bed, "dk-check", mine["ended"], 1.0)
            log(f"{label} at time scale 1: {show('deploy-kit', check)}")
        print_table(rows, check)
    finally:
        bed_down(state)
        shutil.rmtree(work, ignore_errors=True)
        if own_state:
            shutil.rmtree(state, ignore_errors=True)


def median(samples, key):
    return statistics.median(s[key] for s in samples)


def print_table(rows, check):
    print(f"Measured {datetime.date.today()} on {os.cpu_count()} cores, {platform.machine()}: "
          f"medians of {ROUNDS} deployments per shape, deploy-kit, a 15 s poller and the "
          f"15-120 s exponential waiter of the aws-actions deploy action side by side in one "
          f"run, time scale {SCALE:g}, values in ECS time.\n")
    print("| deployment | end noticed after: deploy-kit | 15 s poller | 15-120 s waiter "
          "| describe calls/min: deploy-kit | 15 s poller | 15-120 s waiter |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, samples in rows:
        ours, base, waiter = samples["ours"], samples["base"], samples["waiter"]
        print(f"| {label} | {median(ours, 'latency'):.2f} s | {median(base, 'latency'):.2f} s "
              f"| {median(waiter, 'latency'):.2f} s "
              f"| {median(ours, 'per_minute'):.1f} | {median(base, 'per_minute'):.1f} "
              f"| {median(waiter, 'per_minute'):.1f} |")
    events = ", ".join(f"{median(samples['ours'], 'events_per_minute'):.1f}"
                       for _, samples in rows)
    print(f"\nDescribeServices calls per minute (deploy-kit reading the service's events, not in "
          f"the table): {events}.")
    if check is not None:
        print(f"Unscaled check, one 5 s rolling deployment at time scale 1: deploy-kit noticed "
              f"the end after {check['latency']:.2f} s, with {check['per_minute']:.1f} describe "
              f"calls/min.")


if __name__ == "__main__":
    main()
