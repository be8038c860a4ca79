"""Who made a call, and the suite-wide call log that tests/iam-check reads."""

import os


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
