"""The bed's plug-ins: what the server adds to moto, one AWS area each.

The contract, the only one. A plug-in is a module (or package) here named in PLUGINS; the server
imports `bed.plugins.<name>` in that order (a missing one is noted on stderr) and calls its
`install(bed)` once, before the first request. `bed` is the server's `Bed`, and everything a
plug-in does goes through it; a plug-in imports nothing from the server (bed.server), only its
siblings here, bed.models and bed.registry.

  bed.add_target(x_amz_target, handler)
      answer an AWS JSON-protocol request by its X-Amz-Target header, e.g.
      "AmazonEC2ContainerServiceV20141113.ListServiceDeployments".
      handler(bed, body: dict, environ) -> (status: int, body: dict), or None to let moto answer.
  bed.add_response_filter(x_amz_target, fn)
      rewrite moto's JSON answer: fn(bed, request_body, status, response_body) -> response_body.
  bed.add_query_action(service, action, handler)
      answer a query-protocol request (STS, ...) by the `Action=` form field; `service` is the
      signing name in the Authorization header ("sts").
      handler(bed, params: dict, environ) -> (status, xml: str), or None to let moto answer.
  bed.add_path(prefix, handler)
      answer every request whose path starts with `prefix` (a protocol moto lacks, e.g.
      smithy-rpc-v2-cbor): handler(bed, environ, raw: bytes) -> (status, headers, body: bytes).
  bed.add_control(path, handler)
      serve /_bed/<path> (a path ending in "/" is a prefix).
      handler(bed, method, query: dict, body: bytes, headers: dict)
          -> (status, content_type, body: bytes)
  bed.add_json_control(path, fn)
      the same with JSON both ways: fn(bed, method, query, payload) -> (status, obj).
      A ValueError raised by a control handler answers 400 {"error": message}.
  bed.add_gate(fn)            fn(bed, target, body: dict, environ) -> None, or (status, body) to
      refuse an AWS JSON-protocol request before any plug-in or moto sees it (throttling).
  bed.add_rest_operation(fn)
      name a REST-protocol request (S3, CloudFront) for the call log:
      fn(bed, environ, signing_service) -> "s3:PutObject" (the IAM action) or None. Called once
      per request, before anything answers it, so it may also record the request.
  bed.add_ticker(fn)          fn(bed, now) runs every 0.1 s and before each request.
  bed.add_env(key, value)     a line `up` prints (and writes to DIR/env).
  bed.moto(target, body, environ) -> (status, dict): a JSON call to moto itself (filters applied).
  bed.error(code, message, status=400) -> (status, dict): an AWS JSON-protocol error.
  bed.now() -> epoch seconds.
  bed.state (dict for module state), bed.lock (held around handlers, filters, controls and
  tickers), bed.time_scale (float; durations are multiplied by it), bed.base_url (the server's
  final address), bed.state_dir (Path).
"""

PLUGINS = ["scenarios", "ecs_deployments", "ecs_tasks", "sts", "ecr_scan", "ecr", "oidc", "throttle",
           "cloudwatch", "static_site"]
