"""Manifest builders, real test images and custody-log readers shared by
test_manifests, test_manifest_validation, test_tags and test_referrers, and
the manifest test case of the first two (stdlib only)."""
import contextlib
import json
import os
import sqlite3
import tarfile

from harness import IMAGES, ServerTestCase, sha256

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
SIGNATURES = os.path.join(IMAGES, "signatures")

# The real busybox image (umoci: no top-level mediaType, trailing newline).
BUSYBOX_DIGEST = "sha256:7d278ce553f083f4ed98d04fef756a446051858069fc84e55a11364604fd7fd1"


def dumps(obj) -> bytes:
    return json.dumps(obj).encode()


def descriptor(media_type, data: bytes, **extra):
    d = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    d.update(extra)
    return d


def config_blob(seed):
    return json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()


def image_manifest(server, repo, seed="x", docker=False, media_type=True, layers=1, **extra):
    """Pushes a config and `layers` layers unique to `seed`; returns the
    manifest as a dict (not pushed)."""
    cfg = config_blob(seed)
    server.push_blob(repo, cfg)
    descs = []
    for i in range(layers):
        layer = f"layer {i} of {seed}".encode()
        server.push_blob(repo, layer)
        descs.append(descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer))
    m = {"schemaVersion": 2}
    if media_type:
        m["mediaType"] = DOCKER_MANIFEST if docker else OCI_MANIFEST
    m["config"] = descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, cfg)
    m["layers"] = descs
    m.update(extra)
    return m


def index_manifest(children, docker=False, media_type=True, **extra):
    """An index over (media type, bytes) pairs of already pushed manifests."""
    m = {"schemaVersion": 2}
    if media_type:
        m["mediaType"] = DOCKER_LIST if docker else OCI_INDEX
    m["manifests"] = [descriptor(mt, body, platform={"architecture": arch, "os": "linux"})
                      for (mt, body), arch in zip(children, ["amd64", "arm64", "s390x", "ppc64le"])]
    m.update(extra)
    return m


def put(server, repo, ref, body: bytes, content_type):
    """PUT a manifest as raw bytes; returns (response, digest of the bytes)."""
    headers = {"Content-Type": content_type} if content_type else {}
    r = server.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body, headers=headers)
    return r, sha256(body)


def read_layout(archive):
    """Returns (index.json dict, {digest: bytes}) of an OCI archive in IMAGES."""
    blobs = {}
    with tarfile.open(os.path.join(IMAGES, archive)) as tar:
        index = json.loads(tar.extractfile("index.json").read())
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("blobs/sha256/"):
                blobs["sha256:" + member.name.rsplit("/", 1)[1]] = tar.extractfile(member).read()
    return index, blobs


def push_busybox(server, repo, tag):
    """Pushes the real busybox image byte for byte; returns the manifest bytes."""
    _, blobs = read_layout("busybox-tiny.oci.tar")
    body = blobs[BUSYBOX_DIGEST]
    m = json.loads(body)
    for d in [m["config"]] + m["layers"]:
        assert server.push_blob(repo, blobs[d["digest"]]) == d["digest"]
    r, digest = put(server, repo, tag, body, OCI_MANIFEST)
    assert r.status == 201 and digest == BUSYBOX_DIGEST, r
    return body


def signature_file(name) -> bytes:
    with open(os.path.join(SIGNATURES, name), "rb") as f:
        return f.read()


def meta_db(server):
    """A read-only connection to the server's SQLite store, closed on exit."""
    path = os.path.join(server.data_dir, "meta.db")
    return contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10))


def events(server, after_seq=0):
    """The custody log rows after `after_seq`, oldest first, detail parsed."""
    with meta_db(server) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM events WHERE seq > ? ORDER BY seq", (after_seq,)).fetchall()
    out = []
    for row in rows:
        e = dict(row)
        e["detail"] = json.loads(e["detail"])
        out.append(e)
    return out


def last_seq(server):
    with meta_db(server) as db:
        return db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def event_count(server):
    with meta_db(server) as db:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]


def manifest_rows(server, repo, digest):
    with meta_db(server) as db:
        return db.execute("SELECT count(*) FROM manifests WHERE repository = ? AND digest = ?",
                          (repo, digest)).fetchone()[0]


def tag_rows(server, repo):
    with meta_db(server) as db:
        return dict(db.execute("SELECT name, digest FROM tags WHERE repository = ?", (repo,)).fetchall())


class ManifestCase(ServerTestCase):
    """Assertions shared by the manifest tests."""

    def assertPushed(self, r, repo, digest, subject=None):
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Location"), f"/v2/{repo}/manifests/{digest}")
        self.assertEqual(r.header("Docker-Content-Digest"), digest)
        self.assertEqual(r.header("Content-Length"), "0")
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("OCI-Subject"), subject)

    def assertServed(self, r, body, media_type, head=False):
        digest = sha256(body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), media_type)
        self.assertEqual(r.header("Docker-Content-Digest"), digest)
        self.assertEqual(r.header("ETag"), f'"{digest}"')
        self.assertEqual(r.header("Content-Length"), str(len(body)))
        self.assertEqual(r.body, b"" if head else body)

    def assertNotFound(self, r, code="MANIFEST_UNKNOWN", head=False):
        self.assertEqual(r.status, 404, r)
        if head:
            self.assertEqual(r.body, b"")
        else:
            self.assertEqual(r.error_code(), code, r)

    def tags(self, repo):
        r = self.req("GET", f"/v2/{repo}/tags/list")
        self.assertEqual(r.status, 200, r)
        return r.json()["tags"]
