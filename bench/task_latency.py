#!/usr/bin/env python3
"""`deploy-kit run-migrations` against the `tasks-stopped` waiter, side by side on the test bed.

    tests/bed/.venv/bin/python bench/task_latency.py path/to/deploy-kit

Each round starts two identical one-off tasks at the same moment: one with `deploy-kit
run-migrations`, one with RunTask and boto3's `tasks_stopped` waiter, which polls DescribeTasks
every 6 s (what `aws ecs wait tasks-stopped` and hand-written migration scripts do). It measures
the time from the task's `stoppedAt` (the bed's, exact) to the moment each one ended. The bed
runs 10x faster (BENCH_TASK_SCALE, default 0.1), and so do both pollers; figures are converted
back to ECS time. Prints a Markdown table on stdout, progress on stderr.
"""

import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("BENCH_TASK_SCALE", "0.1"))
ROUNDS = int(os.environ.get("BENCH_TASK_ROUNDS", "5"))
WAITER_DELAY = 6.0
CLUSTER = "bench"
RUN_SECONDS = [10, 20, 30, 40, 50]  # spread the end over the waiter's 6 s grid


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bed_up(state):
    env = {**os.environ, "BED_STATE_DIR": state, "BED_TIME_SCALE": str(SCALE)}
    out = subprocess.run([str(ROOT / "tests/bed/up"), "--parent-pid", str(os.getpid()), "aws"],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: the test bed did not start:\n{out.stderr}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def task_definition(ecs, family, seconds):
    container = {"name": "app", "image": "app:1", "essential": True,
                 "environment": [{"name": "BED_RUN_SECONDS", "value": str(seconds)}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {
                     "awslogs-group": "/ecs/bench", "awslogs-region": "us-east-1",
                     "awslogs-stream-prefix": "bench"}}}
    out = ecs.register_task_definition(family=family, requiresCompatibilities=["FARGATE"],
                                       networkMode="awsvpc", cpu="256", memory="512",
                                       containerDefinitions=[container])
    return out["taskDefinition"]["taskDefinitionArn"]


def run_deploy_kit(binary, bed, service, td, result):
    env = {"PATH": os.environ.get("PATH", ""), **bed, "DEPLOY_KIT_TIME_SCALE": str(SCALE),
           "INPUT_CLUSTER": CLUSTER, "INPUT_SERVICE": service, "INPUT_TASK_DEFINITION": td}
    proc = subprocess.Popen([binary, "run-migrations"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # STOPPED is noticed when its progress line is printed; the step then reads the logs until
    # they are quiet (run-migrations/README.md) before it exits.
    stderr = []
    for line in proc.stderr:
        if "noticed" not in result and ": STOPPED (" in line:
            result["noticed"] = time.time()
        stderr.append(line)
    stdout = proc.stdout.read()
    proc.wait()
    result["ended"] = time.time()
    result["task"] = next((line.split("=", 1)[1] for line in stdout.splitlines()
                           if line.startswith("task-arn=")), None)
    if proc.returncode != 0 or "noticed" not in result:
        result["error"] = "".join(stderr)[-3000:]


def run_waiter(ecs, td, subnet, result):
    try:
        out = ecs.run_task(cluster=CLUSTER, taskDefinition=td, launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})
        arn = out["tasks"][0]["taskArn"]
        ecs.get_waiter("tasks_stopped").wait(
            cluster=CLUSTER, tasks=[arn],
            WaiterConfig={"Delay": WAITER_DELAY * SCALE, "MaxAttempts": 1000})
        result["noticed"] = result["ended"] = time.time()
        result["task"] = arn
    except Exception as error:  # noqa: BLE001 - reported by the main thread
        result["error"] = repr(error)


def latency(ecs, result, moment="noticed"):
    task = ecs.describe_tasks(cluster=CLUSTER, tasks=[result["task"]])["tasks"][0]
    stopped = task["stoppedAt"].timestamp()
    return (result[moment] - stopped) / SCALE


def main():
    binary = str(Path(sys.argv[1]).resolve())
    state = tempfile.mkdtemp(prefix="bench-task-bed-")
    try:
        bed = bed_up(state)
        kw = {"endpoint_url": bed["AWS_ENDPOINT_URL"], "region_name": "us-east-1",
              "aws_access_key_id": bed["AWS_ACCESS_KEY_ID"],
              "aws_secret_access_key": bed["AWS_SECRET_ACCESS_KEY"]}
        ecs = boto3.client("ecs", **kw)
        boto3.client("logs", **kw).create_log_group(logGroupName="/ecs/bench")
        subnet = boto3.client("ec2", **kw).describe_subnets()["Subnets"][0]["SubnetId"]
        ecs.create_cluster(clusterName=CLUSTER)
        samples = {"ours": [], "ours_exit": [], "waiter": []}
        for round_no in range(ROUNDS):
            seconds = RUN_SECONDS[round_no % len(RUN_SECONDS)]
            td = task_definition(ecs, f"migrate{round_no}", seconds)
            service = f"svc{round_no}"
            ecs.create_service(cluster=CLUSTER, serviceName=service, taskDefinition=td,
                               desiredCount=0, launchType="FARGATE",
                               networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})
            mine, theirs = {}, {}
            threads = [threading.Thread(target=run_deploy_kit, args=(binary, bed, service, td, mine)),
                       threading.Thread(target=run_waiter, args=(ecs, td, subnet, theirs))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for who, result in (("deploy-kit", mine), ("waiter", theirs)):
                if "error" in result:
                    raise SystemExit(f"bench: {who} failed:\n{result['error']}")
            samples["ours"].append(latency(ecs, mine))
            samples["ours_exit"].append(latency(ecs, mine, "ended"))
            samples["waiter"].append(latency(ecs, theirs))
            log(f"round {round_no + 1}/{ROUNDS} ({seconds} s task): deploy-kit "
                f"{samples['ours'][-1]:.2f} s, waiter {samples['waiter'][-1]:.2f} s")
        print(f"Measured {datetime.date.today()} on {os.cpu_count()} cores, {platform.machine()}: "
              f"medians of {ROUNDS} one-off tasks (running 10 to 50 s), run side by side, time "
              f"scale {SCALE:g}, values in ECS time.\n")
        print("| task | STOPPED noticed after: run-migrations | `tasks-stopped` waiter (6 s) "
              "| run-migrations exits after (logs read until quiet) |")
        print("| --- | --- | --- | --- |")
        print(f"| one-off task | {statistics.median(samples['ours']):.2f} s "
              f"| {statistics.median(samples['waiter']):.2f} s "
              f"| {statistics.median(samples['ours_exit']):.2f} s |")
    finally:
        subprocess.run([str(ROOT / "tests/bed/down")], env={**os.environ, "BED_STATE_DIR": state},
                       check=False)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
