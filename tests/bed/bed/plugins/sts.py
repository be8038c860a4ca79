"""STS AssumeRoleWithWebIdentity as AWS answers it for GitHub's OIDC tokens, with failure knobs.

moto accepts any token. Here the token is checked first, like AWS does, with the OIDC plug-in's
verifier (oidc.verify(token, audience)): signature, issuer, expiry, audience. Then the role's
trust conditions (knob `trust`), then moto hands out credentials. Knobs, POST /_bed/sts (GET
shows them, the call count, the `jti` of the token each call carried, `tokenIds`, and the
session options of every AssumeRole and AssumeRoleWithWebIdentity, `sessions`: action, Policy,
PolicyArns, Tags, TransitiveTagKeys):

    {"reject": "AccessDenied" | "InvalidIdentityToken" | "ExpiredTokenException",
     "message": "...",                 optional, replaces the realistic default message
     "failTimes": N,                   the next N calls fail transiently ...
     "failWith": "IDPCommunicationError" | "Throttling" | "500" | "503",   ... with this
     "trust": {"sub": "repo:org/app:environment:prod*", "aud": "sts.amazonaws.com"},
                                       StringLike conditions on the claims (AccessDenied if not)
     "audience": "sts.amazonaws.com",  the client ID registered for the provider
     "verify": true,                   false: accept any token (as moto does)
     "reset": true}
"""

import base64
import fnmatch
import json
import time
import uuid
from xml.sax.saxutils import escape

from bed.plugins import oidc

DEFAULTS = {"reject": None, "message": None, "failTimes": 0, "failWith": "IDPCommunicationError",
            "trust": {}, "audience": "sts.amazonaws.com", "verify": True}
MESSAGES = {
    "AccessDenied": (403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
    "InvalidIdentityToken": (400, "Incorrect token audience"),
    "ExpiredTokenException": (400, "Token expired: current date/time {now} must be before the "
                                   "expiration date/time{exp}"),
    "IDPCommunicationError": (400, "Couldn't retrieve verification key from your identity "
                                   "provider,  please reference AssumeRoleWithWebIdentity "
                                   "documentation for requirements"),
    "Throttling": (400, "Rate exceeded"),
    "500": (500, "An internal error has occurred. Try again."),
    "503": (503, "Service is unavailable. Try again."),
}
CODES_5XX = {"500": "InternalFailure", "503": "ServiceUnavailable"}
BAD_TOKEN = ("The web identity token that was passed could not be validated by AWS. Get a new "
             "identity token from the identity provider and then retry the request.")


def _knobs(bed):
    return bed.state.setdefault("sts", {**DEFAULTS, "calls": 0})


def error_xml(code, message, status):
    kind = "Receiver" if status >= 500 else "Sender"
    return status, (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")


def _error(knobs, code, message=None, **fmt):
    status, default = MESSAGES[code]
    return error_xml(CODES_5XX.get(code, code), message or default.format(**fmt), status)


def _members(params, name, field=None):
    """`Name.member.N[.Field]` query parameters, in order."""
    found, n = [], 1
    while (key := f"{name}.member.{n}" + (f".{field}" if field else "")) in params:
        found.append(params[key])
        n += 1
    return found


def _record_session(bed, params):
    # What a test checks that the client sent: moto keeps none of it.
    _knobs(bed).setdefault("sessions", []).append({
        "action": params.get("Action"),
        "RoleArn": params.get("RoleArn"),
        "Policy": params.get("Policy"),
        "PolicyArns": _members(params, "PolicyArns", "arn"),
        "Tags": dict(zip(_members(params, "Tags", "Key"), _members(params, "Tags", "Value"))),
        "TransitiveTagKeys": _members(params, "TransitiveTagKeys"),
    })


def assume_role(bed, params, _environ):
    _record_session(bed, params)
    return None  # moto answers


def assume_role_with_web_identity(bed, params, _environ):
    knobs = _knobs(bed)
    knobs["calls"] += 1
    _record_session(bed, params)
    # Which token each call carried (its `jti`), so a test can tell a retry reused one.
    knobs.setdefault("tokenIds", []).append(_unverified_claim(params.get("WebIdentityToken", ""), "jti"))
    if knobs["failTimes"] > 0:
        knobs["failTimes"] -= 1
        return _error(knobs, knobs["failWith"])
    if knobs["reject"]:
        now = int(time.time())
        return _error(knobs, knobs["reject"], knobs["message"], now=now, exp=now - 60)
    token = params.get("WebIdentityToken", "")
    claims = {}
    if knobs["verify"]:
        try:
            claims = oidc.verify(token, knobs["audience"])
        except ValueError as err:
            text = str(err)
            if "expired" in text:
                return _error(knobs, "ExpiredTokenException", now=int(time.time()),
                              exp=_unverified_exp(token))
            if "audience" in text:
                return _error(knobs, "InvalidIdentityToken")
            return error_xml("InvalidIdentityToken", BAD_TOKEN, 400)
    for key, pattern in (knobs["trust"] or {}).items():
        values = claims.get(key)
        values = values if isinstance(values, list) else [values]
        if not any(isinstance(v, str) and fnmatch.fnmatchcase(v, pattern) for v in values):
            return _error(knobs, "AccessDenied")
    return None  # moto hands out the credentials


def _unverified_claim(token, name, default=None):
    try:
        body = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))).get(name, default)
    except (IndexError, ValueError, AttributeError):
        return default


def _unverified_exp(token):
    return _unverified_claim(token, "exp", 0)


def control(bed, method, _query, payload):
    knobs = _knobs(bed)
    if method == "POST":
        if payload.get("reset"):
            knobs.clear()
            knobs.update({**DEFAULTS, "calls": 0, "tokenIds": [], "sessions": []})
        unknown = sorted(set(payload) - set(DEFAULTS) - {"reset"})
        if unknown:
            raise ValueError(f"unknown STS knob(s) {unknown}; known: {sorted(DEFAULTS)}")
        if payload.get("reject") not in (None, "AccessDenied", "InvalidIdentityToken",
                                         "ExpiredTokenException"):
            raise ValueError("reject is AccessDenied, InvalidIdentityToken or ExpiredTokenException")
        if "failWith" in payload and payload["failWith"] not in MESSAGES:
            raise ValueError(f"failWith is one of {sorted(MESSAGES)}")
        knobs.update({k: v for k, v in payload.items() if k != "reset"})
    return 200, knobs


def install(bed):
    _knobs(bed)
    bed.add_query_action("sts", "AssumeRoleWithWebIdentity", assume_role_with_web_identity)
    bed.add_json_control("sts", control)
    bed.add_query_action("sts", "AssumeRole", assume_role)
