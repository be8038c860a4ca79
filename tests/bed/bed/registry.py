"""The bed's docker registry (tools.docker) as ECR sees it: the v2 API client and ECR's tag
mutability rule. The ECR plug-in answers the image calls from it; tools.docker's push proxy
refuses what ECR would refuse with it."""

import base64
import datetime
import fnmatch
import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request

MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]

class EcrError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Registry:
    def __init__(self, info):
        self.address, self.user, self.password = info["address"], info["user"], info["password"]
        # The registry itself, behind the push-policy proxy that clients see (bed.tools.docker).
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


def tag_is_immutable(repo, tag):
    # IMMUTABLE(_WITH_EXCLUSION): fixed unless a WILDCARD filter matches; MUTABLE_WITH_EXCLUSION:
    # fixed only where a filter matches.
    mode = getattr(repo, "image_tag_mutability", "MUTABLE")
    filters = getattr(repo, "image_tag_mutability_exclusion_filters", None) or []
    matched = any(fnmatch.fnmatchcase(tag, f.get("filter", "")) for f in filters)
    if mode.startswith("IMMUTABLE"):
        return not matched
    return mode == "MUTABLE_WITH_EXCLUSION" and matched
