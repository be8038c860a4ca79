"""ALB metrics per target group, generated from scenario knobs, and an evaluator of the metric-math
alarms over them that moves an alarm as CloudWatch would (the package serves the API).

Metrics (namespace AWS/ApplicationELB, dimensions TargetGroup + LoadBalancer): per service
behind those target groups, `requestsPerMinute` production requests (default 600), of which the
share green (the deployment's target revision) serves returns `green5xxPercent` 5xx (from
`green5xxAfterSeconds` after green first gets production traffic) and blue's `blue5xxPercent`.
Green's share is the deployment's production traffic weight over time (lifecycle.Deployment
.traffic). A period's datapoint is visible `metricDelaySeconds` after the period ends (default
60: ALB sends metrics every 60 seconds, the ALB user guide); alarms are evaluated once a minute
(CloudWatch user guide, alarm evaluation), `alarmEvaluationOffsetSeconds` (default 30, the mean
wait: CloudWatch does not document the phase) after the datapoints arrive. ECS acts on an alarm
`alarmReactionSeconds` after it enters ALARM (default 30: not documented, an assumption). All in
ECS time, multiplied by the time scale.
"""

import json
import math
import re
from datetime import datetime, timezone

from bed.plugins import ecs_deployments, scenarios

ACCOUNT = "123456789012"
KNOBS = {
    "requestsPerMinute": "ALB metrics: production requests per minute to the service (default 600)",
    "green5xxPercent": "ALB metrics: percent of green's responses that are 5xx (default 0)",
    "blue5xxPercent": "ALB metrics: percent of blue's responses that are 5xx (default 0)",
    "green5xxAfterSeconds": "seconds after green first gets production traffic that its 5xx "
                            "start (default 0)",
    "metricDelaySeconds": "seconds after a period ends that its datapoint is visible (default 60)",
    "alarmReactionSeconds": "seconds between an alarm entering ALARM and ECS rolling back "
                            "(default 30)",
    "alarmEvaluationOffsetSeconds": "seconds after a minute's datapoints arrive that CloudWatch "
                                    "evaluates the alarm (default 30, the mean of 0..60)",
}


def _utc(t):
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _state(bed):
    return bed.state.setdefault("cloudwatch", {"history": {}, "epoch": bed.now()})


def _backend(region):
    from moto.cloudwatch.models import cloudwatch_backends
    return cloudwatch_backends[ACCOUNT][region]


# -- the metrics ----------------------------------------------------------------------------------
def _services_of(bed, target_group):
    """Services whose load balancers include the target group (dimension `targetgroup/N/ID`)."""
    for svc in ecs_deployments._state(bed)["services"].values():
        for lb in svc.get("loadBalancers") or []:
            arns = [lb.get("targetGroupArn"),
                    (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")]
            if any(a and a.endswith(target_group) for a in arns):
                yield svc, arns


def _knob(dep, name, default):
    return float(dep.knobs.get(name, default)) if dep else default


def _green_share(dep, t):
    """Green's share of production traffic at t (0..1), from the deployment's traffic log."""
    weight = 0.0
    for at, w in dep.traffic:
        if at <= t:
            weight = w
    return weight / 100.0


def _counts(bed, target_group, a, b):
    """(5xx, requests) on `target_group` in [a, b): the service's traffic split by revision, the
    production target group taking blue's share and the alternate green's. Traffic is piecewise
    constant between deployment events, so the integral is exact."""
    errors = requests = 0.0
    for svc, arns in _services_of(bed, target_group):
        is_green_tg = bool(arns[1]) and arns[1].endswith(target_group)
        deps = [d for d in svc["deps"] if d.created_at < b]
        cuts = {a, b}
        for d in deps:
            scale = scenarios.time_scale(bed, d.knobs)
            cuts.update([d.created_at, *(at for at, _ in d.traffic)])
            start = _green_start(d, scale)
            if start is not None:
                cuts.add(start)
        cuts = sorted(c for c in cuts if a <= c <= b)
        for t0, t1 in zip(cuts, cuts[1:]):
            live = [d for d in deps if d.created_at <= t0]
            if not live:
                continue
            dep = live[-1]
            scale = scenarios.time_scale(bed, dep.knobs)
            share = _green_share(dep, t0)
            if share == 0 and not dep.sources:
                continue  # a service's first deployment: no task serves before it scales up
            n = _knob(dep, "requestsPerMinute", 600.0) * (t1 - t0) / (60.0 * scale)
            green_from = _green_start(dep, scale)
            g = _knob(dep, "green5xxPercent", 0.0) / 100.0
            if green_from is None or t0 < green_from:
                g = 0.0
            mine = share if is_green_tg else 1.0 - share
            rate = g if is_green_tg else _knob(dep, "blue5xxPercent", 0.0) / 100.0
            requests += n * mine
            errors += n * mine * rate
    return errors, requests


def _green_start(dep, scale):
    first = next((at for at, w in dep.traffic if w > 0), None)
    if first is None:
        return None
    return first + float(dep.knobs.get("green5xxAfterSeconds", 0)) * scale


# -- metric math ----------------------------------------------------------------------------------
TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


def evaluate(expression, values):
    """A metric-math expression of + - * / ( ), numbers, ids and FILL(id, n). `values` maps an id
    to a number or None (missing); the result is None when missing."""
    tokens = [m.groups() for m in TOKEN.finditer(expression) if any(m.groups())]
    pos = [0]

    def peek():
        return tokens[pos[0]] if pos[0] < len(tokens) else (None, None, None)

    def take():
        tok = peek()
        pos[0] += 1
        return tok

    def atom():
        num, name, op = take()
        if num:
            return float(num)
        if name and name.upper() == "FILL":
            take()  # (
            inner = take()[1]
            take()  # ,
            fill = float(take()[0])
            take()  # )
            value = values.get(inner)
            return fill if value is None else value
        if name:
            return values.get(name)
        if op == "(":
            value = expr()
            take()
            return value
        if op == "-":
            value = atom()
            return None if value is None else -value
        raise ValueError(f"cannot evaluate {expression!r}")

    def term():
        value = atom()
        while peek()[2] in ("*", "/"):
            op, right = take()[2], atom()
            if value is None or right is None or (op == "/" and right == 0):
                value = None
            else:
                value = value * right if op == "*" else value / right
        return value

    def expr():
        value = term()
        while peek()[2] in ("+", "-"):
            op, right = take()[2], term()
            value = None if value is None or right is None else \
                (value + right if op == "+" else value - right)
        return value

    return expr()


def _datapoint(bed, alarm, a, b):
    values = {}
    for query in alarm.metric_data_queries:
        stat = query.metric_stat
        if stat is None:
            continue
        dims = {d.name: d.value for d in stat.metric.dimensions}
        errors, requests = _counts(bed, dims.get("TargetGroup", ""), a, b)
        if requests <= 0:
            values[query.id] = None  # ALB reports nothing without requests
        elif stat.metric.metric_name == "RequestCount":
            values[query.id] = requests
        else:
            values[query.id] = errors if errors > 0 else None  # reported when non-zero
    returned = [q for q in alarm.metric_data_queries if q.expression and
                str(q.return_data).lower() != "false"]
    return evaluate(returned[0].expression, values) if returned else None


def _breaching(alarm, value):
    op, threshold = alarm.comparison_operator, float(alarm.threshold)
    return {"GreaterThanThreshold": value > threshold,
            "GreaterThanOrEqualToThreshold": value >= threshold,
            "LessThanThreshold": value < threshold,
            "LessThanOrEqualToThreshold": value <= threshold}.get(op, False)


def state_at(bed, alarm, t):
    """(state, reason, end of the newest period it saw) of an ALB metric-math alarm at
    evaluation time t."""
    scale, st = bed.time_scale, _state(bed)
    period = float(alarm.period or 60) * scale
    for query in alarm.metric_data_queries:
        if query.metric_stat is not None:
            period = float(query.metric_stat.period) * scale
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    delay = _global_knob(bed, "metricDelaySeconds", 60.0) * scale
    # The newest period k whose datapoint is visible: it ended (epoch + (k+1) * period) at
    # least `delay` before t.
    last = math.floor((t - delay - st["epoch"]) / period) - 1
    points = []
    for k in range(last - n + 1, last + 1):
        a = st["epoch"] + k * period
        points.append(_datapoint(bed, alarm, a, a + period))
    newest = st["epoch"] + (last + 1) * period
    present = [p for p in points if p is not None]
    bad = [p for p in present if _breaching(alarm, p)]
    shown = ", ".join(f"{p:.2f}" for p in present) or "no datapoints"
    if len(bad) >= m:
        return "ALARM", (f"Threshold Crossed: {len(bad)} out of the last {n} datapoints "
                         f"[{shown}] were greater than the threshold ({float(alarm.threshold)}) "
                         f"(minimum {m} datapoints for OK -> ALARM transition)."), newest
    return "OK", (f"Threshold Crossed: {len(bad)} out of the last {n} datapoints [{shown}] "
                  f"were greater than the threshold ({float(alarm.threshold)}); missing data "
                  f"treated as {alarm.treat_missing_data or 'missing'}."), newest


def _global_knob(bed, name, default):
    return float(scenarios.resolve(bed).get(name, default))


def _evaluations(bed, since, until):
    """Evaluation times (once a minute of ECS time) in (since, until], `alarmEvaluationOffset
    Seconds` after the minute's datapoints arrive."""
    step = 60.0 * bed.time_scale
    epoch = _state(bed)["epoch"] + _global_knob(bed, "alarmEvaluationOffsetSeconds", 30.0) \
        * bed.time_scale
    k = math.floor((since - epoch) / step) + 1
    while epoch + k * step <= until:
        yield epoch + k * step
        k += 1


def _alb_alarm(alarm):
    return any(q.metric_stat is not None and q.metric_stat.metric.namespace == "AWS/ApplicationELB"
               for q in alarm.metric_data_queries)


def first_alarm(bed, dep):
    """For lifecycle.Deployment: (time, alarm name, reason) of the first evaluation since the
    deployment started at which one of its alarms is in ALARM, with the traffic as it stands
    (a later traffic change asks again), or None. ECS acts `alarmReactionSeconds` later."""
    region = dep.service_arn.split(":")[3] if getattr(dep, "service_arn", None) else "us-east-1"
    alarms = [a for name, a in _backend(region).alarms.items()
              if name in dep.alarm_names and _alb_alarm(a)]
    if not alarms:
        return None
    key = (tuple(dep.traffic), bed.time_scale,
           tuple((a.name, str(a.configuration_updated_timestamp)) for a in alarms))
    cache = dep.__dict__.setdefault("_cloudwatch_cache", {})
    if key not in cache:
        cache.clear()
        cache[key] = _first_alarm(bed, dep, alarms)
    return cache[key]


def _first_alarm(bed, dep, alarms):
    scale = bed.time_scale
    longest = max(float(a.period or 60) * int(a.evaluation_periods) for a in alarms)
    last_change = max([dep.created_at] + [at for at, _ in dep.traffic])
    delay = _global_knob(bed, "metricDelaySeconds", 60)
    horizon = last_change + (longest + delay + 180) * scale
    for t in _evaluations(bed, dep.created_at, horizon):
        for alarm in alarms:
            state, reason, _ = state_at(bed, alarm, t)
            if state == "ALARM":
                react = _global_knob(bed, "alarmReactionSeconds", 30) * scale
                return t + react, alarm.name, reason
    return None


def tick(bed, now):
    """Moves every ALB alarm through the evaluations due since the last tick."""
    st = _state(bed)
    since = st.get("evaluated", now)
    st["evaluated"] = now
    from moto.cloudwatch.models import cloudwatch_backends
    for region, backend in cloudwatch_backends[ACCOUNT].items():
        for alarm in list(backend.alarms.values()):
            if not _alb_alarm(alarm):
                continue
            for t in _evaluations(bed, since, now):
                state, reason, newest = state_at(bed, alarm, t)
                if state != alarm.state_value:
                    st["history"].setdefault(alarm.name, []).append(
                        {"at": t, "from": alarm.state_value, "to": state, "reason": reason,
                         "periodEnd": newest})
                    alarm.update_state(reason, json.dumps({"version": "1.0"}), state)
                    alarm.state_updated_timestamp = _utc(t)
