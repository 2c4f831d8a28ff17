"""Real client, real images: skopeo copies every image in ../shared/images
into Custody and back out, and every byte must survive."""
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

from harness import IMAGES, ServerTestCase, sha256

IMAGE_FILES = sorted(f for f in os.listdir(IMAGES) if f.endswith(".oci.tar"))


def skopeo(*args):
    r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def read_layout_tar(path):
    """Returns (manifest bytes, {digest: bytes-hash}) of an OCI layout tar."""
    with tarfile.open(path) as t:
        index = json.load(t.extractfile("index.json"))
        digest = index["manifests"][0]["digest"]
        manifest = t.extractfile("blobs/sha256/" + digest.split(":")[1]).read()
    return manifest, digest


def layout_dir_manifest(path):
    with open(os.path.join(path, "index.json")) as f:
        digest = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(path, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read(), digest


def blob_digests(path):
    """Recomputes the digest of every blob in an OCI layout dir."""
    out = {}
    root = os.path.join(path, "blobs", "sha256")
    for name in os.listdir(root):
        h = hashlib.sha256()
        with open(os.path.join(root, name), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        out["sha256:" + name] = "sha256:" + h.hexdigest()
    return out


class SkopeoRoundTripTest(ServerTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="custody-skopeo-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def roundtrip(self, image_file, repo, extra_push_args=()):
        src = os.path.join(IMAGES, image_file)
        dest = f"docker://{self.server.address}/{repo}:latest"
        skopeo("copy", "--dest-tls-verify=false", *extra_push_args, f"oci-archive:{src}", dest)
        out = os.path.join(self.tmp, repo.replace("/", "_"))
        skopeo("copy", "--src-tls-verify=false", dest, f"oci:{out}:latest")
        return out

    def test_images_roundtrip_byte_for_byte(self):
        self.assertGreaterEqual(len(IMAGE_FILES), 3)
        for image_file in IMAGE_FILES:
            with self.subTest(image=image_file):
                src_manifest, src_digest = read_layout_tar(os.path.join(IMAGES, image_file))
                repo = "roundtrip/" + image_file.split(".")[0]
                out = self.roundtrip(image_file, repo)
                got_manifest, got_digest = layout_dir_manifest(out)
                self.assertEqual(got_manifest, src_manifest)
                self.assertEqual(got_digest, src_digest)
                # The registry serves the very bytes that were pushed.
                r = self.req("GET", f"/v2/{repo}/manifests/latest",
                             headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                self.assertEqual(r.body, src_manifest)
                self.assertEqual(r.header("Docker-Content-Digest"), src_digest)
                # Every blob pulled back hashes to its name, and all are present.
                m = json.loads(src_manifest)
                wanted = {m["config"]["digest"]} | {l["digest"] for l in m["layers"]}
                digests = blob_digests(out)
                for name, actual in digests.items():
                    self.assertEqual(name, actual)
                self.assertTrue(wanted <= set(digests), wanted - set(digests))

    def test_docker_v2s2_format(self):
        """skopeo --format v2s2 converts each OCI image to a Docker schema 2
        manifest on the way in: what Custody stores and serves must be exactly
        the converted bytes skopeo pushed, and every layer (and the config)
        keeps its digest and size through the conversion and back out."""
        v2s2 = "application/vnd.docker.distribution.manifest.v2+json"
        self.assertGreaterEqual(len(IMAGE_FILES), 3)
        for image_file in IMAGE_FILES:
            with self.subTest(image=image_file):
                src_manifest, _ = read_layout_tar(os.path.join(IMAGES, image_file))
                src = json.loads(src_manifest)
                repo = "v2s2/" + image_file.split(".")[0]
                dest = f"docker://{self.server.address}/{repo}:latest"
                skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2",
                       f"oci-archive:{os.path.join(IMAGES, image_file)}", dest)
                raw = skopeo("inspect", "--raw", "--tls-verify=false", dest).encode()
                m = json.loads(raw)
                self.assertEqual(m["mediaType"], v2s2)
                self.assertEqual(m["config"]["mediaType"], "application/vnd.docker.container.image.v1+json")
                # The layers and the config are the very blobs of the source.
                self.assertEqual([(l["digest"], l["size"]) for l in m["layers"]],
                                 [(l["digest"], l["size"]) for l in src["layers"]])
                self.assertEqual((m["config"]["digest"], m["config"]["size"]),
                                 (src["config"]["digest"], src["config"]["size"]))
                for l in m["layers"]:
                    self.assertEqual(l["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip")
                # Custody serves the converted bytes exactly, by tag and by digest.
                digest = sha256(raw)
                r = self.req("GET", f"/v2/{repo}/manifests/latest", headers={"Accept": v2s2})
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("Content-Type"), v2s2)
                self.assertEqual(r.header("Docker-Content-Digest"), digest)
                self.assertEqual(r.body, raw)
                r = self.req("GET", f"/v2/{repo}/manifests/{digest}", headers={"Accept": v2s2})
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, raw)
                # Pulled back out, every byte matches what went in.
                out = os.path.join(self.tmp, repo.replace("/", "_"))
                skopeo("copy", "--src-tls-verify=false", dest, f"dir:{out}")
                with open(os.path.join(out, "manifest.json"), "rb") as f:
                    self.assertEqual(f.read(), raw)
                for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
                    h = hashlib.sha256()
                    with open(os.path.join(out, d.split(":")[1]), "rb") as f:
                        for chunk in iter(lambda: f.read(1 << 20), b""):
                            h.update(chunk)
                    self.assertEqual("sha256:" + h.hexdigest(), d)

    def test_shared_layer_is_stored_once(self):
        self.roundtrip("debian-bookworm-minbase.oci.tar", "dedup/minbase")
        self.roundtrip("debian-bookworm-tools.oci.tar", "dedup/tools")
        shared = "b89d324372014aecead755c641df50e7403c97da4257da8ee07043536fa7848a"
        path = os.path.join(self.server.data_dir, "blobs", "sha256", shared[:2], shared)
        self.assertTrue(os.path.exists(path))
        self.assertEqual(os.stat(path).st_nlink, 1)
        for repo in ("dedup/minbase", "dedup/tools"):
            r = self.req("HEAD", f"/v2/{repo}/blobs/sha256:{shared}")
            self.assertEqual(r.status, 200)
            self.assertEqual(int(r.header("Content-Length")), 29988152)

    def test_copy_between_repositories_mounts(self):
        self.roundtrip("busybox-tiny.oci.tar", "mount/src")
        skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
               f"docker://{self.server.address}/mount/src:latest",
               f"docker://{self.server.address}/mount/dst:copied")
        log = self.server.read_log()
        self.assertIn("mount=", log)
        r = self.req("GET", "/v2/mount/dst/tags/list")
        self.assertEqual(r.json()["tags"], ["copied"])


if __name__ == "__main__":
    unittest.main()
