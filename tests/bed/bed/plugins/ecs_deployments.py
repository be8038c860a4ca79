"""ECS service deployments on top of moto: the 2025 deployment API and a lifecycle over time.

moto keeps services, clusters and task definitions; this module keeps, per service, the raw
deploymentConfiguration and loadBalancers it was given (moto drops fields it does not know) and
a `lifecycle.Deployment` per CreateService/UpdateService that starts one. It answers
ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment,
ContinueServiceDeployment and DescribeServiceRevisions itself, and rewrites moto's
CreateService/UpdateService/DescribeServices answers so `deployments[]`, counts, events and the
configuration agree with the service deployment. Views (JSON shapes) live in ecs_views.py.

Control: GET /_bed/deployments[?service=NAME] -> every deployment with its status, stages
(with times), terminalAt / terminalSeenAt (epoch ms), the describe calls it received and `busy`,
when ECS worked on it ([start, end] in epoch seconds, less the time a PAUSE hook awaited a caller).
"""

import random
import string

from bed.models import ecs_views, lifecycle
from bed.plugins import scenarios

ECS = "AmazonEC2ContainerServiceV20141113."
STRATEGIES = ("ROLLING", "BLUE_GREEN", "CANARY", "LINEAR")
# ECS's words in "... when using the linear deployment strategy" (seen for LINEAR; the others
# follow the same pattern).
STRATEGY_WORDS = {"BLUE_GREEN": "blue/green", "CANARY": "canary", "LINEAR": "linear"}
ADVANCED_FIELDS = ("alternateTargetGroupArn", "productionListenerRule", "roleArn")


def _state(bed):
    return bed.state.setdefault("ecs", {"services": {}, "deployments": {}, "revisions": {}})


def _find_service(bed, cluster, service):
    cluster = (cluster or "default").split("/")[-1]
    name = (service or "").split("/")[-1]
    for svc in _state(bed)["services"].values():
        if svc["cluster"] == cluster and svc["name"] == name:
            return svc
    return None


def _rand(n, alphabet=string.ascii_letters + string.digits):
    return "".join(random.choice(alphabet) for _ in range(n))


# The SDK model's ranges: (field, lowest, highest, step) of deploymentConfiguration's numbers.
RANGES = (
    ("bakeTimeInMinutes", None, 0, 1440, 1),
    ("canaryPercent", "canaryConfiguration", 0.1, 100.0, 0.1),
    ("canaryBakeTimeInMinutes", "canaryConfiguration", 0, 1440, 1),
    ("stepPercent", "linearConfiguration", 3.0, 100.0, 0.1),
    ("stepBakeTimeInMinutes", "linearConfiguration", 0, 1440, 1),
)


def _out_of_range(config):
    """ECS's ranges (CanaryConfiguration, LinearConfiguration, DeploymentConfiguration and the
    hooks' DeploymentLifecycleHookTimeoutConfiguration in the SDK model); the messages are the
    bed's own words, as ECS's are not documented."""
    for field, within, low, high, step in RANGES:
        value = (config.get(within) or {}) if within else config
        value = value.get(field)
        if value is None:
            continue
        steps = float(value) / step
        if not low <= float(value) <= high or abs(steps - round(steps)) > 1e-6:
            where = f"{within}.{field}" if within else field
            return f"{where} must be a multiple of {step} from {low} to {high}; got {value}."
    for hook in config.get("lifecycleHooks") or []:
        minutes = (hook.get("timeoutConfiguration") or {}).get("timeoutInMinutes")
        if minutes is not None and not 1 <= int(minutes) <= 20160:
            return f"timeoutConfiguration.timeoutInMinutes must be from 1 to 20160; got {minutes}."
    return None


def _validate(config, load_balancers, knobs=None):
    strategy = config.get("strategy") or "ROLLING"
    knobs = knobs or {}
    if strategy not in STRATEGIES:
        return "InvalidParameterException", f"Invalid deployment strategy {strategy}. Valid " \
                                            f"values: {', '.join(STRATEGIES)}."
    if strategy != "ROLLING":
        for lb in load_balancers:
            advanced = lb.get("advancedConfiguration")
            if not advanced:
                return "ClientException", "advancedConfiguration field is required for all " \
                    f"loadBalancers when using the {STRATEGY_WORDS[strategy]} deployment strategy"
            missing = [f for f in ADVANCED_FIELDS if not advanced.get(f)]
            if missing:
                return "InvalidParameterException", \
                    f"advancedConfiguration is missing {', '.join(missing)}."
    problem = _out_of_range(config)
    if problem:
        return "InvalidParameterException", problem
    # The model: "You must provide this parameter when you use the BLUE_GREEN deployment
    # strategy". Knob `blueGreenBakeDefault` (minutes): an ECS that fills one in instead.
    if strategy == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
        if knobs.get("blueGreenBakeDefault") is None:
            return "InvalidParameterException", "bakeTimeInMinutes must be specified when " \
                                                "using the blue/green deployment strategy."
        config["bakeTimeInMinutes"] = int(knobs["blueGreenBakeDefault"])
    for hook in config.get("lifecycleHooks") or []:
        kind, stages = hook.get("targetType") or "AWS_LAMBDA", hook.get("lifecycleStages") or []
        if not stages:
            return "InvalidParameterException", "lifecycleStages must be specified for a " \
                                                "deployment lifecycle hook."
        if kind == "PAUSE" and {"TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"} & set(stages):
            return "InvalidParameterException", "PAUSE hooks cannot be configured at " \
                "TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages."
        if kind == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            return "InvalidParameterException", "hookTargetArn must be provided for an " \
                                                "AWS_LAMBDA lifecycle hook."
    return None


def _scenario_env(bed, task_definition, environ):
    status, out = bed.moto(ECS + "DescribeTaskDefinition", {"taskDefinition": task_definition},
                           environ)
    if status != 200:
        return []
    containers = out.get("taskDefinition", {}).get("containerDefinitions", [])
    return [e.get("value", "") for c in containers for e in c.get("environment") or []
            if e.get("name") == "BED_SCENARIO"]


def _revision(bed, svc, task_definition, now):
    region, account = svc["arn"].split(":")[3:5]
    rev = {"arn": f"arn:aws:ecs:{region}:{account}:service-revision/{svc['cluster']}/"
                  f"{svc['name']}/{random.randint(10**18, 10**19 - 1)}",
           "taskDefinition": task_definition, "createdAt": now,
           "ecsId": f"ecs-svc/{random.randint(10**18, 10**19 - 1)}", "service": svc}
    _state(bed)["revisions"][rev["arn"]] = rev
    return rev


def _start(bed, svc, task_definition, environ, initial=False):
    now = bed.now()
    prev = svc["deps"][-1] if svc["deps"] else None
    sources, reconcile = [], False
    if prev:
        prev.advance(now)
        if not prev.terminal:
            # A deployment in flight: both its revisions are active; the new one reconciles them.
            sources, reconcile = [*prev.sources, prev.target], True
            prev.supersede(now)
        elif prev.status in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_IN_PROGRESS"):
            sources = prev.sources[-1:]
        else:
            sources = [prev.target]
    target = _revision(bed, svc, task_definition, now)
    knobs = scenarios.resolve(bed, service=svc["name"],
                              env_values=_scenario_env(bed, task_definition, environ))
    region, account = svc["arn"].split(":")[3:5]

    def on_event(t, message):
        svc["events"].append({"id": _rand(8, string.hexdigits.lower()) + "-" + _rand(4, "0123456789abcdef"),
                              "createdAt": t, "message": message})

    dep = lifecycle.Deployment(
        arn=f"arn:aws:ecs:{region}:{account}:service-deployment/{svc['cluster']}/{svc['name']}/"
            f"{_rand(21)}",
        service=svc["name"], cluster=svc["cluster"], ecs_id=target["ecsId"], target=target,
        sources=sources, desired=svc["desired"], config=dict(svc["config"]), knobs=knobs, now=now,
        scale_of=lambda: scenarios.time_scale(bed, knobs), on_event=on_event,
        reconcile=reconcile, initial=initial)
    dep.service_arn, dep.cluster_arn, dep.svc = svc["arn"], svc["clusterArn"], svc
    svc["deps"].append(dep)
    _state(bed)["deployments"][dep.arn] = dep
    return dep


def _merge(bed, service_json, count_call=False):
    svc = _state(bed)["services"].get(service_json.get("serviceArn"))
    if svc:
        ecs_views.merge_service(service_json, svc, bed.now(), count_call)
    return service_json


def _default_security_groups(body):
    """`securityGroups` is optional in ECS (the VPC's default group); moto raises KeyError."""
    vpc = (body.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if isinstance(vpc, dict):
        vpc.setdefault("securityGroups", [])


def create_service(bed, body, environ):
    _default_security_groups(body)
    config, lbs = body.get("deploymentConfiguration") or {}, body.get("loadBalancers") or []
    problem = _validate(config, lbs, scenarios.resolve(bed, service=body.get("serviceName")))
    if problem:
        return bed.error(*problem)
    status, out = bed.moto(ECS + "CreateService", body, environ)
    if status != 200:
        return status, out
    moto_svc = out["service"]
    svc = {"arn": moto_svc["serviceArn"], "name": moto_svc["serviceName"],
           "clusterArn": moto_svc["clusterArn"], "cluster": moto_svc["clusterArn"].split("/")[-1],
           "config": config, "loadBalancers": lbs, "desired": body.get("desiredCount", 0),
           "launchType": body.get("launchType") or moto_svc.get("launchType"),
           "platformVersion": body.get("platformVersion"),
           "networkConfiguration": body.get("networkConfiguration"), "events": [], "deps": []}
    _state(bed)["services"][svc["arn"]] = svc
    if moto_svc.get("taskDefinition"):
        _start(bed, svc, moto_svc["taskDefinition"], environ, initial=True)
    return 200, {**out, "service": _merge(bed, moto_svc)}


def update_service(bed, body, environ):
    _default_security_groups(body)
    svc = _find_service(bed, body.get("cluster"), body.get("service"))
    if svc is None:
        return None  # not ours (or unknown): moto answers, with its own errors
    config = {**svc["config"], **(body.get("deploymentConfiguration") or {})}
    lbs = body["loadBalancers"] if "loadBalancers" in body else svc["loadBalancers"]
    problem = _validate(config, lbs, scenarios.resolve(bed, service=svc["name"]))
    if problem:
        return bed.error(*problem)
    dep = svc["deps"][-1] if svc["deps"] else None
    if dep and dep.status in ("STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS") \
            and body.get("taskDefinition"):
        return bed.error("InvalidParameterException", "The service has a deployment being "
                         "stopped or rolled back; wait for it to finish.")
    status, out = bed.moto(ECS + "UpdateService", body, environ)
    if status != 200:
        return status, out
    svc["config"], svc["loadBalancers"] = config, lbs
    if body.get("desiredCount") is not None:
        svc["desired"] = body["desiredCount"]
    if body.get("networkConfiguration"):
        svc["networkConfiguration"] = body["networkConfiguration"]
    current = ecs_views.current_task_definition(svc)
    # Without taskDefinition the service keeps what it runs: moto's own field may still name a
    # revision a rollback left, and a configuration change alone starts no deployment.
    new_td = out["service"].get("taskDefinition") if body.get("taskDefinition") else current
    if new_td and (new_td != current or body.get("forceNewDeployment")):
        _start(bed, svc, new_td, environ)
    return 200, {**out, "service": _merge(bed, out["service"])}


def describe_services(bed, _req, _status, out):
    for service_json in out.get("services", []):
        _merge(bed, service_json, count_call=True)
    return out


def list_service_deployments(bed, body, environ):
    svc = _find_service(bed, body.get("cluster"), body.get("service"))
    if svc is None:
        status, clusters = bed.moto(ECS + "DescribeClusters",
                                    {"clusters": [body.get("cluster") or "default"]}, environ)
        if status == 200 and not clusters.get("clusters"):
            return bed.error("ClusterNotFoundException", "Cluster not found.")
        return bed.error("ServiceNotFoundException", "Service not found.")
    wanted = set(body.get("status") or [])
    created = body.get("createdAt") or {}
    deps = [d for d in reversed(svc["deps"]) if (not wanted or d.status in wanted)
            and d.created_at >= float(created.get("after", 0))
            and d.created_at <= float(created.get("before", 1e12))]
    start = int(body.get("nextToken") or 0)
    size = int(body.get("maxResults") or 20)
    page = deps[start:start + size]
    now = bed.now()
    for dep in page:
        ecs_views.count(dep, "ListServiceDeployments", now)
    out = {"serviceDeployments": [ecs_views.brief(d) for d in page]}
    if start + size < len(deps):
        out["nextToken"] = str(start + size)
    return 200, out


def describe_service_deployments(bed, body, _environ):
    found, failures, now = [], [], bed.now()
    for arn in body.get("serviceDeploymentArns") or []:
        dep = _state(bed)["deployments"].get(arn)
        if dep is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        ecs_views.count(dep, "DescribeServiceDeployments", now)
        found.append(ecs_views.service_deployment(dep, now))
    return 200, {"serviceDeployments": found, "failures": failures}


def _deployment(bed, body):
    return _state(bed)["deployments"].get(body.get("serviceDeploymentArn") or "")


def stop_service_deployment(bed, body, _environ):
    dep = _deployment(bed, body)
    if dep is None:
        return bed.error("ServiceDeploymentNotFoundException", "Service deployment not found.")
    stop_type = body.get("stopType") or "ROLLBACK"
    if stop_type not in ("ROLLBACK", "ABORT"):
        return bed.error("InvalidParameterException", f"Invalid stopType {stop_type}.")
    dep.advance(bed.now())
    if dep.status not in lifecycle.STOPPABLE:
        return bed.error("ConflictException", f"The service deployment {dep.arn} is in status "
                         f"{dep.status} and cannot be stopped.")
    dep.stop(bed.now(), stop_type)
    return 200, {"serviceDeploymentArn": dep.arn}


def continue_service_deployment(bed, body, _environ):
    dep = _deployment(bed, body)
    if dep is None:
        return bed.error("ServiceDeploymentNotFoundException", "Service deployment not found.")
    action = body.get("action") or "CONTINUE"
    if action not in ("CONTINUE", "ROLLBACK") or not body.get("hookId"):
        return bed.error("InvalidParameterException",
                         "hookId is required and action must be CONTINUE or ROLLBACK.")
    dep.advance(bed.now())
    problem = dep.continue_hook(bed.now(), body["hookId"], action)
    if problem:
        return bed.error("InvalidParameterException", problem)
    return 200, {"serviceDeploymentArn": dep.arn}


def describe_service_revisions(bed, body, _environ):
    found, failures = [], []
    for arn in body.get("serviceRevisionArns") or []:
        rev = _state(bed)["revisions"].get(arn)
        if rev is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(ecs_views.revision(rev))
    return 200, {"serviceRevisions": found, "failures": failures}


def deployments_control(bed, _method, query, _payload):
    deps = _state(bed)["deployments"].values()
    if query.get("service"):
        deps = [d for d in deps if d.service == query["service"]]
    return 200, {"deployments": [ecs_views.control_view(d) for d in deps]}


def tick(bed, now):
    for dep in _state(bed)["deployments"].values():
        if not dep.terminal:
            dep.advance(now)


def install(bed):
    _state(bed)
    for op, handler in [("CreateService", create_service), ("UpdateService", update_service),
                        ("ListServiceDeployments", list_service_deployments),
                        ("DescribeServiceDeployments", describe_service_deployments),
                        ("StopServiceDeployment", stop_service_deployment),
                        ("ContinueServiceDeployment", continue_service_deployment),
                        ("DescribeServiceRevisions", describe_service_revisions)]:
        bed.add_target(ECS + op, handler)
    bed.add_response_filter(ECS + "DescribeServices", describe_services)
    bed.add_json_control("deployments", deployments_control)
    bed.add_ticker(tick)
