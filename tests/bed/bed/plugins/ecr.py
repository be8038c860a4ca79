"""ECR backed by the bed's real registry (tools.docker), so `docker push` and the ECR API agree.

When STATE_DIR/registry.json exists (tools.docker is running), the ECR image calls are answered
from the registry's v2 API instead of moto's in-memory store: GetAuthorizationToken hands out the
registry's own credentials (AWS:<password>) and its address; BatchGetImage, DescribeImages,
ListImages, PutImage and BatchDeleteImage read and write manifests there, so digests are the ones
docker printed; a repository's repositoryUri names the registry. Repositories themselves
(CreateRepository, tag mutability, policies) stay moto's; an image call on a repository moto does
not know fails with RepositoryNotFoundException, as in ECR.

ECR Public's GetAuthorizationToken (moto has no ECR Public) is answered as AWS does: one token
for public.ecr.aws, valid 12 hours, from us-east-1 only; a call signed for another region is
refused with UnsupportedCommandException, as AWS refuses it.
"""

import base64
import datetime
import hashlib
import json
import os
import re

from bed.registry import MANIFEST_TYPES, EcrError, Registry, tag_is_immutable

TARGET = "AmazonEC2ContainerRegistry_V20150921."
PUBLIC_TARGET = "SpencerFrontendService."
PUBLIC_REGION = "us-east-1"
HANDLED = {
    "GetAuthorizationToken", "BatchGetImage", "DescribeImages", "ListImages", "PutImage",
    "BatchDeleteImage",
}
# moto answers these; the registry's address replaces moto's made-up repositoryUri host.
URI_REWRITTEN = {"CreateRepository", "DescribeRepositories"}


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


def rewrite_uris(bed, _request, _status, result):
    """moto's repositories with the registry's address in repositoryUri (while it runs)."""
    reg = _ecr(bed).registry()
    if reg is not None:
        for repo in result.get("repositories", []) + [result.get("repository") or {}]:
            if "repositoryUri" in repo:
                repo["repositoryUri"] = f"{reg.address}/{repo['repositoryName']}"
    return result


def answer(op):
    """The handler of an image call: the registry's answer while it runs, else moto's."""
    def handler(bed, body, environ):
        ecr = _ecr(bed)
        reg = ecr.registry()
        if reg is None:
            return None
        account, region = account_region(environ)
        try:
            return 200, ecr.dispatch(op, body, account, region, reg)
        except EcrError as err:
            return bed.error(err.code, err.message, err.status)
    return handler


def public_token(bed, _body, environ):
    """ECR Public's login: `AWS:<opaque token>` in base64, expiring in 12 hours."""
    _account, region = account_region(environ)
    if region != PUBLIC_REGION:
        return bed.error("UnsupportedCommandException",
                         f"The action isn't supported in this Region ({region}): ECR Public "
                         f"hands out authorization tokens in {PUBLIC_REGION} only")
    secret = base64.b64encode(os.urandom(96)).decode()
    expires = bed.now() + 12 * 3600
    return 200, {"authorizationData": {
        "authorizationToken": base64.b64encode(f"AWS:{secret}".encode()).decode(),
        "expiresAt": expires,
    }}


def _ecr(bed):
    return bed.state["ecr"]


def install(bed):
    bed.state["ecr"] = Ecr(str(bed.state_dir))
    for op in sorted(HANDLED):
        bed.add_target(TARGET + op, answer(op))
    bed.add_target(PUBLIC_TARGET + "GetAuthorizationToken", public_token)
    for op in sorted(URI_REWRITTEN):
        bed.add_response_filter(TARGET + op, rewrite_uris)
