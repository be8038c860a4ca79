"""The call log: who made each AWS request and its IAM name, in the bed (GET /_bed/calls) and
suite-wide (the files tests/iam-check reads). The server and tools.docker's registry proxy log
through it."""

import io
import json
import os
from urllib.parse import parse_qs


def caller(environ):
    """`deploy-kit-<action>` from the SDK's `app/...` user-agent part, else `other` (a test's own
    set-up calls)."""
    agent = environ.get("HTTP_X_AMZ_USER_AGENT", "") + " " + environ.get("HTTP_USER_AGENT", "")
    apps = [part[4:] for part in agent.split() if part.startswith("app/")]
    return apps[0] if apps else "other"


def record(who, name):
    """With BED_CALL_LOG_DIR set (tests/run sets it), every call of every bed of the test run is
    appended there as `caller operation`, so the whole suite's calls can be checked against the
    docs/iam policies in both directions (tests/iam-check)."""
    directory = os.environ.get("BED_CALL_LOG_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"calls-{os.getpid()}.log"), "a") as log:
            log.write(f"{who} {name}\n")


def signing_service(environ):
    # "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, ..."
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split(",")[0].split("/")[3]
    except IndexError:
        return ""


# The IAM service prefix of a signing name where they differ.
SIGNING_SERVICES = {"monitoring": "cloudwatch"}

# The ECS create calls that take `tags` and then need ecs:TagResource as well.
TAG_ON_CREATE = {f"ecs:{op}" for op in ("CreateCapacityProvider", "CreateCluster", "CreateService",
                                       "CreateTaskSet", "RegisterContainerInstance",
                                       "RegisterTaskDefinition", "RunTask", "StartTask")}

# The IAM service prefix of each JSON-protocol target.
TARGET_SERVICES = {"AmazonEC2ContainerServiceV20141113": "ecs",
                   "AmazonEC2ContainerRegistry_V20150921": "ecr", "Logs_20140328": "logs",
                   "SpencerFrontendService": "ecr-public"}


class CallLog:
    """Records the IAM name of every AWS request (`ecs:RunTask`, `sts:AssumeRole`, ...), outside
    every plug-in, so a test can check what an action called against its policy in docs/iam.
    GET /_bed/calls -> {"calls": [...]}; POST /_bed/calls {"reset": true} empties it."""

    def __init__(self, bed):
        self.bed = bed
        bed.state["calls"] = []
        bed.add_json_control("calls", self.control)

    @staticmethod
    def control(bed, method, _query, payload):
        if method == "POST" and payload.get("reset"):
            bed.state["calls"].clear()
        return 200, {"calls": list(bed.state["calls"])}

    def __call__(self, environ, start_response):
        name = self.operation(environ) or self.bed.rest_operation(environ)
        for logged in [name, self.tag_on_create(environ, name)] if name else []:
            if logged:
                self.bed.state["calls"].append(logged)
                record(caller(environ), logged)
        return self.bed(environ, start_response)

    @staticmethod
    def tag_on_create(environ, name):
        """`ecs:TagResource` when an ECS create call carries tags: AWS then also authorizes
        ecs:TagResource (ECS developer guide, "Grant permission to tag resources on creation")."""
        if name not in TAG_ON_CREATE:
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return "ecs:TagResource" if isinstance(body, dict) and body.get("tags") else None

    @staticmethod
    def operation(environ):
        if environ.get("PATH_INFO", "").startswith("/_bed/"):
            return None
        if environ.get("HTTP_SMITHY_PROTOCOL") and "/operation/" in environ.get("PATH_INFO", ""):
            service = signing_service(environ)
            op = environ["PATH_INFO"].rsplit("/", 1)[-1]
            return f"{SIGNING_SERVICES.get(service, service)}:{op}"
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if "." in target:
            prefix, op = target.split(".", 1)
            return f"{TARGET_SERVICES.get(prefix, prefix)}:{op}"
        if "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        action = parse_qs(raw.decode(errors="replace")).get("Action", [""])[0]
        scope = environ.get("HTTP_AUTHORIZATION", "").split("Credential=")[-1].split("/")
        service = scope[3] if len(scope) > 3 else "sts"  # the web identity call is unsigned
        return f"{service}:{action}" if action else None
