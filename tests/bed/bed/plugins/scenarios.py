"""Scenario knobs: how the emulated ECS misbehaves, set per test.

Three sources, later ones winning:
  1. global knobs:        POST /_bed/scenario {"health": "failing"}
  2. scoped knobs:        POST /_bed/scenario {"service": "api", ...}   (a service's deployments)
                          POST /_bed/scenario {"family": "migrate", ...} (RunTask of a family)
  3. the task definition: a container environment variable BED_SCENARIO, a preset name or a JSON
                          object. It describes one revision, so "the new image is broken" needs no
                          control call at all and a rollback to the previous revision is healthy.
Knobs are resolved when a deployment or task starts, so changing them never rewrites history.

    POST /_bed/scenario {"reset": true}          clears everything (or one scope, with service/family)
    GET  /_bed/scenario                           what is set
"""

import json

PRESETS = {
    "healthy": {},
    "failing-health-check": {"health": "failing"},
    "alarm-during-bake": {"alarm": True},
    "hook-fails": {"hookFail": True},
    "slow-scale-up": {"scaleUpSeconds": 120},
}
# name -> what it does; also the list a typo is checked against.
KNOBS = {
    "scenario": "a preset: " + ", ".join(PRESETS),
    "health": "healthy | failing: new tasks fail their health checks (circuit breaker)",
    "taskFailSeconds": "seconds between two failed task launches when failing (default 10)",
    "alarm": "true (the first configured alarm) or an alarm name: goes into ALARM during bake",
    "alarmAfterSeconds": "seconds into BAKE_TIME when the alarm fires (default 60, at most half)",
    "hookFail": "true, a lifecycle stage or a Lambda ARN: those AWS_LAMBDA hooks return FAILED",
    "hookSeconds": "seconds an AWS_LAMBDA hook runs (default 5)",
    "scaleUpSeconds": "seconds SCALE_UP takes (default 20)",
    "rollbackSeconds": "seconds ROLLBACK_IN_PROGRESS lasts (default 10; a real one replaces "
                       "tasks and shifts traffic back, often minutes)",
    "timeScale": "this scope's time scale, instead of the bed's",
    "pendingSeconds": "seconds a service deployment stays PENDING before IN_PROGRESS (default 1)",
    "rollingStages": "true: ROLLING deployments report lifecycleStage (default: none, as the "
                     "model describes stages for blue/green only)",
    "blueGreenBakeDefault": "minutes: BLUE_GREEN without bakeTimeInMinutes gets this instead of "
                            "InvalidParameterException (the model says it is required)",
    "exitCode": "RunTask: the essential container's exit code (env BED_EXIT_CODE)",
    "runSeconds": "RunTask: seconds the container runs (env BED_RUN_SECONDS, default 3)",
    "logLines": "RunTask: list of log lines, or one string split on newlines (env BED_LOG_LINES)",
    "startFailure": "RunTask: CannotPullContainerError | ResourceInitializationError "
                    "(env BED_START_FAILURE): the task stops before running, no exit code",
    "logLagSeconds": "RunTask: seconds between a container writing a log line and CloudWatch "
                     "Logs returning it (default 0); the last lines then arrive after STOPPED",
    "runTaskFailures": "RunTask: a list of failure reasons (RESOURCE:MEMORY, AGENT, 'Capacity is "
                       "unavailable at this time. ...'); the family's next RunTask calls answer "
                       "one each in failures[] and start no task, then tasks start again",
}


def parse(value):
    """A BED_SCENARIO value (preset name or JSON object) as knobs."""
    value = (value or "").strip()
    if not value:
        return {}
    if value.startswith("{"):
        knobs = json.loads(value)
    else:
        knobs = {"scenario": value}
    return expand(knobs)


def expand(knobs):
    if not isinstance(knobs, dict):
        raise ValueError("a scenario is a JSON object of knobs")
    unknown = sorted(set(knobs) - set(KNOBS) - {"service", "family", "reset"})
    if unknown:
        raise ValueError(f"unknown scenario knob(s) {unknown}; known: {sorted(KNOBS)}")
    out = {}
    if "scenario" in knobs:
        if knobs["scenario"] not in PRESETS:
            raise ValueError(f"unknown scenario {knobs['scenario']!r}; presets: {sorted(PRESETS)}")
        out.update(PRESETS[knobs["scenario"]])
    out.update({k: v for k, v in knobs.items() if k not in ("scenario", "service", "family", "reset")})
    return out


def _store(bed):
    return bed.state.setdefault("scenarios", {"global": {}, "service": {}, "family": {}})


def resolve(bed, service=None, family=None, env_values=()):
    """The knobs for a deployment of `service` or a task of `family`; env_values are the
    BED_SCENARIO values found in the task definition."""
    store = _store(bed)
    knobs = dict(store["global"])
    if service:
        knobs.update(store["service"].get(service, {}))
    if family:
        knobs.update(store["family"].get(family, {}))
    for value in env_values:
        knobs.update(parse(value))
    return knobs


def time_scale(bed, knobs):
    scale = knobs.get("timeScale")
    return float(scale) if scale else bed.time_scale


def control(bed, method, _query, payload):
    store = _store(bed)
    if method == "POST":
        if not isinstance(payload, dict):
            raise ValueError("expected a JSON object")
        if "service" in payload:
            scope = store["service"].setdefault(payload["service"], {})
        elif "family" in payload:
            scope = store["family"].setdefault(payload["family"], {})
        else:
            scope = store["global"]
        if payload.get("reset"):
            if scope is store["global"] and "service" not in payload and "family" not in payload:
                store.update({"global": {}, "service": {}, "family": {}})
            else:
                scope.clear()
        else:
            scope.update(expand(payload))
    return 200, {**store, "knobs": KNOBS, "presets": PRESETS}


def install(bed):
    bed.add_json_control("scenario", control)
