"""CloudWatch for the bed: aws-sdk-cloudwatch speaks smithy-rpc-v2-cbor (POST /service/
GraniteServiceVersion20100801/operation/<Op>, CBOR in and out), which moto 5.2 does not: requests
are decoded here and answered from moto's CloudWatch backend (alarms and tags live there), in
CBOR. Operations: PutMetricAlarm, DescribeAlarms, DeleteAlarms, DescribeAlarmHistory,
TagResource, ListTagsForResource. As CloudWatch does, and moto does not: PutMetricAlarm on an
existing alarm keeps its state and ignores Tags (AWS API reference, PutMetricAlarm).

The ALB metrics and the alarm evaluator are alb_metrics here; the ECS emulation (lifecycle)
asks it when an attached deployment alarm fires, and rolls back.

Control: POST /_bed/alb {"name": "api"} makes an ALB with target groups NAME-blue and NAME-green
(listeners on 80 and 8080) in moto and returns their ARNs; GET /_bed/alarms -> alarms with state
and history, and every deployment's production traffic log (for bench/recovery.py).
"""

import json
from datetime import datetime, timezone

import cbor2

from bed.models import lifecycle
from bed.plugins import ecs_deployments, scenarios
from bed.plugins.cloudwatch import alb_metrics
from bed.plugins.cloudwatch.alb_metrics import ACCOUNT, _backend, _global_knob, _state, _utc

PREFIX = "/service/GraniteServiceVersion20100801/operation/"


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
                 "epoch": _state(bed)["epoch"],
                 "metricDelaySeconds": _global_knob(bed, "metricDelaySeconds", 60.0)}


def install(bed):
    _state(bed)
    scenarios.KNOBS.update(alb_metrics.KNOBS)
    bed.add_path(PREFIX, handle)
    bed.add_ticker(alb_metrics.tick)
    bed.add_json_control("alb", alb_control)
    bed.add_json_control("alarms", alarms_control)
    lifecycle.ALARM_WATCHERS.append(lambda dep: alb_metrics.first_alarm(bed, dep))
