#!/usr/bin/env python3
"""The six actions chained through act against the test bed: wall time, time waiting on the bed,
and act's own share, side by side.

    tests/bed/.venv/bin/python bench/chain.py path/to/deploy-kit

Each round runs two jobs through act (host mode, as tests/bed/run-workflow runs them):
bench/chain.yml (oidc-login, build-push-ecr, render-taskdef, run-migrations, ecs-blue-green and
smoke-test, as a user's workflow chains them) and bench/chain-act.yml, the same job with each
action replaced by a composite action of two `true` steps. The AWS endpoint, the OIDC token URL
and the checked URLs go through the timing proxy and docker through the shim (bench/timing.py).

- waiting on the bed: the union of the time inside those requests and docker commands;
- own time: wall time minus waiting: act, dist/install.sh and deploy-kit together;
- act alone: the wall time of chain-act.yml; deploy-kit's share is own time minus that.

The bed and deploy-kit's polls run 10,000 times faster (BENCH_CHAIN_SCALE, default 0.0001). The
image is deleted from the bed's ECR between rounds, so every round builds and pushes it.
Prints a Markdown table on stdout, every sample on stderr. BENCH_CHAIN_ROUNDS (default 5) sets
the rounds; BENCH_CHAIN_LOG=PATH keeps act's log of each job, with act's time for every step.
"""

import argparse
import datetime
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import boto3

import timing
from step_overhead import CLUSTER, setup
from timing import ROOT, log, median, ms

sys.path.insert(0, str(ROOT / "tests/bed"))
from bed.tools import act as bed_act  # noqa: E402 - tests/bed is not a package path by default

SCALE = float(os.environ.get("BENCH_CHAIN_SCALE", "0.0001"))
ROUNDS = int(os.environ.get("BENCH_CHAIN_ROUNDS", "5"))
WARMUP = 1
# act's line for each finished `Install deploy-kit` step (dist/install.sh), with its duration.
INSTALL_STEP = re.compile(r"Success - Main Install deploy-kit \[([0-9.]+)(µs|ms|s)\]")
UNITS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}
SUCCESS = ["through GitHub OIDC", "migration 001 applied", "smoke checks passed",
           "Job succeeded"]


def act_command(workflow, binary, state, work, env):
    """act's argv and environment for `workflow`, as tests/bed/run-workflow builds them."""
    args = argparse.Namespace(
        workflow=str(workflow), job=None, event="workflow_dispatch", event_json=None, input=[],
        secret=[], env=[f"{k}={v}" for k, v in env.items()], var=[], local_repository=[],
        as_action=["org/deploy-kit@v1"], artifacts=None, directory=str(ROOT), bin=binary,
        cache_dir=None, act=str(ROOT / "tests/bed/.venv/bin/act"), timeout=900)
    return bed_act.command(args, Path(state), Path(work))


def run(name, argv, env, proxy, shim_log, dk_log, checks):
    proxy.take()
    timing.shim_intervals(shim_log)
    timing.shim_intervals(dk_log)
    wall, _cpu, code, output, _ = timing.run_timed(argv, env, cwd=ROOT)
    calls, docker = proxy.take(), timing.shim_intervals(shim_log)
    processes = timing.shim_intervals(dk_log)
    if os.environ.get("BENCH_CHAIN_LOG"):  # act's log of each job (PATH.chain, ...): step times
        Path(f"{os.environ['BENCH_CHAIN_LOG']}.{name.replace(' ', '-')}").write_text(output)
    missing = [text for text in checks if text not in output]
    if code != 0 or missing:
        raise SystemExit(f"bench: {name} exited {code}, missing {missing}:\n{output[-6000:]}")
    waits = calls + [(s, e) for s, e, *_ in docker]
    waiting = timing.union(waits)
    # deploy-kit's own: each process's wall time minus the waiting inside it.
    dk_own = sum(end - start - timing.union(waits, within=(start, end))
                 for start, end, *_ in processes)
    # deploy-kit's CPU without docker's and without the docker shim's own.
    dk_cpu = (sum(cpu for _, _, cpu, _ in processes)
              - sum(cpu + own for _, _, cpu, own in docker))
    install = sum(float(value) * UNITS[unit] for value, unit in INSTALL_STEP.findall(output))
    return {"wall": wall, "waiting": waiting, "own": wall - waiting, "calls": len(calls),
            "processes": len(processes), "dk_own": dk_own, "dk_cpu": dk_cpu, "install": install,
            "ours": dk_own + install}


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: chain.py path/to/deploy-kit")
    binary = str(Path(sys.argv[1]).resolve())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    state = Path(tempfile.mkdtemp(prefix="bench-chain-bed-"))
    work = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    try:
        bed = timing.bed_up(state, SCALE, "aws", "oidc")
        docker = timing.docker_up(state)
        setup(bed)
        host, port = bed["AWS_ENDPOINT_URL"].rsplit("/", 1)[-1].split(":")
        proxy = timing.Proxy((host, int(port)))
        shim, shim_log = (timing.build_shim(work, "docker-shim", "BENCH_REAL_DOCKER",
                                            "BENCH_SHIM_LOG"), work / "shim.log")
        # The tool cache holds a shim that runs the binary under test and logs each run.
        dk_shim, dk_log = (timing.build_shim(work, "deploy-kit", "BENCH_REAL_DEPLOY_KIT",
                                             "BENCH_DEPLOY_KIT_LOG"), work / "deploy-kit.log")
        ecr = boto3.client("ecr", endpoint_url=bed["AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        env = {"AWS_ENDPOINT_URL": proxy.url,
               "ACTIONS_ID_TOKEN_REQUEST_URL": proxy.url + "/_bed/oidc/token?api-version=2.0",
               "DOCKER": str(shim), "BENCH_REAL_DOCKER": docker.get("DOCKER", "/usr/bin/docker"),
               "BENCH_SHIM_LOG": str(shim_log), "DEPLOY_KIT_TIME_SCALE": str(SCALE),
               "BENCH_REAL_DEPLOY_KIT": binary, "BENCH_DEPLOY_KIT_LOG": str(dk_log),
               "CLUSTER": CLUSTER, "APP_URL": proxy.url + timing.SMOKE_PATH}
        jobs = []
        for name, workflow, checks in (("act alone", "chain-act.yml", ["Job succeeded"]),
                                       ("chain", "chain.yml", SUCCESS)):
            (work / name).mkdir()
            argv, act_env = act_command(ROOT / "bench" / workflow, dk_shim, state,
                                         work / name, env)
            jobs.append((name, argv, act_env, checks))
        samples = {name: [] for name, *_ in jobs}
        for round_no in range(WARMUP + ROUNDS):
            for name, argv, act_env, checks in jobs:
                sample = run(name, argv, act_env, proxy, shim_log, dk_log, checks)
                if round_no >= WARMUP:
                    samples[name].append(sample)
                log(f"round {round_no + 1 - WARMUP}/{ROUNDS}"
                    f"{' (warm-up)' if round_no < WARMUP else ''} {name}: wall "
                    f"{ms(sample['wall'])}, waiting {ms(sample['waiting'])} "
                    f"({sample['calls']} requests), own {ms(sample['own'])}; "
                    f"{sample['processes']} deploy-kit processes: own {ms(sample['dk_own'])}, "
                    f"CPU {ms(sample['dk_cpu'])}; install steps {ms(sample['install'])}")
            # The next round builds and pushes again rather than finding the tag.
            images = ecr.list_images(repositoryName="web")["imageIds"]
            if images:
                ecr.batch_delete_image(repositoryName="web", imageIds=images)
        print_table(samples)
    finally:
        timing.docker_down(state)
        timing.bed_down(state)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def print_table(samples):
    chain, alone = samples["chain"], samples["act alone"]
    act_wall = median([s["wall"] for s in alone])
    own, ours = median([s["own"] for s in chain]), median([s["ours"] for s in chain])
    print(f"Measured {datetime.date.today()} on {timing.machine()}: medians of {ROUNDS} runs "
          f"of each job through act, alternating, in one run; bed time scale {SCALE:g}.\n")
    print("| job | requests | wall | waiting on the bed | own time (wall − waiting) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| the six actions chained (bench/chain.yml) | {median([s['calls'] for s in chain]):g} "
          f"| {ms(median([s['wall'] for s in chain]))} "
          f"| {ms(median([s['waiting'] for s in chain]))} | {ms(own)} |")
    print(f"| act alone: the same job, each action doing nothing (bench/chain-act.yml) | 0 "
          f"| {ms(act_wall)} | 0 | {ms(act_wall)} |")
    print(f"\nOurs in the chain: {ms(ours)} (target: under 1 s), the "
          f"{median([s['processes'] for s in chain]):g} deploy-kit processes' own time "
          f"({ms(median([s['dk_own'] for s in chain]))}, CPU "
          f"{ms(median([s['dk_cpu'] for s in chain]))}) and the six `Install deploy-kit` steps "
          f"as act times them ({ms(median([s['install'] for s in chain]))}, bash start-up "
          f"included). The rest of the own time is act's.")


if __name__ == "__main__":
    main()
