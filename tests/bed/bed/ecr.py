"""ECR backed by the bed's real registry (bed.docker), so `docker push` and the ECR API agree.

When STATE_DIR/registry.json exists (bed.docker is running), the ECR image calls are answered
from the registry's v2 API instead of moto's in-memory store: GetAuthorizationToken hands out the
registry's own credentials (AWS:<password>) and its address; BatchGetImage, DescribeImages,
ListImages, PutImage and BatchDeleteImage read and write manifests there, so digests are the ones
docker printed; a repository's repositoryUri names the registry. Repositories themselves
(CreateRepository, tag mutability, policies) stay moto's; an image call on a repository moto does
not know fails with RepositoryNotFoundException, as in ECR.
"""

import base64
import datetime
import fnmatch
import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request

TARGET = "AmazonEC2ContainerRegistry_V20150921."
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]
HANDLED = {
    "GetAuthorizationToken", "BatchGetImage", "DescribeImages", "ListImages", "PutImage",
    "BatchDeleteImage",
}
# moto answers these; the registry's address replaces moto's made-up repositoryUri host.
URI_REWRITTEN = {"CreateRepository", "DescribeRepositories"}


class EcrError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Registry:
    def __init__(self, info):
        self.address, self.user, self.password = info["address"], info["user"], info["password"]
        # The registry itself, behind the push-policy proxy that clients see (bed.docker).
        self.backend = info.get("backend", self.address)
        # The filesystem storage root: the v2 API has no push time and no untagged listing.
        self.root = info.get("root")
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        self.auth = f"Basic {token}"

    def call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(
            f"http://{self.backend}/v2/{path}", data=body, method=method,
            headers={"Authorization": self.auth, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def tags(self, repo):
        status, _, body = self.call("GET", f"{repo}/tags/list")
        if status == 404:
            return []  # nothing pushed yet
        return json.loads(body).get("tags") or []

    def manifest(self, repo, ref):
        """(digest, media type, raw manifest) or None."""
        status, headers, body = self.call(
            "GET", f"{repo}/manifests/{ref}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if status != 200:
            return None
        digest = headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        return digest, headers.get("Content-Type", MANIFEST_TYPES[0]), body

    def put_manifest(self, repo, tag, raw, media_type):
        status, headers, body = self.call(
            "PUT", f"{repo}/manifests/{tag}", body=raw, headers={"Content-Type": media_type}
        )
        if status not in (200, 201):
            if b"BLOB_UNKNOWN" in body:
                # What ECR answers when a manifest references layers that were never pushed.
                raise EcrError("LayersNotFoundException",
                               f"Layers referenced by the manifest are missing: {body[:300]!r}")
            raise EcrError("InvalidParameterException",
                           f"registry refused the manifest: {body[:300]!r}")
        return headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(raw).hexdigest()

    def manifests_dir(self, repo):
        return os.path.join(self.root or "", "docker/registry/v2/repositories", repo, "_manifests")

    def revisions(self, repo):
        """Every manifest digest stored for repo, tagged or not (filesystem storage)."""
        top = os.path.join(self.manifests_dir(repo), "revisions", "sha256")
        if not self.root or not os.path.isdir(top):
            return []
        return [f"sha256:{h}" for h in os.listdir(top) if os.path.exists(os.path.join(top, h, "link"))]

    def pushed_at(self, repo, digest):
        link = os.path.join(self.manifests_dir(repo), "revisions", *digest.split(":", 1), "link")
        try:
            return os.path.getmtime(link)
        except OSError:
            return datetime.datetime.now(datetime.timezone.utc).timestamp()

    def untag(self, repo, tag):
        # The v2 API deletes manifests, not tags; ECR removes just the tag when others remain.
        shutil.rmtree(os.path.join(self.manifests_dir(repo), "tags", tag), ignore_errors=True)

    def delete(self, repo, digest):
        status, _, body = self.call("DELETE", f"{repo}/manifests/{digest}")
        if status not in (200, 202, 404):
            raise EcrError("ServerException", f"registry refused the delete: {body[:300]!r}", 500)

    def images(self, repo):
        """{digest: {"tags": [...], "type": media type, "raw": bytes}}, untagged ones included."""
        found = {}
        for tag in self.tags(repo):
            got = self.manifest(repo, tag)
            if got:
                digest, media_type, raw = got
                entry = found.setdefault(digest, {"tags": [], "type": media_type, "raw": raw})
                entry["tags"].append(tag)
        for digest in self.revisions(repo):
            if digest not in found:
                got = self.manifest(repo, digest)
                if got:
                    found[digest] = {"tags": [], "type": got[1], "raw": got[2]}
        return found


def media_type_of(raw, fallback):
    try:
        return json.loads(raw).get("mediaType") or fallback
    except ValueError:
        return fallback


def image_size(raw):
    try:
        m = json.loads(raw)
    except ValueError:
        return 0
    layers = sum(layer.get("size", 0) for layer in m.get("layers", []))
    return layers + m.get("config", {}).get("size", 0)


def tag_is_immutable(repo, tag):
    # IMMUTABLE(_WITH_EXCLUSION): fixed unless a WILDCARD filter matches; MUTABLE_WITH_EXCLUSION:
    # fixed only where a filter matches.
    mode = getattr(repo, "image_tag_mutability", "MUTABLE")
    filters = getattr(repo, "image_tag_mutability_exclusion_filters", None) or []
    matched = any(fnmatch.fnmatchcase(tag, f.get("filter", "")) for f in filters)
    if mode.startswith("IMMUTABLE"):
        return not matched
    return mode == "MUTABLE_WITH_EXCLUSION" and matched


def image_ids(digest, tags):
    """ECR's ImageIdentifier list for an image: one per tag, or the digest alone."""
    return [{"imageDigest": digest, "imageTag": t} for t in tags] or [{"imageDigest": digest}]


def tag_filter(body):
    return (body.get("filter") or {}).get("tagStatus", "ANY")


def keep(entry, status):
    return status == "ANY" or (status == "TAGGED") == bool(entry["tags"])


class Ecr:
    def __init__(self, state_dir):
        self.state_dir = state_dir

    def registry(self):
        path = os.path.join(self.state_dir, "registry.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return Registry(json.load(f))

    def moto_repo(self, account, region, name):
        # moto keeps the repository (and its tag mutability); the images live in the registry.
        from moto.ecr.models import ecr_backends

        repo = ecr_backends[account][region].repositories.get(name)
        if repo is None:
            raise EcrError(
                "RepositoryNotFoundException",
                f"The repository with name '{name}' does not exist in the registry with id '{account}'",
            )
        return repo

    def dispatch(self, op, body, account, region, reg):
        if op == "GetAuthorizationToken":
            token = base64.b64encode(f"{reg.user}:{reg.password}".encode()).decode()
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=12)
            return {"authorizationData": [{
                "authorizationToken": token,
                "expiresAt": expires.timestamp(),
                "proxyEndpoint": f"http://{reg.address}",
            }]}
        name = body.get("repositoryName", "")
        repo = self.moto_repo(account, region, name)
        base = {"registryId": body.get("registryId") or account, "repositoryName": name}
        return getattr(self, op)(reg, repo, name, body, base)

    def ListImages(self, reg, repo, name, body, base):
        status = tag_filter(body)
        ids = []
        for digest, entry in reg.images(name).items():
            if keep(entry, status):
                ids += image_ids(digest, entry["tags"])
        return {"imageIds": ids}

    def DescribeImages(self, reg, repo, name, body, base):
        images = reg.images(name)
        if body.get("imageIds"):
            picked = {}
            for image_id in body["imageIds"]:
                digest = self.resolve(reg, name, image_id)
                if digest is None or digest not in images:
                    raise EcrError("ImageNotFoundException", (
                        f"The image with imageId {json.dumps(image_id)} does not exist within the "
                        f"repository with name '{name}' in the registry with id "
                        f"'{base['registryId']}'"))
                picked[digest] = images[digest]
            images = picked
        else:
            images = {d: e for d, e in images.items() if keep(e, tag_filter(body))}
        details = []
        for digest, e in images.items():
            detail = dict(
                base, imageDigest=digest, imageSizeInBytes=image_size(e["raw"]),
                imagePushedAt=reg.pushed_at(name, digest), imageManifestMediaType=e["type"],
                artifactMediaType=json.loads(e["raw"]).get("config", {}).get("mediaType", ""),
            )
            if e["tags"]:
                detail["imageTags"] = e["tags"]
            details.append(detail)
        return {"imageDetails": details}

    def BatchGetImage(self, reg, repo, name, body, base):
        images, failures = [], []
        for image_id in body.get("imageIds", []):
            ref = image_id.get("imageDigest") or image_id.get("imageTag")
            got = reg.manifest(name, ref) if ref else None
            if not got:
                failures.append({"imageId": image_id, "failureCode": "ImageNotFound",
                                 "failureReason": "Requested image not found"})
                continue
            digest, media_type, raw = got
            images.append(dict(base, imageId={**image_id, "imageDigest": digest},
                               imageManifest=raw.decode(), imageManifestMediaType=media_type))
        return {"images": images, "failures": failures}

    def PutImage(self, reg, repo, name, body, base):
        raw = body["imageManifest"].encode()
        tag = body.get("imageTag")
        media_type = body.get("imageManifestMediaType") or media_type_of(raw, MANIFEST_TYPES[0])
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if body.get("imageDigest") and body["imageDigest"] != digest:
            raise EcrError("ImageDigestDoesNotMatchException", (
                "Invalid parameter at 'imageDigest' failed to satisfy constraint: "
                f"'digest does not match the manifest ({digest})'"))
        if tag:
            existing = reg.manifest(name, tag)
            if existing and existing[0] == digest:
                raise EcrError("ImageAlreadyExistsException", (
                    f"Image with digest '{digest}' and tag '{tag}' already exists in the "
                    f"repository with name '{name}' in registry with id '{base['registryId']}'"))
            if existing and tag_is_immutable(repo, tag):
                raise EcrError("ImageTagAlreadyExistsException", (
                    f"The image tag '{tag}' already exists in the '{name}' repository and "
                    "cannot be overwritten because the repository is immutable."))
        digest = reg.put_manifest(name, tag or digest, raw, media_type)
        image_id = image_ids(digest, [tag] if tag else [])[0]
        return {"image": dict(base, imageId=image_id, imageManifest=raw.decode(),
                              imageManifestMediaType=media_type)}

    def BatchDeleteImage(self, reg, repo, name, body, base):
        images = reg.images(name)
        deleted, failures = [], []
        for image_id in body.get("imageIds", []):
            digest = self.resolve(reg, name, image_id)
            if digest is None or digest not in images:
                failures.append({"imageId": image_id, "failureCode": "ImageNotFound",
                                 "failureReason": "Requested image not found"})
                continue
            tags = images[digest]["tags"]
            tag = image_id.get("imageTag")
            if tag and len(tags) > 1:
                reg.untag(name, tag)
                tags.remove(tag)
                deleted.append({"imageDigest": digest, "imageTag": tag})
                continue
            reg.delete(name, digest)
            deleted += image_ids(digest, tags)
            del images[digest]
        return {"imageIds": deleted, "failures": failures}

    @staticmethod
    def resolve(reg, name, image_id):
        if image_id.get("imageDigest"):
            return image_id["imageDigest"]
        got = reg.manifest(name, image_id.get("imageTag", ""))
        return got[0] if got else None


def account_region(environ):
    # The SigV4 credential scope names the region; moto's default account is used like moto does.
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/", auth)
    region = m.group(1) if m else os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return os.environ.get("MOTO_ACCOUNT_ID", "123456789012"), region


def rewrite_uris(app, environ, start_response, reg):
    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    chunks = app(environ, capture)
    try:
        raw = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    if captured["status"].startswith("200"):
        try:
            result = json.loads(raw)
            for repo in result.get("repositories", []) + [result.get("repository") or {}]:
                if "repositoryUri" in repo:
                    repo["repositoryUri"] = f"{reg.address}/{repo['repositoryName']}"
            raw = json.dumps(result).encode()
        except ValueError:
            pass  # not JSON: pass it through untouched
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    start_response(captured["status"], headers + [("Content-Length", str(len(raw)))])
    return [raw]


def install(app, state_dir):
    ecr = Ecr(state_dir)

    def wrapped(environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        op = target[len(TARGET):] if target.startswith(TARGET) else None
        reg = ecr.registry() if op in HANDLED or op in URI_REWRITTEN else None
        if reg is None:
            return app(environ, start_response)
        if op in URI_REWRITTEN:
            return rewrite_uris(app, environ, start_response, reg)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b"{}"
        account, region = account_region(environ)
        try:
            status, result = "200 OK", ecr.dispatch(op, json.loads(raw or b"{}"), account, region, reg)
        except EcrError as err:
            status = f"{err.status} {'Bad Request' if err.status == 400 else 'Error'}"
            result = {"__type": err.code, "message": err.message}
        data = json.dumps(result).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                                ("Content-Length", str(len(data)))])
        return [data]

    return wrapped
