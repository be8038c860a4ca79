"""S3 and CloudFront for deploy-static, where moto differs from AWS.

moto's CloudFront invalidation is `COMPLETED` the moment it is created; CloudFront reports
`InProgress` first and `Completed` later (API reference, Invalidation.Status: "InProgress" or
"Completed"; the developer guide says an invalidation takes time to reach every edge). Here
an invalidation is `InProgress` for `invalidationSeconds` (default 20, times the bed's time
scale), then `Completed`. A CreateInvalidation with a CallerReference already used for the
same distribution returns the first invalidation, as CloudFront does for a retried request
(moto would make a second one).

It also names the REST-protocol requests (S3, CloudFront) for the call log by the IAM action
AWS checks (ListObjectsV2 is `s3:ListBucket`, HeadObject `s3:GetObject`, DeleteObjects
`s3:DeleteObject`), and keeps the order of S3 writes and invalidations, so a test can check that
assets went before HTML and deletions after the invalidation completed:

    GET  /_bed/static-site   {"events": [{"t": epoch_s, "op": "PutObject", "key": "...",
                              "size": body bytes}, ...],
                              "invalidationSeconds": n}
    POST /_bed/static-site   {"invalidationSeconds": n} sets the knob; {"reset": true} empties
                              the events.
"""

import time
from urllib.parse import parse_qs, unquote

from moto.cloudfront import models as cloudfront

DEFAULT_SECONDS = 20.0
_BED = {}


def install(bed):
    _BED["bed"] = bed
    bed.state["static_site"] = {"events": [], "seconds": DEFAULT_SECONDS}
    bed.add_json_control("static-site", _control)
    bed.add_rest_operation(_observe)
    _patch_invalidations()


def _control(bed, method, _query, payload):
    state = bed.state["static_site"]
    if method == "POST":
        if payload.get("reset"):
            state["events"].clear()
        if "invalidationSeconds" in payload:
            seconds = float(payload["invalidationSeconds"])
            if seconds < 0:
                raise ValueError("invalidationSeconds must be >= 0")
            state["seconds"] = seconds
    return 200, {"events": list(state["events"]), "invalidationSeconds": state["seconds"]}


def _patch_invalidations():
    def get_status(self):
        bed = _BED["bed"]
        seconds = bed.state["static_site"]["seconds"] * bed.time_scale
        done = time.time() >= self._bed_created + seconds
        if done and not getattr(self, "_bed_done_logged", False):
            self._bed_done_logged = True
            bed.state["static_site"]["events"].append(
                {"t": self._bed_created + seconds, "op": "InvalidationCompleted", "key": self.id})
        return "Completed" if done else "InProgress"

    def set_status(self, _value):
        self._bed_created = time.time()

    cloudfront.Invalidation.status = property(get_status, set_status)

    original = cloudfront.CloudFrontBackend.create_invalidation

    def create_invalidation(self, dist_id, paths, caller_ref):
        for existing in self.invalidations.get(dist_id) or []:
            if existing.caller_ref == caller_ref:
                return existing
        invalidation = original(self, dist_id, paths, caller_ref)
        _BED["bed"].state["static_site"]["events"].append(
            {"t": time.time(), "op": "CreateInvalidation", "key": " ".join(paths)})
        return invalidation

    cloudfront.CloudFrontBackend.create_invalidation = create_invalidation


def _observe(bed, environ, service):
    """The IAM name of an S3 or CloudFront request; S3 writes are kept in order."""
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if service == "cloudfront":
        if "/invalidation" in path:
            return "cloudfront:CreateInvalidation" if method == "POST" else \
                "cloudfront:GetInvalidation" if path.rstrip("/").split("/")[-2] == "invalidation" \
                else "cloudfront:ListInvalidations"
        if "/distribution/" in path and method == "GET":
            return "cloudfront:GetDistributionConfig" if path.endswith("/config") \
                else "cloudfront:GetDistribution"
        return None
    if service != "s3":
        return None
    # Path style: /bucket[/key]
    _, _, rest = path.lstrip("/").partition("/")
    key = unquote(rest)
    name = None
    if not key:
        if "location" in query:
            name = "s3:GetBucketLocation"
        elif "delete" in query and method == "POST":
            name = "s3:DeleteObject"
        elif method == "GET":
            name = "s3:ListBucket"
        elif method == "HEAD":
            name = "s3:ListBucket"
    elif method in ("GET", "HEAD"):
        name = "s3:GetObject"
    elif method == "PUT":
        name = "s3:PutObject"
    elif method == "DELETE":
        name = "s3:DeleteObject"
    if name in ("s3:PutObject", "s3:DeleteObject"):
        op = "DeleteObjects" if not key else ("PutObject" if method == "PUT" else "DeleteObject")
        # The body's size: aws-chunked uploads give it in x-amz-decoded-content-length.
        size = int(environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH")
                   or environ.get("CONTENT_LENGTH") or 0) if op == "PutObject" else 0
        bed.state["static_site"]["events"].append(
            {"t": time.time(), "op": op, "key": key, "size": size})
    return name
