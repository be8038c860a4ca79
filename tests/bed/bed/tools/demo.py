"""The demo's AWS: what examples/workflows/deploy.yml deploys to, created in a running bed.

    python -m bed.tools.demo --state-dir DIR [--fail-staging]

Creates cluster `demo`, services `api-staging` and `api-production` (FARGATE, blue/green behind
a load balancer with a test listener, circuit breaker with rollback, one of moto's subnets), the
`/ecs/api` log group, the ECR repository `demo/api`, the frontend's buckets
`demo-frontend-staging` and `demo-frontend-production` with a CloudFront distribution each, and two local HTTP servers standing in for
the test listener and the public URL (they stop when the parent process does). Prints the
workflow's `vars` as KEY=value lines. `--fail-staging` makes new staging tasks fail their health
checks, so the staging deploy rolls back.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
ROOT = Path(__file__).resolve().parents[4]


def env_of(state):
    return dict(line.split("=", 1) for line in (Path(state) / "env").read_text().splitlines()
                if "=" in line)


def ok_server():
    """A local HTTP server on an ephemeral loopback port answering 200 `ok`."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"status":"ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    return server


def load_balancer(endpoint, name):
    """A load balancer with a blue and a green target group in the bed's ELBv2
    (bed.plugins.cloudwatch), so `max-5xx-rate` finds real target groups: their ARNs."""
    request = urllib.request.Request(f"{endpoint}/_bed/alb", data=json.dumps({"name": name}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["targetGroupArns"]


def service(ecs, name, task_definition, subnet, endpoint):
    blue, green = load_balancer(endpoint, name)
    lb = {"targetGroupArn": blue, "containerName": "web",
          "containerPort": 8080, "advancedConfiguration": {
              "alternateTargetGroupArn": green,
              "productionListenerRule": f"{ARN}:listener-rule/app/{name}/1/r/1",
              "testListenerRule": f"{ARN}:listener-rule/app/{name}/1/r/2",
              "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure"}}
    ecs.create_service(
        cluster="demo", serviceName=name, taskDefinition=task_definition, desiredCount=2,
        launchType="FARGATE", loadBalancers=[lb],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
                                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}})


def frontend(session, kw, environment):
    """A bucket and a CloudFront distribution in front of it; returns the distribution id."""
    bucket = f"demo-frontend-{environment}"
    session.client("s3", **kw).create_bucket(Bucket=bucket)
    origin = {"Id": "site", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    config = {"CallerReference": f"demo-{environment}", "Comment": bucket, "Enabled": True,
              "DefaultRootObject": "index.html",
              "Origins": {"Quantity": 1, "Items": [origin]},
              "DefaultCacheBehavior": {"TargetOriginId": "site",
                                       "ViewerProtocolPolicy": "redirect-to-https",
                                       "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
    out = session.client("cloudfront", **kw).create_distribution(DistributionConfig=config)
    return out["Distribution"]["Id"]


def setup(state, fail_staging):
    bed = env_of(state)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    kw = {"endpoint_url": bed["AWS_ENDPOINT_URL"]}
    ecs, ec2 = session.client("ecs", **kw), session.client("ec2", **kw)
    session.client("logs", **kw).create_log_group(logGroupName="/ecs/api")
    session.client("ecr", **kw).create_repository(repositoryName="demo/api")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ecs.create_cluster(clusterName="demo")
    template = json.loads((ROOT / "crates/render-taskdef/tests/fixtures/two-containers.json")
                          .read_text())
    first = ecs.register_task_definition(**template)["taskDefinition"]["taskDefinitionArn"]
    for name in ("api-staging", "api-production"):
        service(ecs, name, first, subnet, bed["AWS_ENDPOINT_URL"])
    deadline = time.time() + 60
    while time.time() < deadline:
        deps = [d for name in ("api-staging", "api-production") for d in
                ecs.list_service_deployments(cluster="demo", service=name)["serviceDeployments"]]
        if deps and all(d["status"] == "SUCCESSFUL" for d in deps):
            break
        time.sleep(0.1)
    distributions = {env: frontend(session, kw, env) for env in ("staging", "production")}
    if fail_staging:
        req = urllib.request.Request(bed["BED_URL"] + "/_bed/scenario", method="POST",
                                     data=json.dumps({"service": "api-staging",
                                                      "health": "failing"}).encode())
        urllib.request.urlopen(req, timeout=10).read()
    return distributions


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--fail-staging", action="store_true")
    p.add_argument("--serve", action="store_true",
                   help="only serve the two URLs, printing them, until the parent exits")
    p.add_argument("--parent-pid", type=int, default=os.getppid())
    args = p.parse_args()
    if args.serve:
        servers = [ok_server() for _ in range(2)]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        test, public = (f"http://127.0.0.1:{s.server_address[1]}/health" for s in servers)
        print(f"STAGING_TEST_URL={test}\nPRODUCTION_TEST_URL={test}\n"
              f"STAGING_URL={public}\nPRODUCTION_URL={public}", flush=True)
        sys.stdout.close()
        while os.path.exists(f"/proc/{args.parent_pid}"):
            time.sleep(0.5)
        return
    distributions = setup(args.state_dir, args.fail_staging)
    role = "arn:aws:iam::123456789012:role"
    print("\n".join([
        "AWS_REGION=us-east-1", f"BUILD_ROLE_ARN={role}/github-build",
        f"STAGING_ROLE_ARN={role}/staging-deploy", f"PRODUCTION_ROLE_ARN={role}/production-deploy",
        "ECR_REPOSITORY=demo/api", "ECS_CLUSTER=demo", "STAGING_SERVICE=api-staging",
        "PRODUCTION_SERVICE=api-production",
        "TASK_DEFINITION=crates/render-taskdef/tests/fixtures/two-containers.json",
        "CONTAINER_NAME=web", "DOCKER_CONTEXT=tests/bed/app",
        "DOCKERFILE=tests/workflows/fixtures/Dockerfile",
        # examples/workflows/pull-request.yml: the read-only role of its dry run.
        f"PULL_REQUEST_ROLE_ARN={role}/pull-request-read",
        # The frontend jobs: a "build" that copies the fixture's files, fresh, as CI builds do.
        "FRONTEND_DIR=tests/workflows/fixtures/frontend", "FRONTEND_BUILD=rm -rf dist && cp -r src dist",
        "STAGING_FRONTEND_BUCKET=demo-frontend-staging",
        f"STAGING_DISTRIBUTION_ID={distributions['staging']}",
        "PRODUCTION_FRONTEND_BUCKET=demo-frontend-production",
        f"PRODUCTION_DISTRIBUTION_ID={distributions['production']}",
    ]))


if __name__ == "__main__":
    main()
