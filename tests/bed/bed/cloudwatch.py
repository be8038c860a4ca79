"""CloudWatch for the bed: the smithy-rpc-v2-cbor protocol bridged onto moto's CloudWatch, ALB
metrics per target group generated from scenario knobs, and an evaluator of metric-math alarms
that moves an alarm to ALARM as CloudWatch would. The ECS emulation (lifecycle.py) asks
`first_alarm` when an attached deployment alarm fires and rolls back.

aws-sdk-cloudwatch speaks smithy-rpc-v2-cbor (POST /service/GraniteServiceVersion20100801/
operation/<Op>, CBOR in and out), which moto 5.2 does not: requests are decoded here and answered
from moto's CloudWatch backend (alarms and tags live there), in CBOR. Operations: PutMetricAlarm,
DescribeAlarms, DeleteAlarms, DescribeAlarmHistory, TagResource, ListTagsForResource.

As CloudWatch does, and moto does not: PutMetricAlarm on an existing alarm keeps its state and
ignores Tags (AWS API reference, PutMetricAlarm).

Metrics (namespace AWS/ApplicationELB, dimensions TargetGroup + LoadBalancer): per service
behind those target groups, `requestsPerMinute` production requests (default 600), of which the
share green (the deployment's target revision) serves returns `green5xxPercent` 5xx (from `green5xxAfterSeconds` after green first
gets production traffic) and blue's `blue5xxPercent`. Green's share is the deployment's
production traffic weight over time. A period's datapoint is visible `metricDelaySeconds` after
the period ends (default 60: ALB sends metrics every 60 seconds, the ALB user guide); alarms are
evaluated once a minute (CloudWatch user guide, alarm evaluation),
`alarmEvaluationOffsetSeconds` (default 30, the mean wait: CloudWatch does not document the
phase) after the datapoints arrive. ECS acts on an alarm `alarmReactionSeconds` after it enters
ALARM (default 30: not documented, an assumption). All in ECS time, multiplied by the time scale.

Control: POST /_bed/alb {"name": "api"} makes an ALB with target groups NAME-blue and NAME-green
(listeners on 80 and 8080) in moto and returns their ARNs; GET /_bed/alarms -> alarms with state
and history.
"""

import json
import math
import re
from datetime import datetime, timezone

import cbor2

from bed import ecs_deployments, lifecycle, scenarios
from bed.server import json_control

PREFIX = "/service/GraniteServiceVersion20100801/operation/"
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


# -- smithy-rpc-v2-cbor -----------------------------------------------------------------------
def _error(code, message, status=400):
    return status, {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}


def _queries(metrics):
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat
    out = []
    for q in metrics or []:
        stat = q.get("MetricStat")
        metric_stat = None
        if stat:
            m = stat.get("Metric") or {}
            metric_stat = MetricStat(
                metric=Metric(metric_name=m.get("MetricName"), namespace=m.get("Namespace"),
                              dimensions=[Dimension(d.get("Name"), d.get("Value"))
                                          for d in m.get("Dimensions") or []]),
                period=stat.get("Period"), stat=stat.get("Stat"), unit=stat.get("Unit"))
        out.append(MetricDataQuery(query_id=q.get("Id"), label=q.get("Label"),
                                   period=q.get("Period"),
                                   return_data=q.get("ReturnData", True),
                                   expression=q.get("Expression"), metric_stat=metric_stat))
    return out


def put_metric_alarm(bed, backend, body):
    name = body.get("AlarmName")
    if not name or body.get("EvaluationPeriods") is None or not body.get("ComparisonOperator"):
        return _error("InvalidParameterValue", "AlarmName, EvaluationPeriods and "
                      "ComparisonOperator are required.")
    old = backend.alarms.get(name)
    alarm = backend.put_metric_alarm(
        name=name, namespace=body.get("Namespace"), metric_name=body.get("MetricName"),
        comparison_operator=body["ComparisonOperator"],
        evaluation_periods=int(body["EvaluationPeriods"]), period=body.get("Period"),
        threshold=body.get("Threshold"), statistic=body.get("Statistic"),
        description=body.get("AlarmDescription"), dimensions=body.get("Dimensions") or [],
        alarm_actions=body.get("AlarmActions") or [],
        metric_data_queries=_queries(body.get("Metrics")),
        datapoints_to_alarm=body.get("DatapointsToAlarm"),
        treat_missing_data=body.get("TreatMissingData"),
        actions_enabled=body.get("ActionsEnabled", True),
        # CloudWatch ignores Tags when the alarm exists (PutMetricAlarm, API reference).
        tags=None if old else body.get("Tags"))
    if old:  # an update keeps the state (moto would reset it)
        alarm.state_value, alarm.state_reason = old.state_value, old.state_reason
        alarm.state_updated_timestamp, alarm.history = old.state_updated_timestamp, old.history
    else:
        alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"
    return 200, {}


def _alarm_view(alarm):
    def ts(value):
        return value if isinstance(value, datetime) and value.tzinfo else \
            (value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) else value)

    metrics = []
    for q in alarm.metric_data_queries:
        item = {"Id": q.id, "ReturnData": str(q.return_data).lower() != "false"}
        if q.expression:
            item["Expression"] = q.expression
        if q.label:
            item["Label"] = q.label
        if q.metric_stat:
            m = q.metric_stat.metric
            item["MetricStat"] = {
                "Metric": {"Namespace": m.namespace, "MetricName": m.metric_name,
                           "Dimensions": [{"Name": d.name, "Value": d.value}
                                          for d in m.dimensions]},
                "Period": int(q.metric_stat.period), "Stat": q.metric_stat.stat}
        metrics.append(item)
    view = {"AlarmName": alarm.name, "AlarmArn": alarm.alarm_arn,
            "AlarmDescription": alarm.description or "", "StateValue": alarm.state_value,
            "StateReason": alarm.state_reason,
            "StateUpdatedTimestamp": ts(alarm.state_updated_timestamp),
            "AlarmConfigurationUpdatedTimestamp": ts(alarm.configuration_updated_timestamp),
            "ComparisonOperator": alarm.comparison_operator,
            "EvaluationPeriods": int(alarm.evaluation_periods),
            "Threshold": float(alarm.threshold) if alarm.threshold is not None else None,
            "ActionsEnabled": bool(alarm.actions_enabled), "Metrics": metrics}
    if alarm.datapoints_to_alarm is not None:
        view["DatapointsToAlarm"] = int(alarm.datapoints_to_alarm)
    if alarm.treat_missing_data:
        view["TreatMissingData"] = alarm.treat_missing_data
    return {k: v for k, v in view.items() if v is not None}


def describe_alarms(bed, backend, body):
    names = body.get("AlarmNames") or []
    prefix = body.get("AlarmNamePrefix")
    alarms = [a for a in backend.alarms.values() if a.rule is None
              and (not names or a.name in names) and (not prefix or a.name.startswith(prefix))]
    return 200, {"MetricAlarms": [_alarm_view(a) for a in alarms], "CompositeAlarms": []}


def delete_alarms(bed, backend, body):
    for name in body.get("AlarmNames") or []:
        alarm = backend.alarms.pop(name, None)
        if alarm is not None:
            backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)
    return 200, {}


def describe_alarm_history(bed, backend, body):
    name = body.get("AlarmName")
    start = body.get("StartDate")
    start = start.timestamp() if isinstance(start, datetime) else float(start or 0)
    items = []
    for change in _state(bed)["history"].get(name, []):
        if change["at"] < start:
            continue
        items.append({"AlarmName": name, "AlarmType": "MetricAlarm",
                      "Timestamp": _utc(change["at"]), "HistoryItemType": "StateUpdate",
                      "HistorySummary": f"Alarm updated from {change['from']} to {change['to']}",
                      "HistoryData": json.dumps({"oldState": {"stateValue": change["from"]},
                                                 "newState": {"stateValue": change["to"],
                                                              "stateReason": change["reason"]}})})
    items.sort(key=lambda i: i["Timestamp"], reverse=True)
    return 200, {"AlarmHistoryItems": items}


def _alarm_by_arn(backend, arn):
    return next((a for a in backend.alarms.values() if a.alarm_arn == arn), None)


def list_tags_for_resource(bed, backend, body):
    arn = body.get("ResourceARN") or ""
    if _alarm_by_arn(backend, arn) is None:
        return _error("ResourceNotFoundException", f"{arn} not found", 404)
    tags = backend.list_tags_for_resource(arn)
    return 200, {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def tag_resource(bed, backend, body):
    arn = body.get("ResourceARN") or ""
    if _alarm_by_arn(backend, arn) is None:
        return _error("ResourceNotFoundException", f"{arn} not found", 404)
    backend.tagger.tag_resource(arn, body.get("Tags") or [])
    return 200, {}


OPERATIONS = {"PutMetricAlarm": put_metric_alarm, "DescribeAlarms": describe_alarms,
              "DeleteAlarms": delete_alarms, "DescribeAlarmHistory": describe_alarm_history,
              "ListTagsForResource": list_tags_for_resource, "TagResource": tag_resource}


def _region(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split(",")[0].split("/")[2]
    except IndexError:
        return "us-east-1"


def handle(bed, environ, raw):
    op = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
    handler = OPERATIONS.get(op)
    try:
        body = cbor2.loads(raw) if raw else {}
    except Exception as err:  # noqa: BLE001 - any decode failure is the client's
        status, out = _error("SerializationException", f"cannot decode CBOR: {err}")
    else:
        if handler is None:
            status, out = _error("UnknownOperationException",
                                 f"the bed's CloudWatch does not emulate {op}")
        else:
            status, out = handler(bed, _backend(_region(environ)), body or {})
    data = cbor2.dumps(out, datetime_as_timestamp=True, timezone=timezone.utc)
    return status, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                    ("Content-Length", str(len(data)))], data


# -- controls ---------------------------------------------------------------------------------
def alb_control(bed, method, _query, payload):
    """Makes an ALB with a blue and a green target group in moto (a test's set-up)."""
    if method != "POST":
        return 405, {"error": "POST {\"name\": ...}"}
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends
    name, region = payload["name"], payload.get("region", "us-east-1")
    ec2, elb = ec2_backends[ACCOUNT][region], elbv2_backends[ACCOUNT][region]
    vpc = ec2.get_default_vpc()
    subnets = [s.id for s in ec2.describe_subnets() if s.vpc_id == vpc.id][:2]
    lb = elb.create_load_balancer(name=name, security_groups=[], subnet_ids=subnets,
                                  loadbalancer_type="application")
    groups = []
    for color, port in (("blue", "80"), ("green", "8080")):
        tg = elb.create_target_group(f"{name}-{color}", protocol="HTTP", port=8080,
                                     vpc_id=vpc.id, target_type="ip")
        elb.create_listener(load_balancer_arn=lb.arn, protocol="HTTP", port=port, ssl_policy=None,
                            certificate=None,
                            actions=[{"Type": "forward", "TargetGroupArn": tg.arn}])
        groups.append(tg.arn)
    return 200, {"loadBalancerArn": lb.arn, "targetGroupArns": groups}


def alarms_control(bed, _method, _query, _payload):
    """Every alarm with its state history (`periodEnd`: the end of the newest period the
    evaluation saw), and every deployment's production traffic log (epoch seconds), for
    bench/recovery.py."""
    from moto.cloudwatch.models import cloudwatch_backends
    deployments = [{"arn": d.arn, "service": d.service, "status": d.status,
                    "createdAt": d.created_at, "traffic": d.traffic,
                    "rollbackStartedAt": (d.rollback or {}).get("startedAt"),
                    "terminalAt": d.terminal_at}
                   for d in ecs_deployments._state(bed)["deployments"].values()]
    out = []
    for region, backend in cloudwatch_backends[ACCOUNT].items():
        for alarm in backend.alarms.values():
            out.append({"name": alarm.name, "region": region, "state": alarm.state_value,
                        "reason": alarm.state_reason,
                        "history": _state(bed)["history"].get(alarm.name, [])})
    return 200, {"alarms": out, "deployments": deployments, "timeScale": bed.time_scale,
                 "metricDelaySeconds": _global_knob(bed, "metricDelaySeconds", 60.0)}


def install(bed):
    _state(bed)
    scenarios.KNOBS.update(KNOBS)
    bed.add_path(PREFIX, handle)
    bed.add_ticker(tick)
    bed.add_control("alb", json_control(alb_control))
    bed.add_control("alarms", json_control(alarms_control))
    lifecycle.ALARM_WATCHERS.append(lambda dep: first_alarm(bed, dep))
