"""JSON views of the bed's service deployments, in the field names of the ECS API model.

Timestamps are epoch seconds (the awsJson1_1 protocol); the control view uses epoch ms.
"""

ROLLED_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL")
MAX_EVENTS = 100


def _config(dep_or_config):
    config = dict(dep_or_config)
    config.setdefault("strategy", "ROLLING")
    config.setdefault("maximumPercent", 200)
    config.setdefault("minimumHealthyPercent", 100)
    config.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    return config


def _drop_none(d):
    return {k: v for k, v in d.items() if v is not None}


def current_task_definition(svc):
    """The task definition the service runs (or converges to) now."""
    if not svc["deps"]:
        return None
    dep = svc["deps"][-1]
    if dep.status in ROLLED_BACK and dep.sources:
        return dep.sources[-1]["taskDefinition"]
    return dep.target["taskDefinition"]


def count(dep, operation, now):
    dep.calls[operation] = dep.calls.get(operation, 0) + 1
    if dep.terminal and dep.terminal_seen_at is None:
        dep.terminal_seen_at = now


def _ecs_deployment(svc, dep, rev, status, counts, state, reason, now):
    requested, running, pending = counts
    return _drop_none({
        "id": rev["ecsId"], "status": status, "taskDefinition": rev["taskDefinition"],
        "desiredCount": requested, "runningCount": running, "pendingCount": pending,
        "failedTasks": dep.failure_count(now) if rev is dep.target else 0,
        "createdAt": rev["createdAt"], "updatedAt": dep.updated_at,
        "launchType": svc.get("launchType"), "platformVersion": svc.get("platformVersion"),
        "networkConfiguration": svc.get("networkConfiguration"),
        "rolloutState": state, "rolloutStateReason": reason,
    })


def ecs_deployments(svc, now):
    """DescribeServices `deployments[]`: PRIMARY first, then ACTIVE ones still running."""
    dep = svc["deps"][-1]
    target, source = dep.counts(now)
    src = dep.sources[-1] if dep.sources else None
    in_progress = f"ECS deployment {dep.ecs_id} in progress."
    if dep.status in ("PENDING", "IN_PROGRESS"):
        out = [_ecs_deployment(svc, dep, dep.target, "PRIMARY", target, "IN_PROGRESS", in_progress, now)]
        if src and source[0]:
            out.append(_ecs_deployment(svc, dep, src, "ACTIVE", source, "COMPLETED",
                                       f"ECS deployment {src['ecsId']} completed.", now))
        return out
    if dep.status == "SUCCESSFUL":
        return [_ecs_deployment(svc, dep, dep.target, "PRIMARY", target, "COMPLETED",
                                dep.rollout_reason, now)]
    if dep.status in ROLLED_BACK and src:
        done = dep.status == "ROLLBACK_SUCCESSFUL"
        out = [_ecs_deployment(svc, dep, src, "PRIMARY", source,
                               "COMPLETED" if done else "IN_PROGRESS",
                               f"ECS deployment {src['ecsId']} {'completed' if done else 'in progress'}.", now)]
        if not done:
            out.append(_ecs_deployment(svc, dep, dep.target, "ACTIVE", target, "FAILED",
                                       dep.rollout_reason, now))
        return out
    # STOPPED, STOP_REQUESTED, ROLLBACK_FAILED: ECS leaves what runs where it is.
    reason = dep.rollout_reason or f"ECS deployment {dep.ecs_id} stopped."
    out = [_ecs_deployment(svc, dep, dep.target, "PRIMARY", target, "FAILED", reason, now)]
    if src and source[0]:
        out.append(_ecs_deployment(svc, dep, src, "ACTIVE", source, "COMPLETED",
                                   f"ECS deployment {src['ecsId']} completed.", now))
    return out


def merge_service(service_json, svc, now, count_call):
    """Rewrites moto's service object with what the bed knows."""
    service_json["deploymentConfiguration"] = _config(svc["config"])
    if svc["loadBalancers"]:
        service_json["loadBalancers"] = svc["loadBalancers"]
    service_json["desiredCount"] = svc["desired"]
    # Newest first; events logged at the same instant keep their order reversed too (a stable
    # ascending sort, then reversed), so "steady state" comes before "deployment completed".
    service_json["events"] = sorted(svc["events"], key=lambda e: e["createdAt"])[::-1][:MAX_EVENTS]
    if not svc["deps"]:
        return
    dep = svc["deps"][-1]
    dep.advance(now)
    if count_call:
        count(dep, "DescribeServices", now)
    service_json["taskDefinition"] = current_task_definition(svc)
    service_json["deployments"] = ecs_deployments(svc, now)
    service_json["runningCount"] = sum(d["runningCount"] for d in service_json["deployments"])
    service_json["pendingCount"] = sum(d["pendingCount"] for d in service_json["deployments"])


def _summary(rev, counts, weights):
    requested, running, pending = counts
    out = {"arn": rev["arn"], "requestedTaskCount": requested, "runningTaskCount": running,
           "pendingTaskCount": pending}
    if weights is not None:
        out["requestedTestTrafficWeight"], out["requestedProductionTrafficWeight"] = weights
    return out


def _monitor(enabled, triggered, terminal):
    if not enabled:
        return "DISABLED"
    if triggered:
        return "TRIGGERED"
    return "MONITORING_COMPLETE" if terminal else "MONITORING"


def service_deployment(dep, now):
    target, source = dep.counts(now)
    rolling = dep.strategy == "ROLLING"
    weights = None if rolling else (dep.test_weight, dep.prod_weight)
    # The last source revision is the one serving; older ones (a reconcile) are draining.
    sources = []
    for i, rev in enumerate(dep.sources):
        last = i == len(dep.sources) - 1
        src_weights = (100.0 - dep.test_weight, 100.0 - dep.prod_weight) if last else (0.0, 0.0)
        sources.append(_summary(rev, source if last else (0, 0, 0),
                                None if rolling else src_weights))
    # Only the current stage's hooks: ECS does not keep a list of every hook ever run.
    hooks = [_drop_none({"hookId": r["hookId"], "targetType": r["targetType"],
                         "targetArn": r.get("targetArn"), "status": r["status"],
                         "expiresAt": r["expiresAt"], "timeoutAction": r["timeoutAction"]})
             for r in dep.active_runs]
    return _drop_none({
        "serviceDeploymentArn": dep.arn, "serviceArn": dep.service_arn,
        "clusterArn": dep.cluster_arn, "createdAt": dep.created_at, "startedAt": dep.started_at,
        "finishedAt": dep.finished_at, "stoppedAt": dep.stopped_at, "updatedAt": dep.updated_at,
        "sourceServiceRevisions": sources,
        "targetServiceRevision": _summary(dep.target, target, weights),
        "status": dep.status, "statusReason": dep.status_reason,
        "lifecycleStage": dep.reported_stage, "lifecycleHookDetails": hooks or None,
        "deploymentConfiguration": _config(dep.config), "rollback": dep.rollback,
        "deploymentCircuitBreaker": {
            "status": _monitor(dep.cb_enabled, dep.failed_kind == "circuit breaker", dep.terminal),
            "failureCount": dep.failure_count(now), "threshold": dep.threshold},
        "alarms": {"status": _monitor(bool(dep.alarm_names), bool(dep.triggered_alarms),
                                      dep.terminal),
                   "alarmNames": dep.alarm_names, "triggeredAlarmNames": dep.triggered_alarms},
    })


def brief(dep):
    return _drop_none({
        "serviceDeploymentArn": dep.arn, "serviceArn": dep.service_arn,
        "clusterArn": dep.cluster_arn, "startedAt": dep.started_at, "createdAt": dep.created_at,
        "finishedAt": dep.finished_at, "targetServiceRevisionArn": dep.target["arn"],
        "status": dep.status, "statusReason": dep.status_reason,
    })


def revision(rev):
    svc = rev["service"]
    return _drop_none({
        "serviceRevisionArn": rev["arn"], "serviceArn": svc["arn"],
        "clusterArn": svc["clusterArn"], "taskDefinition": rev["taskDefinition"],
        "launchType": svc.get("launchType"), "platformVersion": svc.get("platformVersion"),
        "loadBalancers": svc["loadBalancers"] or None,
        "networkConfiguration": svc.get("networkConfiguration"),
        "guardDutyEnabled": False, "createdAt": rev["createdAt"],
    })


def _ms(t):
    return None if t is None else int(round(t * 1000))


def control_view(dep):
    return {
        "arn": dep.arn, "service": dep.service, "cluster": dep.cluster, "strategy": dep.strategy,
        "status": dep.status, "statusReason": dep.status_reason,
        "lifecycleStage": dep.stage if dep.started_at is not None else None,
        "createdAt": _ms(dep.created_at), "terminalAt": _ms(dep.terminal_at),
        "terminalSeenAt": _ms(dep.terminal_seen_at),
        "stages": [{"stage": h["stage"], "at": _ms(h["at"])} for h in dep.history],
        "hooks": [{"hookId": r["hookId"], "targetType": r["targetType"], "stage": r["stage"],
                   "status": r["status"]} for r in dep.hook_runs],
        "busy": dep.busy(),
        "describeCalls": {**dep.calls, "total": sum(dep.calls.values())},
        "knobs": dep.knobs,
    }
