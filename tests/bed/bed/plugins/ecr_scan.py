"""ECR image scanning: StartImageScan and DescribeImageScanFindings, with findings a test sets.

moto has no scanner. Here a scan of an image starts on StartImageScan (or on the first
DescribeImageScanFindings of an image in a repository with scanOnPush) and completes after
`seconds` (scaled by the time scale), with the findings set for its repository:

    POST /_bed/ecr-scan {"repository": "app",
                         "findings": [{"name": "CVE-2026-1", "severity": "HIGH"}, ...],
                         "seconds": 2,                 how long a scan takes (default 2)
                         "status": "COMPLETE",         or "FAILED"; "never" stays IN_PROGRESS
                         "enhanced": false}            true: answer in enhancedFindings
    GET  /_bed/ecr-scan                                what is set, and the scans started

Severities are ECR's: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED. An image never
scanned is ScanNotFoundException, as in ECR (images are not looked up: they live in the registry).
"""

TARGET = "AmazonEC2ContainerRegistry_V20150921."
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]


def _state(bed):
    return bed.state.setdefault("ecr_scan", {"repos": {}, "scans": {}})


def _settings(bed, repo):
    return _state(bed)["repos"].get(repo, {})


def _image_digest(bed, body, _environ):
    """The image the request names: its digest (or tag). Images live in the registry behind
    the ECR plug-in, which moto cannot see, so they are taken as named."""
    image = body.get("imageId") or {}
    name = image.get("imageDigest") or image.get("imageTag")
    if not name:
        return None, bed.error("InvalidParameterException", "imageId needs imageDigest or imageTag")
    return name, None


def _start(bed, repo, digest):
    scans = _state(bed)["scans"]
    key = f"{repo}@{digest}"
    if key not in scans:
        seconds = float(_settings(bed, repo).get("seconds", 2))
        scans[key] = {"started": bed.now(), "due": bed.now() + seconds * bed.time_scale}
    return scans[key]


def start_image_scan(bed, body, environ):
    digest, error = _image_digest(bed, body, environ)
    if error:
        return error
    _start(bed, body["repositoryName"], digest)
    return 200, {"repositoryName": body["repositoryName"], "imageId": {"imageDigest": digest},
                 "imageScanStatus": {"status": "IN_PROGRESS"}}


def _scan_on_push(bed, repo, environ):
    status, out = bed.moto(TARGET + "DescribeRepositories", {"repositoryNames": [repo]}, environ)
    repos = out.get("repositories") or [] if status == 200 else []
    return bool(repos and (repos[0].get("imageScanningConfiguration") or {}).get("scanOnPush"))


def describe_image_scan_findings(bed, body, environ):
    repo = body.get("repositoryName")
    digest, error = _image_digest(bed, body, environ)
    if error:
        return error
    key = f"{repo}@{digest}"
    scan = _state(bed)["scans"].get(key)
    if scan is None and _scan_on_push(bed, repo, environ):
        scan = _start(bed, repo, digest)
    if scan is None:
        return bed.error("ScanNotFoundException",
                         f"Image scan does not exist for the image with '{digest}' in the "
                         f"repository with name '{repo}'")
    settings = _settings(bed, repo)
    wanted = settings.get("status", "COMPLETE")
    out = {"repositoryName": repo, "imageId": {"imageDigest": digest}}
    if wanted == "never" or bed.now() < scan["due"]:
        out["imageScanStatus"] = {"status": "IN_PROGRESS", "description": "scan in progress"}
        return 200, out
    if wanted == "FAILED":
        out["imageScanStatus"] = {"status": "FAILED", "description": "UnsupportedImageError"}
        return 200, out
    findings = settings.get("findings") or []
    counts = {}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    result = {"imageScanCompletedAt": scan["due"], "findingSeverityCounts": counts}
    if settings.get("enhanced"):
        result["enhancedFindings"] = [
            {"severity": f["severity"], "title": f["name"], "type": "PACKAGE_VULNERABILITY",
             "packageVulnerabilityDetails": {"vulnerabilityId": f["name"]}} for f in findings]
        out["imageScanStatus"] = {"status": "ACTIVE", "description": "continuous scan"}
    else:
        result["findings"] = [{"name": f["name"], "severity": f["severity"],
                               "uri": f"https://nvd.nist.gov/vuln/detail/{f['name']}"}
                              for f in findings]
        out["imageScanStatus"] = {"status": "COMPLETE", "description": "scan complete"}
    out["imageScanFindings"] = result
    return 200, out


def control(bed, method, _query, payload):
    state = _state(bed)
    if method == "POST":
        repo = payload.get("repository")
        if not repo:
            raise ValueError("repository is required")
        for finding in payload.get("findings") or []:
            if finding.get("severity") not in SEVERITIES or not finding.get("name"):
                raise ValueError(f"a finding needs a name and a severity in {SEVERITIES}")
        if payload.get("status", "COMPLETE") not in ("COMPLETE", "FAILED", "never"):
            raise ValueError("status is COMPLETE, FAILED or never")
        state["repos"][repo] = {k: v for k, v in payload.items() if k != "repository"}
    return 200, state


def install(bed):
    _state(bed)
    bed.add_target(TARGET + "StartImageScan", start_image_scan)
    bed.add_target(TARGET + "DescribeImageScanFindings", describe_image_scan_findings)
    bed.add_json_control("ecr-scan", control)
