"""A fake GitHub Actions OIDC token endpoint, served by the bed server under /_bed/oidc/.

GitHub gives a job ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN; the job GETs
the URL (plus `&audience=...`) with `Authorization: Bearer <request token>` and receives
{"value": "<jwt>"}. The bed does the same, with an RS256 JWT signed by a key generated at start,
so the STS patch can verify it exactly as AWS verifies GitHub's tokens (signature, exp, aud).

Routes:
    GET  /_bed/oidc/token?api-version=2.0&audience=A
                                       the token (401 without the right bearer); `up` prints
                                       the URL with `?api-version=2.0`, as GitHub's has a query,
                                       so clients append `&audience=`
    POST /_bed/oidc/claims             JSON object merged into the claims of later tokens
                                       (a null value removes a claim)
    POST /_bed/oidc/reset              back to the default claims
    GET  /_bed/oidc/jwks               the public key, as GitHub publishes it
    GET  /_bed/oidc/.well-known/openid-configuration
    POST /_bed/oidc/verify             {"token", "audience"} -> claims or 400 {"error"}

In-process, other bed modules (the STS patch) call `verify(token, audience)` of this module.
"""

import base64
import json
import os
import secrets
import threading
import time
import uuid
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://token.actions.githubusercontent.com"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = uuid.uuid4().hex
# The bearer the job must present; random per bed, printed by `up` as ACTIONS_ID_TOKEN_REQUEST_TOKEN.
REQUEST_TOKEN = secrets.token_urlsafe(32)
_lock = threading.Lock()
_overrides = {}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def default_claims():
    # Shaped like a real token of a deploy job in environment `staging` of org/app.
    now = int(time.time())
    return {
        "jti": str(uuid.uuid4()),
        "sub": "repo:org/app:environment:staging",
        "aud": "https://github.com/org",
        "ref": "refs/heads/main",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "repository": "org/app",
        "repository_id": "123456789",
        "repository_owner": "org",
        "repository_owner_id": "987654",
        "repository_visibility": "private",
        "run_id": "4242424242",
        "run_number": "42",
        "run_attempt": "1",
        "actor": "octocat",
        "actor_id": "583231",
        "workflow": "deploy",
        "workflow_ref": "org/app/.github/workflows/deploy.yml@refs/heads/main",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "branch",
        "ref_protected": "true",
        "environment": "staging",
        "job_workflow_ref": "org/app/.github/workflows/deploy.yml@refs/heads/main",
        "runner_environment": "github-hosted",
        "iss": ISSUER,
        "nbf": now - 5,
        "iat": now,
        "exp": now + 300,
    }


def claims_for(audience):
    claims = default_claims()
    with _lock:
        overrides = dict(_overrides)
    explicit_aud = "aud" in overrides
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    # Like GitHub: the default audience is the owner's URL; ?audience= replaces it, unless a test
    # pinned `aud` on purpose (to produce a token with the wrong audience).
    if audience and not explicit_aud:
        claims["aud"] = audience
    elif not explicit_aud:
        claims["aud"] = f"https://github.com/{claims.get('repository_owner', 'org')}"
    return claims


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "kid": KID, "x5t": KID}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def verify(token, audience="sts.amazonaws.com"):
    """The checks AWS makes on a GitHub token; returns the claims or raises ValueError."""
    try:
        head, body, sig = token.split(".")
        header = json.loads(unb64url(head))
        claims = json.loads(unb64url(body))
        signature = unb64url(sig)
    except (ValueError, AttributeError) as err:
        raise ValueError(f"malformed token: {err}") from err
    if header.get("alg") != "RS256" or header.get("kid") != KID:
        raise ValueError("token not signed by the bed's OIDC key")
    try:
        KEY.public_key().verify(
            signature, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as err:
        raise ValueError("bad signature") from err
    if claims.get("iss") != ISSUER:
        raise ValueError(f"unexpected issuer {claims.get('iss')!r}")
    now = time.time()
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
        raise ValueError("token expired")
    if claims.get("nbf", 0) > now + 60:
        raise ValueError("token not yet valid")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if audience is not None and audience not in auds:
        raise ValueError(f"audience {aud!r} is not {audience!r}")
    return claims


def jwks():
    numbers = KEY.public_key().public_numbers()

    def as_b64(n):
        return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID,
           "n": as_b64(numbers.n), "e": as_b64(numbers.e)}
    return {"keys": [key]}


def respond(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def read_json(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    return json.loads(raw or b"{}")


def handle(environ, start_response):
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if path == "/_bed/oidc/token" and method == "GET":
        if environ.get("HTTP_AUTHORIZATION", "") != f"Bearer {REQUEST_TOKEN}":
            return respond(start_response, "401 Unauthorized", {"message": "Bad credentials"})
        query = parse_qs(environ.get("QUERY_STRING", ""))
        audience = (query.get("audience") or [None])[0]
        return respond(start_response, "200 OK", {"value": sign(claims_for(audience))})
    if path == "/_bed/oidc/claims" and method == "POST":
        body = read_json(environ)
        if not isinstance(body, dict):
            return respond(start_response, "400 Bad Request", {"error": "expected a JSON object"})
        with _lock:
            _overrides.update(body)
            current = dict(_overrides)
        return respond(start_response, "200 OK", current)
    if path == "/_bed/oidc/reset" and method == "POST":
        with _lock:
            _overrides.clear()
        return respond(start_response, "200 OK", {})
    if path == "/_bed/oidc/jwks":
        return respond(start_response, "200 OK", jwks())
    if path == "/_bed/oidc/.well-known/openid-configuration":
        base = f"http://{environ.get('HTTP_HOST', '127.0.0.1')}/_bed/oidc"
        return respond(start_response, "200 OK", {
            "issuer": ISSUER, "jwks_uri": f"{base}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
            "claims_supported": sorted(default_claims()),
        })
    if path == "/_bed/oidc/verify" and method == "POST":
        body = read_json(environ)
        try:
            claims = verify(body.get("token", ""), body.get("audience", "sts.amazonaws.com"))
        except ValueError as err:
            return respond(start_response, "400 Bad Request", {"error": str(err)})
        return respond(start_response, "200 OK", claims)
    return respond(start_response, "404 Not Found", {"error": f"no route {method} {path}"})


def env(base_url):
    """What a job gets from GitHub to ask for a token; `up` prints the same lines."""
    return {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{base_url}/_bed/oidc/token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
    }


def install(app, state_dir=None):
    """Wraps the bed's WSGI app; writes the request token where `up` reads it."""
    if state_dir:
        tmp = os.path.join(state_dir, "oidc-request-token.tmp")
        with open(tmp, "w") as f:
            f.write(REQUEST_TOKEN)
        os.replace(tmp, os.path.join(state_dir, "oidc-request-token"))

    def wrapped(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_bed/oidc/"):
            return handle(environ, start_response)
        return app(environ, start_response)

    return wrapped
