"""ECS API throttling: per-account token buckets by API action category, as ECS applies them.

Off until asked. POST /_bed/throttle (GET shows the settings and the counters):

    {"preset": "ecs" | "off",          "ecs": the documented buckets below (the default preset)
     "scale": 1.0,                     multiplies every bucket's burst and refill rate
     "buckets": {"task-definition-modify": {"burst": 4, "rate": 2}, ...},
                                       replaces single categories (after `scale`)
     "concurrentRevisionSeconds": 0.25,
                                       how long a RegisterTaskDefinition holds its family; another
                                       registration of that family meanwhile gets ECS's
                                       `ClientException: Too many concurrent attempts ...`; 0: never
     "reset": true}                    zeroes the counters and refills the buckets

Buckets and their refill run in wall-clock time, not in the bed's time scale: the clients'
backoff is wall-clock time too. Each request of an action in a category takes one token from the
category's bucket; an empty bucket answers 400 `ThrottlingException: Rate exceeded` and the
request goes no further (moto never sees it).

Source of the preset: Amazon ECS API Reference, "Request throttling for the Amazon ECS API",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html (burst = bucket
maximum capacity, rate = refill per second, per account and Region). ECS documents no bucket for
ContinueServiceDeployment and StopServiceDeployment, so they are not throttled here. ECS does not
document how long a registration holds its family: `concurrentRevisionSeconds` is a knob.
"""

import time

ECS_PREFIX = "AmazonEC2ContainerServiceV20141113."
CONCURRENT_REVISION = ("Too many concurrent attempts to create a new revision of the specified "
                       "family.")

# category: (burst, refill per second, actions)
ECS_BUCKETS = {
    "cluster-modify": (20, 1, ["CreateCluster", "DeleteCluster", "PutClusterCapacityProviders",
                               "UpdateCluster", "UpdateClusterSettings"]),
    "cluster-read": (50, 20, ["DescribeClusters", "ListClusters"]),
    "task-definition-modify": (20, 1, ["DeregisterTaskDefinition", "RegisterTaskDefinition"]),
    "task-definition-read": (50, 20, ["DescribeTaskDefinition", "ListTaskDefinitions",
                                      "ListTaskDefinitionFamilies"]),
    "task-definition-deletion": (5, 1, ["DeleteTaskDefinitions"]),
    "capacity-provider-modify": (10, 1, ["CreateCapacityProvider", "DeleteCapacityProvider",
                                         "UpdateCapacityProvider"]),
    "capacity-provider-read": (50, 20, ["DescribeCapacityProviders"]),
    "tag-modify": (20, 10, ["TagResource", "UntagResource"]),
    "tag-read": (50, 20, ["ListTagsForResource"]),
    "setting-modify": (10, 1, ["DeleteAccountSetting", "PutAccountSetting",
                               "PutAccountSettingDefault"]),
    "setting-read": (50, 20, ["ListAccountSettings"]),
    "cluster-resource-modify": (100, 40, ["DeleteAttributes", "DeregisterContainerInstance",
                                          "ExecuteCommand", "PutAttributes", "RunTask",
                                          "StartTask", "StopTask", "UpdateContainerAgent",
                                          "UpdateContainerInstancesState"]),
    "cluster-resource-read": (100, 20, ["DescribeContainerInstances", "DescribeTasks",
                                        "ListAttributes", "ListContainerInstances", "ListTasks"]),
    "service-modify": (50, 5, ["CreateService", "DeleteService", "UpdateService"]),
    "service-read": (100, 20, ["DescribeServices", "ListServices"]),
    "service-deployment": (50, 20, ["DescribeServiceDeployments", "ListServiceDeployments"]),
    "service-revision": (50, 20, ["DescribeServiceRevisions"]),
    "task-protection": (200, 80, ["UpdateTaskProtection", "GetTaskProtection"]),
    "cluster-service-resource-read": (10, 1, ["ListServicesByNamespace"]),
}
DEFAULT_CONCURRENT_REVISION_SECONDS = 0.25


class Bucket:
    def __init__(self, burst, rate):
        if burst < 1 or rate <= 0:
            raise ValueError("a bucket needs burst >= 1 and rate > 0")
        self.burst, self.rate = float(burst), float(rate)
        self.tokens, self.at = self.burst, time.monotonic()

    def take(self, now):
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _state(bed):
    return bed.state.setdefault("throttle", {"on": False, "buckets": {}, "settings": {},
                                             "busy": {}, "counters": _zero()})


def _zero():
    return {"allowed": {}, "throttled": {}, "concurrentRevision": 0}


def _configure(state, payload):
    unknown = set(payload) - {"preset", "scale", "buckets", "concurrentRevisionSeconds", "reset"}
    if unknown:
        raise ValueError(f"unknown throttle knobs {sorted(unknown)}; known: preset, scale, "
                         "buckets, concurrentRevisionSeconds, reset")
    if payload.get("reset"):
        state["counters"], state["busy"] = _zero(), {}
        for name, bucket in state["buckets"].items():
            state["buckets"][name] = Bucket(bucket.burst, bucket.rate)
    if "preset" not in payload and "buckets" not in payload and "scale" not in payload and \
            "concurrentRevisionSeconds" not in payload:
        return
    preset = payload.get("preset", "ecs")
    if preset == "off":
        state.update(on=False, buckets={}, settings={"preset": "off"})
        return
    if preset != "ecs":
        raise ValueError("preset must be `ecs` (ECS's documented buckets) or `off`")
    scale = float(payload.get("scale", 1.0))
    if scale <= 0:
        raise ValueError("scale must be > 0")
    limits = {name: (max(1.0, burst * scale), rate * scale)
              for name, (burst, rate, _) in ECS_BUCKETS.items()}
    for name, override in (payload.get("buckets") or {}).items():
        if name not in ECS_BUCKETS:
            raise ValueError(f"unknown bucket `{name}`; known: {sorted(ECS_BUCKETS)}")
        limits[name] = (float(override["burst"]), float(override["rate"]))
    seconds = float(payload.get("concurrentRevisionSeconds", DEFAULT_CONCURRENT_REVISION_SECONDS))
    state.update(on=True, buckets={n: Bucket(b, r) for n, (b, r) in limits.items()}, busy={},
                 settings={"preset": "ecs", "scale": scale, "concurrentRevisionSeconds": seconds,
                           "buckets": {n: {"burst": b, "rate": r} for n, (b, r) in
                                       limits.items()}})


def control(bed, method, _query, payload):
    state = _state(bed)
    if method == "POST":
        _configure(state, payload)
    return 200, {"on": state["on"], **state["settings"], **state["counters"]}


def _category(action):
    for name, (_, _, actions) in ECS_BUCKETS.items():
        if action in actions:
            return name
    return None


def gate(bed, target, body, _environ):
    state = _state(bed)
    if not state["on"] or not target.startswith(ECS_PREFIX):
        return None
    action = target[len(ECS_PREFIX):]
    counters, now = state["counters"], time.monotonic()
    category = _category(action)
    bucket = state["buckets"].get(category)
    if bucket is not None and not bucket.take(now):
        counters["throttled"][action] = counters["throttled"].get(action, 0) + 1
        return bed.error("ThrottlingException", "Rate exceeded")
    if action == "RegisterTaskDefinition":
        family = str(body.get("family", ""))
        if now < state["busy"].get(family, 0.0):
            counters["concurrentRevision"] += 1
            return bed.error("ClientException", CONCURRENT_REVISION)
        state["busy"][family] = now + state["settings"].get("concurrentRevisionSeconds", 0.0)
    counters["allowed"][action] = counters["allowed"].get(action, 0) + 1
    return None


def install(bed):
    _state(bed)
    bed.add_gate(gate)
    bed.add_json_control("throttle", control)
