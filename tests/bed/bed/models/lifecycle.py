"""One ECS service deployment as a state machine that advances with wall-clock time.

A deployment is a plan of segments (a lifecycle stage, how long it takes, the hooks that run at
its end). `advance(now)` replays every event whose time has come, at the exact time it was due,
so timestamps (and `terminalAt`) do not depend on how often anyone looks. Durations are the
emulator's idea of a realistic ECS, multiplied by the time scale in force when a segment starts.
"""

import math
import uuid

# Base durations in seconds, before the time scale.
STAGE_SECONDS = {
    "RECONCILE_SERVICE": 2, "PRE_SCALE_UP": 2, "SCALE_UP": 20, "POST_SCALE_UP": 2,
    "TEST_TRAFFIC_SHIFT": 5, "POST_TEST_TRAFFIC_SHIFT": 2, "PRODUCTION_TRAFFIC_SHIFT": 5,
    "POST_PRODUCTION_TRAFFIC_SHIFT": 2, "CLEAN_UP": 5,
}
ROLLBACK_REQUESTED_SECONDS, ROLLBACK_SECONDS = 1, 10
# A service deployment is PENDING before ECS starts it (ServiceDeployment.status: "PENDING").
PENDING_SECONDS = 1
# StopServiceDeployment is taken in these states (developer guide, "Stopping Amazon ECS service
# deployments"); in the last three the stop or rollback under way just goes on.
STOPPABLE = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED",
             "ROLLBACK_IN_PROGRESS")
TERMINAL = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
# CloudWatch alarms that move by themselves (bed.plugins.cloudwatch): fn(deployment) -> (time, alarm
# name, reason) when one of the deployment's alarms goes into ALARM, else None.
ALARM_WATCHERS = []
DEFAULTS = {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10,
            "stepPercent": 10.0, "stepBakeTimeInMinutes": 6}


def circuit_threshold(desired):
    # ECS: half the desired count, at least 3, at most 200.
    return min(max(math.ceil(desired / 2), 3), 200)


def production_steps(strategy, config):
    """The production traffic weights of the green revision, one per shift step."""
    if strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        return [float(canary.get("canaryPercent", DEFAULTS["canaryPercent"])), 100.0], \
            int(canary.get("canaryBakeTimeInMinutes", DEFAULTS["canaryBakeTimeInMinutes"]))
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", DEFAULTS["stepPercent"]))
        weights = [min(100.0, round(step * k, 1)) for k in range(1, math.ceil(100 / step) + 1)]
        return weights, int(linear.get("stepBakeTimeInMinutes", DEFAULTS["stepBakeTimeInMinutes"]))
    return [100.0], 0


def plan(strategy, config, knobs, reconcile, initial):
    """The segments of a deployment: dicts with stage, seconds (unscaled), hooks (the hook stage
    whose hooks run at the segment's end, if any) and the traffic it leaves behind."""
    hooks = config.get("lifecycleHooks") or []

    def seg(stage, seconds=None, hook_stage=None, **effects):
        at = hook_stage if hook_stage is not None else stage
        return {"stage": stage, "seconds": STAGE_SECONDS.get(stage, 0) if seconds is None else seconds,
                "hook_stage": at,
                "hooks": [h for h in hooks if at in (h.get("lifecycleStages") or [])], **effects}

    scale_up = float(knobs.get("scaleUpSeconds", STAGE_SECONDS["SCALE_UP"]))
    bake = int(config.get("bakeTimeInMinutes") or 0) * 60
    alarms = (config.get("alarms") or {}).get("enable")
    # The first deployment (CreateService) runs the strategy's stages and hooks like any other:
    # ECS's documentation does not set it apart.
    segs = [seg("RECONCILE_SERVICE")] if reconcile and not initial else []
    if strategy == "ROLLING":
        # Rolling replaces tasks in place: no traffic stages; hooks only where configured.
        segs += [s for s in [seg("PRE_SCALE_UP", 0)] if s["hooks"]]
        segs.append(seg("SCALE_UP", scale_up, test=100.0, prod=100.0))
        segs += [s for s in [seg("POST_SCALE_UP", 0)] if s["hooks"]]
        if bake or alarms:
            segs.append(seg("BAKE_TIME", bake))
        return segs + [seg("CLEAN_UP")]
    segs += [seg("PRE_SCALE_UP"), seg("SCALE_UP", scale_up), seg("POST_SCALE_UP"),
             seg("TEST_TRAFFIC_SHIFT", test=100.0), seg("POST_TEST_TRAFFIC_SHIFT")]
    weights, step_bake = production_steps(strategy, config)
    for i, weight in enumerate(weights):
        # PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage, not a lifecycle stage ECS reports.
        pre = seg("PRODUCTION_TRAFFIC_SHIFT", 0, hook_stage="PRE_PRODUCTION_TRAFFIC_SHIFT")
        if pre["hooks"]:
            segs.append(pre)
        segs.append(seg("PRODUCTION_TRAFFIC_SHIFT", prod=weight))
        if i < len(weights) - 1:
            segs.append(seg("PRODUCTION_TRAFFIC_SHIFT", step_bake * 60, hook_stage=""))
    return segs + [seg("POST_PRODUCTION_TRAFFIC_SHIFT"), seg("BAKE_TIME", bake, hook_stage=""),
                   seg("CLEAN_UP", hook_stage="")]


class Deployment:
    def __init__(self, *, arn, service, cluster, ecs_id, target, sources, desired, config,
                 knobs, now, scale_of, on_event, reconcile=False, initial=False):
        self.arn, self.service, self.cluster, self.ecs_id = arn, service, cluster, ecs_id
        self.target, self.sources, self.desired = target, sources, desired
        self.config, self.knobs = config, knobs
        self.strategy = config.get("strategy") or "ROLLING"
        self.scale_of, self.on_event = scale_of, on_event  # () -> float, (t, message) -> None
        self.created_at = self.updated_at = now
        self.started_at = self.finished_at = self.stopped_at = None
        self.terminal_at = self.terminal_seen_at = None
        self.status, self.status_reason, self.rollback, self.rollout_reason = \
            "PENDING", None, None, None
        self.plan = plan(self.strategy, config, knobs, reconcile, initial)
        self.history, self.hook_runs, self.calls = [], [], {}
        self.test_weight = self.prod_weight = 0.0
        self.traffic = []  # (time, green's production weight) at each change, for metrics
        self.failed_tasks, self.triggered_alarms = 0, []
        cb = config.get("deploymentCircuitBreaker") or {}
        self.cb_enabled, self.cb_rollback = bool(cb.get("enable")), bool(cb.get("rollback"))
        self.threshold = circuit_threshold(desired)
        alarms = config.get("alarms") or {}
        self.alarm_names = list(alarms.get("alarmNames") or []) if alarms.get("enable") else []
        self.alarm_rollback = bool(alarms.get("rollback"))
        self.rb_until = None  # end of the current rollback/stop step
        self.scaled_at = self.failed_kind = self.stop_requested = None
        self.i, self.seg_started, self.seg_end, self.seg_scale = 0, now, None, scale_of()
        self.hooks_started, self.active_runs = None, []
        self.pending_until = now + float(knobs.get("pendingSeconds", PENDING_SECONDS)) * \
            self.seg_scale

    # -- queries -------------------------------------------------------------------------------
    @property
    def terminal(self):
        return self.status in TERMINAL

    @property
    def stage(self):
        return self.plan[min(self.i, len(self.plan) - 1)]["stage"]

    @property
    def reported_stage(self):
        """The `lifecycleStage` ECS reports: none while PENDING; none for ROLLING unless the
        `rollingStages` knob says so (the model describes the stages for blue/green only)."""
        if self.started_at is None:
            return None
        if self.strategy == "ROLLING" and not self.knobs.get("rollingStages"):
            return None
        return self.stage

    def busy(self):
        """[[start, end]] in epoch seconds (end None while it runs) when ECS works on this
        deployment: from its creation to its end, less the time any PAUSE hook awaited a caller
        (a hook left awaiting stops waiting when the deployment ends)."""
        end, start, spans = self.terminal_at, self.created_at, []
        waits = sorted((r["startedAt"], r.get("finishedAt") or end)
                       for r in self.hook_runs if r["targetType"] == "PAUSE")
        for low, high in waits:
            if low > start:
                spans.append([start, low])
            if high is None:
                return spans
            start = max(start, high)
        if end is None or end > start:
            spans.append([start, end])
        return spans

    def scaled(self, now):
        """How far the green revision has scaled up (0..1) at `now`."""
        if self.knobs.get("health") == "failing":
            return 0.0
        if self.scaled_at is not None:
            return 1.0
        if self.stage != "SCALE_UP" or self.status != "IN_PROGRESS" or self.seg_end is None:
            return 0.0
        span = self.seg_end - self.seg_started
        return 1.0 if span <= 0 else max(0.0, min(1.0, (now - self.seg_started) / span))

    def failure_count(self, now):
        """Tasks of the green revision that failed so far (failing health scenario)."""
        if self.knobs.get("health") != "failing" or self.failed_tasks:
            return self.failed_tasks
        if self.stage != "SCALE_UP" or self.status != "IN_PROGRESS":
            return 0
        interval = float(self.knobs.get("taskFailSeconds", 10)) * self.seg_scale
        return int((now - self.seg_started) // interval) * max(1, self.desired)

    def counts(self, now):
        """(target, source) task counts as (requested, running, pending)."""
        d, started = self.desired, any(h["stage"] == "SCALE_UP" for h in self.history)
        running = round(self.scaled(now) * d)
        if self.status in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"):
            return (0, 0, 0), (d, d, 0)
        if self.status == "SUCCESSFUL":
            return (d, d, 0), (0, 0, 0)
        target = (d, running, d - running) if started else (0, 0, 0)
        if self.strategy == "ROLLING":
            return target, (d - running, d - running, 0)
        if self.stage == "CLEAN_UP" and self.status == "IN_PROGRESS":
            return target, (0, 0, 0)
        return target, (d, d, 0)

    # -- the clock -----------------------------------------------------------------------------
    def advance(self, now):
        while not self.terminal:
            due = self._next_event()
            if due is None or due[0] > now:
                return
            due[1](due[0])

    def _next_event(self):
        if self.status == "PENDING":
            return self.pending_until, self._begin
        if self.status != "IN_PROGRESS":
            return (self.rb_until, self._rollback_step) if self.rb_until is not None else None
        events = []
        failure = self._failure()
        if failure:
            events.append((failure[0], 0, failure[1]))
        if self.hooks_started is None:
            if self.seg_end is not None:
                events.append((self.seg_end, 1, self._start_hooks))
        else:
            for run in self.active_runs:
                if run["status"] in ("IN_PROGRESS", "AWAITING_ACTION"):
                    events.append((run["due"], 2, lambda t, r=run: self._resolve(r, t)))
        if not events:
            return None
        t, _, fn = min(events, key=lambda e: (e[0], e[1]))
        return t, fn

    def _begin(self, t):
        self.status, self.started_at = "IN_PROGRESS", t
        self._enter(0, t)

    def _failure(self):
        seg, started = self.plan[self.i], self.seg_started
        scale = self.seg_scale
        if seg["stage"] == "SCALE_UP" and self.knobs.get("health") == "failing":
            interval = float(self.knobs.get("taskFailSeconds", 10)) * scale
            batches = math.ceil(self.threshold / max(1, self.desired))
            if self.cb_enabled:
                return started + batches * interval, lambda t: self._fail(
                    t, "circuit breaker", self.cb_rollback,
                    "the circuit breaker threshold was exceeded", tasks=True)
        if seg["stage"] == "BAKE_TIME" and self.knobs.get("alarm") and self.alarm_names:
            wanted = self.knobs["alarm"]
            name = self.alarm_names[0] if wanted is True else wanted
            if name in self.alarm_names:
                delay = min(float(self.knobs.get("alarmAfterSeconds", 60)) * scale,
                            (self.seg_end - started) / 2)
                return started + delay, lambda t: self._fail(
                    t, "alarm", self.alarm_rollback,
                    f"the CloudWatch alarm(s) {name} went into ALARM state", alarm=name)
        for watch in ALARM_WATCHERS if self.alarm_names else ():
            fired = watch(self)
            if fired:
                at, name = max(fired[0], started), fired[1]
                return at, lambda t: self._fail(
                    t, "alarm", self.alarm_rollback,
                    f"the CloudWatch alarm(s) {name} went into ALARM state", alarm=name)
        return None

    def _enter(self, i, t):
        if i and self.plan[i - 1]["stage"] == "SCALE_UP" and self.scaled_at is None:
            self.scaled_at = t
        self.i, self.seg_started, self.hooks_started, self.active_runs = i, t, None, []
        self.seg_scale = self.scale_of()
        seg = self.plan[i]
        never = seg["stage"] == "SCALE_UP" and self.knobs.get("health") == "failing"
        # Failing tasks without a circuit breaker: ECS keeps launching them; the stage never ends.
        self.seg_end = None if never and not self.cb_enabled else t + seg["seconds"] * self.seg_scale
        self.updated_at = t
        if not self.history or self.history[-1]["stage"] != seg["stage"]:
            self.history.append({"stage": seg["stage"], "at": t})
            self.on_event(t, f"(service {self.service}) (service deployment {self.short_id}) "
                             f"entered lifecycle stage {seg['stage']}.")
        if seg["stage"] == "SCALE_UP":
            self.on_event(t, f"(service {self.service}) has started {self.desired} tasks "
                             f"of {self.target['taskDefinition'].split('/')[-1]}.")

    @property
    def short_id(self):
        return self.arn.split("/")[-1]

    def _start_hooks(self, t):
        seg = self.plan[self.i]
        self.hooks_started = t
        if "test" in seg:
            self.test_weight = seg["test"]
        if "prod" in seg:
            self.prod_weight = seg["prod"]
            self.traffic.append((t, self.prod_weight))
        fail = self.knobs.get("hookFail")
        for hook in seg["hooks"]:
            kind = hook.get("targetType") or "AWS_LAMBDA"
            timeout = hook.get("timeoutConfiguration") or {}
            minutes = float(timeout.get("timeoutInMinutes") or 1440)
            run = {"hookId": str(uuid.uuid4()), "targetType": kind, "stage": seg.get("hook_stage")
                   or self._hook_stage(hook), "timeoutAction": timeout.get("action") or "ROLLBACK",
                   "startedAt": t, "expiresAt": t + minutes * 60 * self.seg_scale}
            if kind == "PAUSE":
                run.update(status="AWAITING_ACTION", due=run["expiresAt"])
                self.on_event(t, f"(service {self.service}) (service deployment {self.short_id}) "
                                 f"paused at {run['stage']}: lifecycle hook {run['hookId']} is "
                                 f"awaiting ContinueServiceDeployment.")
            else:
                run["targetArn"] = hook.get("hookTargetArn")
                failing = fail is True or fail in (run["stage"], run["targetArn"])
                run.update(status="IN_PROGRESS", outcome="FAILED" if failing else "SUCCEEDED",
                           due=t + float(self.knobs.get("hookSeconds", 5)) * self.seg_scale)
            self.active_runs.append(run)
            self.hook_runs.append(run)
        if not self.active_runs:
            self._next(t)

    def _hook_stage(self, hook):
        stages = hook.get("lifecycleStages") or []
        here = self.plan[self.i]["stage"]
        return here if here in stages else (stages[0] if stages else here)

    def _resolve(self, run, t):
        run["finishedAt"] = t
        if run["targetType"] == "PAUSE":  # expired
            run["status"] = "TIMED_OUT"
            if run["timeoutAction"] == "ROLLBACK":
                return self._fail(t, "hook", True, f"the lifecycle hook {run['hookId']} timed out "
                                  f"at stage {run['stage']} (timeout action ROLLBACK)")
        else:
            run["status"] = run["outcome"]
            if run["outcome"] == "FAILED":
                return self._fail(t, "hook", True, f"the lifecycle hook {run['targetArn']} "
                                  f"returned FAILED at stage {run['stage']}")
        self._maybe_next(t)

    def _maybe_next(self, t):
        if all(r["status"] in ("SUCCEEDED", "TIMED_OUT") for r in self.active_runs):
            self._next(t)

    def _next(self, t):
        if self.i + 1 < len(self.plan):
            return self._enter(self.i + 1, t)
        self._finish(t, "SUCCESSFUL", None)
        self.rollout_reason = f"ECS deployment {self.ecs_id} completed."
        self.on_event(t, f"(service {self.service}) (deployment {self.ecs_id}) deployment completed.")
        self.on_event(t, f"(service {self.service}) has reached a steady state.")

    # -- failure, rollback, stop ---------------------------------------------------------------
    def _fail(self, t, kind, rollback, why, tasks=False, alarm=None):
        if tasks:
            self.failed_tasks = self.threshold
            self.on_event(t, f"(service {self.service}) (deployment {self.ecs_id}) deployment "
                             f"failed: tasks failed to start.")
        if alarm:
            self.triggered_alarms = [alarm]
            self.on_event(t, f"(service {self.service}) (deployment {self.ecs_id}) deployment "
                             f"failed: alarm detected.")
        self.failed_kind = kind
        self.rollout_reason = f"ECS deployment {self.ecs_id} failed: {why}."
        if rollback:
            self.start_rollback(t, f"Service deployment rolled back because {why}.")
        else:
            self._finish(t, "STOPPED", f"Service deployment failed because {why}.")

    def start_rollback(self, t, reason):
        self.test_weight = self.prod_weight = 0.0
        self.traffic.append((t, 0.0))
        for run in self.active_runs:
            if run["status"] in ("IN_PROGRESS", "AWAITING_ACTION"):
                run.update(status="FAILED", finishedAt=t)
        if not self.sources:
            return self._finish(t, "ROLLBACK_FAILED", reason + " There is no previous service "
                                "revision to roll back to.")
        self.status, self.status_reason, self.updated_at = "ROLLBACK_REQUESTED", reason, t
        self.rollback = {"reason": reason, "startedAt": t,
                         "serviceRevisionArn": self.sources[-1]["arn"]}
        self.rb_until = t + ROLLBACK_REQUESTED_SECONDS * self.scale_of()
        self.on_event(t, f"(service {self.service}) rolling back to "
                         f"{self.sources[-1]['taskDefinition'].split('/')[-1]}.")

    def stop(self, t, stop_type):
        """StopServiceDeployment in one of STOPPABLE: a stop or rollback under way goes on."""
        if self.status not in ("PENDING", "IN_PROGRESS"):
            return None
        self.stop_requested = stop_type
        if stop_type == "ROLLBACK":
            return self.start_rollback(
                t, "Service deployment rolled back because StopServiceDeployment was called.")
        self.status, self.updated_at = "STOP_REQUESTED", t
        self.status_reason = "Service deployment stopped because StopServiceDeployment was called."
        self.rb_until = t + ROLLBACK_REQUESTED_SECONDS * self.scale_of()

    def continue_hook(self, t, hook_id, action):
        """ContinueServiceDeployment; returns an error message or None."""
        run = next((r for r in self.active_runs if r["hookId"] == hook_id), None)
        if run is None or run["status"] != "AWAITING_ACTION" or self.status != "IN_PROGRESS":
            return f"The lifecycle hook {hook_id} is not awaiting action in service deployment " \
                   f"{self.arn}."
        run["finishedAt"] = t
        if action == "ROLLBACK":
            run["status"] = "FAILED"
            self.failed_kind = "continue"
            self.rollout_reason = f"ECS deployment {self.ecs_id} rolled back on request."
            self.start_rollback(t, f"Service deployment rolled back because "
                                   f"ContinueServiceDeployment was called with action ROLLBACK "
                                   f"for lifecycle hook {hook_id}.")
        else:
            run["status"] = "SUCCEEDED"
            self._maybe_next(t)
        return None

    def _rollback_step(self, t):
        if self.status == "STOP_REQUESTED":
            self.rb_until = None
            return self._finish(t, "STOPPED", self.status_reason)
        if self.status == "ROLLBACK_REQUESTED":
            self.status, self.updated_at = "ROLLBACK_IN_PROGRESS", t
            seconds = float(self.knobs.get("rollbackSeconds", ROLLBACK_SECONDS))
            self.rb_until = t + seconds * self.scale_of()
            return None
        self.rb_until = None
        self._finish(t, "ROLLBACK_SUCCESSFUL", self.status_reason)
        self.on_event(t, f"(service {self.service}) has reached a steady state.")
        return None

    def supersede(self, t):
        self._finish(t, "STOPPED", "Service deployment was stopped because a newer service "
                                   "deployment started.")

    def _finish(self, t, status, reason):
        self.status, self.status_reason = status, reason
        self.finished_at = self.updated_at = self.terminal_at = t
        if status in ("STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"):
            self.stopped_at = t
        self.rb_until = None
