"""RunTask / DescribeTasks / StopTask: tasks that run, log to CloudWatch and exit.

moto creates tasks (ARNs, ENIs, placement) but leaves them RUNNING forever, reports container
cpu/memory as numbers (the ECS model says string: the Rust SDK rejects the whole response), and
crashes on a FARGATE task definition whose containers set no memory. This module fixes those and
gives each task a life over (scaled) time:

    PROVISIONING (1 s) -> PENDING (2 s, the image pull) -> RUNNING (runSeconds) ->
    DEPROVISIONING (1 s) -> STOPPED

Per container, from its environment (task definition, then RunTask containerOverrides) or the
scenario knobs (scenarios.py; scope "family"): BED_EXIT_CODE (essential containers only when set
as a knob), BED_RUN_SECONDS (default 3), BED_LOG_LINES (newline-separated), BED_START_FAILURE
(CannotPullContainerError | ResourceInitializationError: the task stops with stopCode
TaskFailedToStart and no exit code). When an essential container exits the task stops
(EssentialContainerExited) and the others get exit code 143 (SIGTERM), as ECS does. StopTask
gives stopCode UserInitiated. Log lines go, spread over the run, to moto's CloudWatch Logs at the
container's awslogs group and stream `<awslogs-stream-prefix>/<container>/<task id>`; with the
knob logLagSeconds each line reaches CloudWatch Logs that much later (with its own timestamp), so
the last lines can arrive after the task is STOPPED.

RunTask's clientToken (cluster-scoped, as ECS_Idempotency says): the same token with the same
parameters returns the tasks it started; with other parameters, ConflictException naming them in
`resourceIds` (the model's ConflictException). A call that started no task does not bind its
token (the docs speak of requests that "completed successfully"). The knob runTaskFailures
answers the family's next RunTask calls with one `failures[]` entry each and no task: reasons
RESOURCE:*, AGENT and ATTRIBUTE name a container instance ARN, as the ECS "API failure reasons"
page says; other reasons (Fargate's "Capacity is unavailable at this time. ...") name none.

Control: GET /_bed/tasks -> every task started, with `busy`: [created, stopped] in epoch seconds
(stopped null while it runs), when ECS works on it, for the benches.
"""

import json
import uuid

from moto.ecs import models
from moto.logs.models import logs_backends

from bed.plugins import scenarios

ECS = "AmazonEC2ContainerServiceV20141113."
PROVISIONING, PENDING, DEPROVISIONING = 1.0, 2.0, 1.0
STOP_EXIT_CODE = 143  # SIGTERM: what a container stopped by ECS usually exits with
START_FAILURES = {
    "CannotPullContainerError": "CannotPullContainerError: pull image manifest has been retried "
        "5 time(s): failed to resolve ref {image}: not found",
    "ResourceInitializationError": "ResourceInitializationError: unable to pull secrets or "
        "registry auth: execution resource retrieval failed: unable to retrieve secret from "
        "asm: service call has been retried 1 time(s): AccessDeniedException",
}


def _patch_resource_requirements():
    # A FARGATE container may omit memory (the task-level memory suffices); moto adds None to an
    # int. Count such a container as 0, on a copy, so DescribeTaskDefinition keeps what was sent.
    original = models.EC2ContainerServiceBackend._calculate_task_resource_requirements

    def calculate(task_definition):
        saved = task_definition.container_definitions
        task_definition.container_definitions = [
            cd if any(k in cd for k in ("memory", "memoryReservation", "Memory", "MemoryReservation"))
            else {**cd, "memory": 0} for cd in saved]
        try:
            return original(task_definition)
        finally:
            task_definition.container_definitions = saved

    models.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(calculate)


def _tasks(bed):
    return bed.state.setdefault("tasks", {"by_arn": {}, "tokens": {}, "failed": {}})


def _env(definition, overrides):
    env = {e["name"]: e.get("value", "") for e in definition.get("environment") or []}
    for override in overrides:
        if override.get("name") == definition["name"]:
            env.update({e["name"]: e.get("value", "") for e in override.get("environment") or []})
    return env


def _lines(value, name, code):
    if value is None:
        return [f"{name}: starting", f"{name}: working", f"{name}: exiting with code {code}"]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [line for line in str(value).replace("\\n", "\n").split("\n") if line]


def _knobs(bed, definition):
    env_values = [e.get("value", "") for c in definition.get("containerDefinitions") or []
                  for e in c.get("environment") or [] if e.get("name") == "BED_SCENARIO"]
    return scenarios.resolve(bed, family=definition.get("family"), env_values=env_values)


def _track(bed, task_json, definition, body, now):
    """Plans the life of one task just started by moto."""
    overrides = (body.get("overrides") or {}).get("containerOverrides") or []
    knobs = _knobs(bed, definition)
    scale = scenarios.time_scale(bed, knobs)
    task_id = task_json["taskArn"].split("/")[-1]
    containers, failure = [], knobs.get("startFailure")
    for cd in definition["containerDefinitions"]:
        env = _env(cd, overrides)
        essential = cd.get("essential", True)
        code = int(env.get("BED_EXIT_CODE", knobs.get("exitCode", 0) if essential else 0))
        run = float(env.get("BED_RUN_SECONDS", knobs.get("runSeconds", 3)))
        failure = env.get("BED_START_FAILURE", failure)
        log = cd.get("logConfiguration") or {}
        options = log.get("options") or {}
        group = options.get("awslogs-group") if log.get("logDriver") == "awslogs" else None
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{cd['name']}/{task_id}" if prefix else task_id
        containers.append({
            "name": cd["name"], "image": cd.get("image", ""), "essential": essential,
            "exitCode": code, "run": run * scale, "cpu": cd.get("cpu"), "memory": cd.get("memory"),
            "memoryReservation": cd.get("memoryReservation"), "group": group, "stream": stream,
            "create": options.get("awslogs-create-group") == "true",
            "lines": _lines(env.get("BED_LOG_LINES", knobs.get("logLines")), cd["name"], code),
            "written": 0})
    region, account = task_json["taskArn"].split(":")[3:5]
    logs, reason = logs_backends[account][region], None
    missing = [c["group"] for c in containers
               if c["group"] and not c["create"] and c["group"] not in logs.groups]
    if missing and not failure:
        # What ECS says when the awslogs group does not exist and may not be created.
        failure = "ResourceInitializationError"
        reason = ("ResourceInitializationError: failed to validate logger args: create stream has "
                  "been retried 1 times: failed to create Cloudwatch log stream: "
                  "ResourceNotFoundException: The specified log group does not exist. : exit "
                  f"status 1 (log group {missing[0]})")
    pulled = now + (PROVISIONING + PENDING) * scale
    task = {"arn": task_json["taskArn"], "created": now, "pullStarted": now + PROVISIONING * scale,
            "pulled": pulled, "containers": containers, "logs": logs, "scale": scale,
            "logLag": float(knobs.get("logLagSeconds") or 0) * scale}
    if failure:
        reason = reason or START_FAILURES.get(failure, failure).format(image=containers[0]["image"])
        task.update(runEnd=pulled, stopCode="TaskFailedToStart", started=None,
                    stoppedReason=reason)
        for c in containers:
            c.update(exitCode=None, reason=task["stoppedReason"], end=pulled)
    else:
        essential_end = min(pulled + c["run"] for c in containers if c["essential"])
        task.update(runEnd=essential_end, started=pulled, stopCode="EssentialContainerExited",
                    stoppedReason="Essential container in task exited")
        for c in containers:
            own = pulled + c["run"]
            c["end"] = min(own, essential_end)
            if own > essential_end:
                c["exitCode"] = STOP_EXIT_CODE
    _tasks(bed)["by_arn"][task["arn"]] = task
    return task


def _status(task, now):
    if now < task["pullStarted"]:
        return "PROVISIONING"
    if now < task["pulled"]:
        return "PENDING"
    if now < task["runEnd"]:
        return "RUNNING"
    return "DEPROVISIONING" if now < _stopped_at(task) else "STOPPED"


def _stopped_at(task):
    return task["runEnd"] + DEPROVISIONING * task["scale"]


def _shape(task_json, task, now):
    """Rewrites moto's task JSON with the task's state at `now`."""
    status = _status(task, now)
    task_json.update(lastStatus=status, createdAt=task["created"],
                     desiredStatus="RUNNING" if status in ("PROVISIONING", "PENDING", "RUNNING")
                     else "STOPPED")
    if now >= task["pullStarted"]:
        task_json["pullStartedAt"] = task["pullStarted"]
    if now >= task["pulled"]:
        task_json["pullStoppedAt"] = task["pulled"]
        if task["started"] is not None:
            task_json["startedAt"] = task["started"]
    task_json.pop("stoppedReason", None)  # moto sends "" for a running task; ECS sends nothing
    if now >= task["runEnd"]:
        task_json.update(stopCode=task["stopCode"], stoppedReason=task["stoppedReason"],
                         stoppingAt=task["runEnd"], executionStoppedAt=task["runEnd"])
        if status == "STOPPED":
            task_json["stoppedAt"] = _stopped_at(task)
    containers = []
    for c, moto_c in zip(task["containers"], _pad(task_json.get("containers"))):
        out = {"containerArn": moto_c.get("containerArn", f"{task['arn']}/{c['name']}"),
               "taskArn": task["arn"], "name": c["name"], "image": c["image"],
               "networkBindings": [], "networkInterfaces": moto_c.get("networkInterfaces", []),
               "healthStatus": "UNKNOWN"}
        for field in ("cpu", "memory", "memoryReservation"):
            if c.get(field) is not None:
                out[field] = str(c[field])
        if now < task["pulled"]:
            out["lastStatus"] = "PENDING"
        elif now < c["end"]:
            out["lastStatus"] = "RUNNING"
        else:
            out["lastStatus"] = "STOPPED"
            if c["exitCode"] is not None:
                out["exitCode"] = c["exitCode"]
            if c.get("reason"):
                out["reason"] = c["reason"]
        containers.append(out)
    task_json["containers"] = containers
    return task_json


def _pad(moto_containers):
    moto_containers = list(moto_containers or [])
    while True:
        yield moto_containers.pop(0) if moto_containers else {}


def stringify_containers(body):
    """Container cpu/memory as strings in tasks the bed does not track."""
    for task in body.get("tasks", []) + ([body["task"]] if "task" in body else []):
        for container in task.get("containers", []):
            for field in ("cpu", "memory", "memoryReservation"):
                if container.get(field) is not None:
                    container[field] = str(container[field])
                else:
                    container.pop(field, None)
    return body


def _shape_all(bed, body):
    now, tracked = bed.now(), _tasks(bed)["by_arn"]
    stringify_containers(body)
    for task_json in body.get("tasks", []) + ([body["task"]] if "task" in body else []):
        if task_json.get("taskArn") in tracked:
            _shape(task_json, tracked[task_json["taskArn"]], now)
    return body


def run_task(bed, body, environ):
    vpc = (body.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc is not None:
        vpc.setdefault("securityGroups", [])  # optional in ECS; moto raises KeyError without it
    cluster = body.get("cluster") or "default"
    token_key = (cluster, body.get("clientToken"))
    parameters = json.dumps({k: v for k, v in body.items() if k != "clientToken"}, sort_keys=True)
    known = _tasks(bed)["tokens"].get(token_key) if body.get("clientToken") else None
    if known:
        if known["parameters"] != parameters:
            return 400, {"__type": "ConflictException", "resourceIds": known["arns"],
                         "message": f"The clientToken {body['clientToken']} is already in use "
                                    "with a different RunTask request."}
        status, out = bed.moto(ECS + "DescribeTasks", {"cluster": cluster, "tasks": known["arns"]},
                               environ)
        return status, {"tasks": out.get("tasks", []), "failures": []}
    status, described = bed.moto(ECS + "DescribeTaskDefinition",
                                 {"taskDefinition": body.get("taskDefinition", "")}, environ)
    definition = described.get("taskDefinition") or {} if status == 200 else {}
    failure = _capacity_failure(bed, definition, cluster) if definition else None
    if failure:
        return 200, {"tasks": [], "failures": [failure]}
    on_ec2 = body.get("launchType") in (None, "EC2") and not body.get("capacityProviderStrategy")
    if on_ec2:
        # moto raises (HTTP 500) when an EC2 task has no container instance; ECS refuses it.
        status, instances = bed.moto(ECS + "ListContainerInstances", {"cluster": cluster}, environ)
        if status == 200 and not instances.get("containerInstanceArns"):
            return bed.error("InvalidParameterException",
                             "No Container Instances were found in your cluster.")
    status, out = bed.moto(ECS + "RunTask", body, environ)
    if status != 200:
        return status, out
    now = bed.now()
    for task_json in out.get("tasks", []):
        _track(bed, task_json, definition, body, now)
    if body.get("clientToken") and out.get("tasks"):
        _tasks(bed)["tokens"][token_key] = {
            "parameters": parameters, "arns": [t["taskArn"] for t in out["tasks"]]}
    return 200, _shape_all(bed, out)


def _capacity_failure(bed, definition, cluster):
    """The next entry of the runTaskFailures knob for this family, as a RunTask `failures[]`
    entry; each list counts on its own, so setting a new list starts it over."""
    reasons = _knobs(bed, definition).get("runTaskFailures") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    key = (definition.get("family"), json.dumps(reasons))
    given = _tasks(bed)["failed"].get(key, 0)
    if given >= len(reasons):
        return None
    _tasks(bed)["failed"][key] = given + 1
    reason = str(reasons[given])
    failure = {"reason": reason}
    if reason.split(":")[0] in ("RESOURCE", "AGENT", "ATTRIBUTE"):
        region, account = definition["taskDefinitionArn"].split(":")[3:5]
        failure["arn"] = (f"arn:aws:ecs:{region}:{account}:container-instance/{cluster}/"
                          f"{uuid.uuid4().hex}")
    return failure


def stop_task(bed, body, environ):
    task = _tasks(bed)["by_arn"].get(_full_arn(bed, body.get("task", "")))
    now = bed.now()
    if task and now < task["runEnd"]:
        started = now >= task["pulled"]
        task.update(runEnd=now, stopCode="UserInitiated",
                    stoppedReason=body.get("reason") or "Task stopped by user")
        for c in task["containers"]:
            if c["end"] > now:
                c.update(end=now, exitCode=STOP_EXIT_CODE if started else None)
    status, out = bed.moto(ECS + "StopTask", body, environ)
    return status, _shape_all(bed, out) if status == 200 else out


def _full_arn(bed, task):
    for arn in _tasks(bed)["by_arn"]:
        if arn == task or arn.endswith("/" + task.split("/")[-1]):
            return arn
    return task


def describe_tasks(bed, _req, _status, out):
    return _shape_all(bed, out)


def write_logs(bed, now):
    """Puts each container's log lines into CloudWatch Logs as their time comes."""
    for task in _tasks(bed)["by_arn"].values():
        if task["started"] is None:
            continue
        for c in task["containers"]:
            if not c["group"] or c["written"] >= len(c["lines"]) or now < task["pulled"]:
                continue
            logs, span = task["logs"], max(c["end"] - task["pulled"], 0.0)
            if c["written"] == 0 and c.get("stream_ready") is None:
                if c["group"] not in logs.groups:
                    logs.create_log_group(c["group"], {})
                if c["stream"] not in logs.groups[c["group"]].streams:
                    logs.create_log_stream(c["group"], c["stream"])
                c["stream_ready"] = True
            n = len(c["lines"])
            # A line is written at pulled + span*i/n and readable logLag later.
            due = [i for i in range(c["written"], n)
                   if task["pulled"] + span * i / n + task.get("logLag", 0.0) <= now]
            if due:
                events = [{"timestamp": int((task["pulled"] + span * i / n) * 1000),
                           "message": c["lines"][i]} for i in due]
                logs.put_log_events(c["group"], c["stream"], events)
                c["written"] = due[-1] + 1


def tasks_control(bed, _method, _query, _payload):
    now = bed.now()
    return 200, {"tasks": [
        {"taskArn": arn, "busy": [task["created"],
                                  _stopped_at(task) if _status(task, now) == "STOPPED" else None]}
        for arn, task in _tasks(bed)["by_arn"].items()]}


def install(bed):
    _patch_resource_requirements()
    bed.add_json_control("tasks", tasks_control)
    bed.add_target(ECS + "RunTask", run_task)
    bed.add_target(ECS + "StopTask", stop_task)
    bed.add_response_filter(ECS + "DescribeTasks", describe_tasks)
    bed.add_ticker(write_logs)

