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

The token routes answer 404 for another method. In-process, the STS plug-in calls
`verify(token, audience)` of this module.
"""

import base64
import json
import secrets
import threading
import time
import uuid

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


def _json(status, body):
    return status, "application/json", json.dumps(body).encode()


def _payload(body):
    return json.loads(body or b"{}")


def token_control(_bed, method, query, _body, headers):
    if method != "GET":
        return _not_found(method, "token")
    if headers.get("authorization", "") != f"Bearer {REQUEST_TOKEN}":
        return _json(401, {"message": "Bad credentials"})
    return _json(200, {"value": sign(claims_for(query.get("audience")))})


def claims_control(_bed, method, _query, body, _headers):
    if method != "POST":
        return _not_found(method, "claims")
    overrides = _payload(body)
    if not isinstance(overrides, dict):
        return _json(400, {"error": "expected a JSON object"})
    with _lock:
        _overrides.update(overrides)
        current = dict(_overrides)
    return _json(200, current)


def reset_control(_bed, method, _query, _body, _headers):
    if method != "POST":
        return _not_found(method, "reset")
    with _lock:
        _overrides.clear()
    return _json(200, {})


def openid_configuration(_bed, _method, _query, _body, headers):
    base = f"http://{headers.get('host', '127.0.0.1')}/_bed/oidc"
    return _json(200, {
        "issuer": ISSUER, "jwks_uri": f"{base}/jwks",
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
        "claims_supported": sorted(default_claims()),
    })


def verify_control(_bed, method, _query, body, _headers):
    if method != "POST":
        return _not_found(method, "verify")
    request = _payload(body)
    try:
        claims = verify(request.get("token", ""), request.get("audience", "sts.amazonaws.com"))
    except ValueError as err:
        return _json(400, {"error": str(err)})
    return _json(200, claims)


def _not_found(method, route):
    return _json(404, {"error": f"no route {method} /_bed/oidc/{route}"})


def env(base_url):
    """What a job gets from GitHub to ask for a token; `up` prints the same lines."""
    return {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{base_url}/_bed/oidc/token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
    }


def install(bed):
    for key, value in env(bed.base_url).items():
        bed.add_env(key, value)
    bed.add_control("oidc/token", token_control)
    bed.add_control("oidc/claims", claims_control)
    bed.add_control("oidc/reset", reset_control)
    bed.add_control("oidc/jwks", lambda *_: _json(200, jwks()))
    bed.add_control("oidc/.well-known/openid-configuration", openid_configuration)
    bed.add_control("oidc/verify", verify_control)
