#!/usr/bin/env python3
"""`deploy-kit deploy-static` against `aws s3 sync --delete` + `aws cloudfront
create-invalidation --paths '/*'`, side by side on one test bed.

    tests/bed/.venv/bin/python bench/static_sync.py path/to/deploy-kit path/to/aws

A generated build of 2,000 files (1,950 fingerprinted assets of 1 to 16 KiB under assets/, 50
HTML pages) is deployed by each tool to its own bucket, in alternating order, BENCH_STATIC_ROUNDS
times (default 3):
  first   the first upload, to an empty bucket;
  same    a fresh rebuild (every mtime new, as in CI) with no change;
  changed a fresh rebuild with 20 files changed: 15 assets with new content (so new names) and
          5 pages that reference them.
Both use 10 requests in flight (the CLI's default `max_concurrent_requests`; deploy-static's
`concurrency: 10`) and neither waits for the invalidation (`wait: false`; the CLI script has no
wait). Wall time is each command's; requests and bytes come from the bed's call log and its
record of S3 writes. The bed runs at time scale 0.001. Prints a Markdown table on stdout.
"""

import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_STATIC_ROUNDS", "3"))
ASSETS, PAGES, CHANGED_ASSETS, CHANGED_PAGES = 1950, 50, 15, 5


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bed_up(state):
    env = {**os.environ, "BED_STATE_DIR": state, "BED_TIME_SCALE": "0.001"}
    out = subprocess.run([str(ROOT / "tests/bed/up"), "--parent-pid", str(os.getpid()), "aws"],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: the test bed did not start:\n{out.stderr}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def control(bed, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(bed["BED_URL"] + path, data=data,
                                     method="POST" if data else "GET")
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


class Site:
    """The generated build: asset contents by index, and a generation per changed asset."""

    def __init__(self, seed):
        rng = random.Random(seed)
        self.sizes = [rng.randint(1024, 16 * 1024) for _ in range(ASSETS)]
        self.generation = [0] * ASSETS

    def asset_name(self, i):
        return f"assets/chunk-{i:04d}{self.generation[i]:04d}.js"

    def change(self, step):
        """15 assets, three in each of 5 pages: 20 files change."""
        per_page = ASSETS // PAGES
        for page in range(CHANGED_PAGES):
            first = ((step * CHANGED_PAGES + page) * 7 % PAGES) * per_page
            for k in range(CHANGED_ASSETS // CHANGED_PAGES):
                self.generation[first + k] += 1

    def write(self, root):
        root.mkdir(parents=True)
        (root / "assets").mkdir()
        for i, size in enumerate(self.sizes):
            head = f"/* chunk {i} generation {self.generation[i]} */\n".encode()
            (root / self.asset_name(i)).write_bytes(head + b"x" * (size - len(head)))
        per_page = ASSETS // PAGES
        for p in range(PAGES):
            scripts = "".join(f'<script src="/{self.asset_name(i)}"></script>'
                              for i in range(p * per_page, (p + 1) * per_page))
            name = "index.html" if p == 0 else f"page-{p:02d}/index.html"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(f"<!doctype html><title>{p}</title>{scripts}\n")


def measure(bed, command, env):
    control(bed, "/_bed/calls", {"reset": True})
    control(bed, "/_bed/static-site", {"reset": True})
    started = time.monotonic()
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit(f"bench: {command[0]} failed:\n{out.stdout}\n{out.stderr}")
    calls = control(bed, "/_bed/calls")["calls"]
    events = control(bed, "/_bed/static-site")["events"]
    puts = [e for e in events if e["op"] == "PutObject" and ".deploy-kit/" not in e["key"]]
    return {"wall": wall, "requests": len(calls), "puts": len(puts),
            "bytes": sum(e["size"] for e in puts)}


def main():
    deploy_kit, aws = sys.argv[1], sys.argv[2]
    work = Path(tempfile.mkdtemp())
    try:
        bed = bed_up(str(work / "bed"))
        session = boto3.session.Session(aws_access_key_id="testing",
                                        aws_secret_access_key="testing", region_name="us-east-1")
        kw = {"endpoint_url": bed["AWS_ENDPOINT_URL"]}
        s3, cf = session.client("s3", **kw), session.client("cloudfront", **kw)
        dist = {}
        for tool in ("dk", "cli"):
            s3.create_bucket(Bucket=f"bench-{tool}")
            config = {"CallerReference": tool, "Comment": tool, "Enabled": True,
                      "Origins": {"Quantity": 1, "Items": [{
                          "Id": "s", "DomainName": f"bench-{tool}.s3.amazonaws.com",
                          "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
                      "DefaultCacheBehavior": {"TargetOriginId": "s",
                                               "ViewerProtocolPolicy": "allow-all",
                                               "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
            dist[tool] = cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
        (work / "aws-config").write_text(
            "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n"
            "  max_concurrent_requests = 10\n")
        env = {**os.environ, **bed, "AWS_CONFIG_FILE": str(work / "aws-config"),
               "DEPLOY_KIT_TIME_SCALE": "0.001"}
        env.pop("GITHUB_ACTIONS", None)
        results = {}
        site = Site(7)
        builds = 0

        def fresh():
            nonlocal builds
            builds += 1
            root = work / f"build{builds}"
            site.write(root)
            return root

        def run_both(case, root, order):
            for tool in order:
                if tool == "dk":
                    command = [deploy_kit, "deploy-static", "--source", str(root), "--bucket",
                               "bench-dk", "--distribution-id", dist["dk"], "--wait", "false",
                               "--concurrency", "10"]
                    results.setdefault((case, tool), []).append(measure(bed, command, env))
                else:
                    script = (f'"{aws}" s3 sync --delete --only-show-errors "{root}" s3://bench-cli'
                              f' && "{aws}" cloudfront create-invalidation --distribution-id'
                              f' {dist["cli"]} --paths "/*" > /dev/null')
                    results.setdefault((case, tool), []).append(
                        measure(bed, ["bash", "-c", script], env))

        for step in range(ROUNDS):
            order = ["dk", "cli"] if step % 2 == 0 else ["cli", "dk"]
            if step == 0:
                log("first upload")
                run_both("first", fresh(), order)
            else:
                # Later rounds of the first upload: each tool's bucket emptied first.
                for tool in ("dk", "cli"):
                    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=f"bench-{tool}")
                    for page in pages:
                        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                        if keys:
                            s3.delete_objects(Bucket=f"bench-{tool}", Delete={"Objects": keys})
                    left = s3.list_objects_v2(Bucket=f"bench-{tool}").get("KeyCount", 0)
                    assert left == 0, f"bench-{tool} still holds {left} objects"
                log(f"first upload, round {step + 1}")
                run_both("first", fresh(), order)
            log(f"fresh rebuild, nothing changed, round {step + 1}")
            run_both("same", fresh(), order)
            log(f"fresh rebuild, 20 files changed, round {step + 1}")
            site.change(step)
            run_both("changed", fresh(), order)
        print(table(results))
    finally:
        subprocess.run([str(ROOT / "tests/bed/down")],
                       env={**os.environ, "BED_STATE_DIR": str(work / "bed")})
        shutil.rmtree(work, ignore_errors=True)


def table(results):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({cpu}), "
             f"{platform.machine()}, Linux {platform.release()}: medians of {ROUNDS} rounds, "
             "alternating, on one test bed.", "",
             "| case | tool | wall | requests | files uploaded | bytes uploaded | speed-up |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    names = {"first": "first upload (2,000 files)", "same": "fresh rebuild, no change",
             "changed": "fresh rebuild, 20 changed"}
    for case in ("first", "same", "changed"):
        med = {tool: {k: statistics.median(r[k] for r in results[(case, tool)])
                      for k in ("wall", "requests", "puts", "bytes")} for tool in ("dk", "cli")}
        for tool, label in (("dk", "deploy-static"), ("cli", "aws s3 sync + create-invalidation")):
            m = med[tool]
            speed = f"{med['cli']['wall'] / med['dk']['wall']:.1f}x faster" if tool == "dk" else ""
            lines.append(f"| {names[case]} | {label} | {m['wall']:.2f} s | {m['requests']:.0f} | "
                         f"{m['puts']:.0f} | {m['bytes'] / 1e6:.2f} MB | {speed} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
