"""Manifest validation of OCI Distribution v1.1 against the real server: bad
pushes get the spec's error code and leave no trace; size and nesting limits."""
import json
import re
import socket
import threading
import unittest

from harness import sha256
from oci_fixtures import (DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, ManifestCase,
                          config_blob, descriptor, dumps, event_count, image_manifest, index_manifest, manifest_rows,
                          put, tag_rows)

MIB = 1024 * 1024


class ManifestValidationTest(ManifestCase):
    """Bad pushes get the spec's error code and leave no trace."""

    repo = "valid/app"
    attempts = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base = image_manifest(cls.server, cls.repo, seed="base")

    def variant(self, **changes):
        m = json.loads(json.dumps(self.base))
        for k, v in changes.items():
            if v is None:
                m.pop(k, None)
            else:
                m[k] = v
        return m

    def assertRejected(self, body, status, code, content_type=OCI_MANIFEST, repo=None, message=None):
        """PUTs `body` under a fresh tag and checks the error, and that
        nothing was written."""
        repo = repo or self.repo
        ManifestValidationTest.attempts += 1
        ref = f"bad{self.attempts}"
        body = body if isinstance(body, bytes) else dumps(body)
        events_before = event_count(self.server)
        rows_before = manifest_rows(self.server, repo, sha256(body))
        r, digest = put(self.server, repo, ref, body, content_type)
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.error_code(), code, r)
        if message:
            self.assertRegex(r.json()["errors"][0]["message"], message)
        self.assertEqual(event_count(self.server), events_before)
        self.assertEqual(manifest_rows(self.server, repo, digest), rows_before)
        self.assertNotIn(ref, tag_rows(self.server, repo))
        return r

    def test_base_variant_is_valid(self):
        # Guards the other tests: their only fault is the one they introduce.
        r, d = put(self.server, self.repo, "good", dumps(self.variant()), OCI_MANIFEST)
        self.assertPushed(r, self.repo, d)

    def test_content_type_contradicting_media_type(self):
        for ct in (DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST):
            with self.subTest(ct=ct):
                self.assertRejected(self.variant(), 400, "MANIFEST_INVALID", content_type=ct,
                                    message="does not match")
        # No mediaType: the Content-Type says index, the body is an image.
        self.assertRejected(self.variant(mediaType=None), 400, "MANIFEST_INVALID", content_type=OCI_INDEX)

    def test_schema1_refused_with_a_clear_message(self):
        schema1 = {"schemaVersion": 1, "name": "valid/app", "tag": "latest", "architecture": "amd64",
                   "fsLayers": [{"blobSum": sha256(b"a")}], "history": [{"v1Compatibility": "{}"}],
                   "signatures": [{"header": {"alg": "ES256"}, "signature": "x", "protected": "x"}]}
        for ct in ("application/vnd.docker.distribution.manifest.v1+prettyjws",
                   "application/vnd.docker.distribution.manifest.v1+json", None):
            with self.subTest(ct=ct):
                self.assertRejected(schema1, 400, "MANIFEST_INVALID", content_type=ct, message="(?i)schema 1")
        # A schema 1 Content-Type on a schema 2 body is still schema 1.
        self.assertRejected(self.variant(mediaType=None), 400, "MANIFEST_INVALID",
                            content_type="application/vnd.docker.distribution.manifest.v1+prettyjws",
                            message="(?i)schema 1")

    def test_malformed_json(self):
        good = dumps(self.variant())
        bad_utf8 = dumps(self.variant(annotations={"a": "HERE"})).replace(b"HERE", b"\xc3\x28")
        for body in (b"", b"{", good[:-1], good + b"x", b"not json", b"{'schemaVersion': 2}",
                     b'{"schemaVersion":2,}', b"\xff\xfe{}", bad_utf8, b"\xef\xbb\xbf" + good):
            with self.subTest(body=body[:40]):
                self.assertRejected(body, 400, "MANIFEST_INVALID")

    def test_not_an_object(self):
        for body in (b"[]", b"[" + dumps(self.variant()) + b"]", b'"manifest"', b"2", b"null", b"true"):
            with self.subTest(body=body[:40]):
                self.assertRejected(body, 400, "MANIFEST_INVALID")

    def test_schema_version_must_be_2(self):
        for v in (3, 0, -2, "2", 2.5, None, [2]):
            with self.subTest(v=v):
                self.assertRejected(self.variant(schemaVersion=v), 400, "MANIFEST_INVALID")

    def test_unsupported_media_type(self):
        self.assertRejected(self.variant(mediaType="application/vnd.oci.artifact.manifest.v1+json"), 400,
                            "MANIFEST_INVALID", content_type=None)
        self.assertRejected(self.variant(mediaType=7), 400, "MANIFEST_INVALID", content_type=None)

    def test_structure(self):
        cfg = self.base["config"]
        for name, m in {
            "missing config": self.variant(config=None),
            "config not an object": self.variant(config=[cfg]),
            "config without mediaType": self.variant(config={"digest": cfg["digest"], "size": cfg["size"]}),
            "config without digest": self.variant(config={"mediaType": OCI_CONFIG, "size": cfg["size"]}),
            "config without size": self.variant(config={"mediaType": OCI_CONFIG, "digest": cfg["digest"]}),
            "layers missing": self.variant(layers=None),
            "layers not an array": self.variant(layers=self.base["layers"][0]),
            "layer not an object": self.variant(layers=["sha256:" + "a" * 64]),
            "image with manifests": self.variant(manifests=[]),
            "annotations not an object": self.variant(annotations=["a"]),
            "annotation not a string": self.variant(annotations={"a": 1}),
            "subject not a descriptor": self.variant(subject="sha256:" + "a" * 64),
            "artifactType not a string": self.variant(artifactType=1),
        }.items():
            with self.subTest(name):
                self.assertRejected(m, 400, "MANIFEST_INVALID")

    def test_index_structure(self):
        child = dumps(self.variant())
        self.assertEqual(put(self.server, self.repo, sha256(child), child, OCI_MANIFEST)[0].status, 201)
        good = index_manifest([(OCI_MANIFEST, child)])
        self.assertPushed(put(self.server, self.repo, "idx", dumps(good), OCI_INDEX)[0], self.repo,
                          sha256(dumps(good)))
        for name, m in {
            "manifests missing": {"schemaVersion": 2, "mediaType": OCI_INDEX},
            "manifests not an array": dict(good, manifests=good["manifests"][0]),
            "index with config": dict(good, config=self.base["config"]),
            "index with layers": dict(good, layers=self.base["layers"]),
            "child without digest": dict(good, manifests=[{"mediaType": OCI_MANIFEST, "size": len(child)}]),
        }.items():
            with self.subTest(name):
                self.assertRejected(m, 400, "MANIFEST_INVALID", content_type=OCI_INDEX)

    def test_bad_descriptor_digests(self):
        cfg = self.base["config"]
        hexd = cfg["digest"].split(":")[1]
        for bad in ("sha256:1234", "sha256:" + hexd.upper(), "sha256:" + "g" * 64, "sha256:" + hexd + "0",
                    hexd, "md5:" + hexd[:32], ":" + hexd, "sha256:", 12, None, ["sha256:" + hexd]):
            with self.subTest(digest=bad):
                self.assertRejected(self.variant(config=dict(cfg, digest=bad)), 400, "MANIFEST_INVALID")
                layer = dict(self.base["layers"][0], digest=bad)
                self.assertRejected(self.variant(layers=[layer]), 400, "MANIFEST_INVALID")

    def test_bad_descriptor_sizes(self):
        for bad in (-1, "233", 1.5, None, True, 2 ** 64):
            with self.subTest(size=bad):
                self.assertRejected(self.variant(config=dict(self.base["config"], size=bad)), 400,
                                    "MANIFEST_INVALID")

    def test_missing_blobs(self):
        ghost = b"a layer that was never pushed"
        m = self.variant(layers=self.base["layers"] + [descriptor(OCI_LAYER, ghost)])
        r = self.assertRejected(m, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertEqual(r.json()["errors"][0]["detail"], sha256(ghost))
        ghost_cfg = b'{"never":"pushed"}'
        r = self.assertRejected(self.variant(config=descriptor(OCI_CONFIG, ghost_cfg)), 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertEqual(r.json()["errors"][0]["detail"], sha256(ghost_cfg))

    def test_blob_of_another_repository_is_unknown_here(self):
        other = "valid/other"
        private = b"a layer only valid/other has"
        self.server.push_blob(other, private)
        self.server.push_blob(other, config_blob("base"))
        m = self.variant(layers=[descriptor(OCI_LAYER, private)])
        self.assertEqual(put(self.server, other, "ok", dumps(m), OCI_MANIFEST)[0].status, 201)
        r = self.assertRejected(m, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertEqual(r.json()["errors"][0]["detail"], sha256(private))

    def test_push_to_a_new_repository_with_missing_blobs_creates_nothing(self):
        repo = "valid/never-created"
        self.assertRejected(self.variant(), 400, "MANIFEST_BLOB_UNKNOWN", repo=repo)
        self.assertNotFound(self.req("GET", f"/v2/{repo}/tags/list"), code="NAME_UNKNOWN")
        self.assertNotIn(repo, self.req("GET", "/v2/_catalog").json()["repositories"])

    def test_index_with_missing_child(self):
        child = dumps(self.variant(annotations={"pushed": "no"}))
        r = self.assertRejected(index_manifest([(OCI_MANIFEST, child)]), 400, "MANIFEST_BLOB_UNKNOWN",
                                content_type=OCI_INDEX)
        self.assertEqual(r.json()["errors"][0]["detail"], sha256(child))
        # A blob is not a manifest.
        cfg = self.base["config"]
        m = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [dict(cfg, mediaType=OCI_MANIFEST)]}
        self.assertRejected(m, 400, "MANIFEST_BLOB_UNKNOWN", content_type=OCI_INDEX)

    def test_descriptor_size_not_matching(self):
        layer = self.base["layers"][0]
        for size in (layer["size"] + 1, layer["size"] - 1, 0):
            with self.subTest(size=size):
                r = self.assertRejected(self.variant(layers=[dict(layer, size=size)]), 400, "MANIFEST_INVALID")
                self.assertEqual(r.json()["errors"][0]["detail"], layer["digest"])
        child = dumps(self.variant(annotations={"child": "sized"}))
        self.assertEqual(put(self.server, self.repo, sha256(child), child, OCI_MANIFEST)[0].status, 201)
        idx = index_manifest([(OCI_MANIFEST, child)])
        idx["manifests"][0]["size"] += 7
        r = self.assertRejected(idx, 400, "MANIFEST_INVALID", content_type=OCI_INDEX)
        self.assertEqual(r.json()["errors"][0]["detail"], sha256(child))

    def test_foreign_layers_need_not_be_pushed(self):
        foreign = {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                   "digest": sha256(b"windows base layer"), "size": 18,
                   "urls": ["https://example.invalid/layer"]}
        m = image_manifest(self.server, self.repo, seed="foreign", docker=True)
        m["layers"].insert(0, foreign)
        r, d = put(self.server, self.repo, "foreign", dumps(m), DOCKER_MANIFEST)
        self.assertPushed(r, self.repo, d)

    def test_put_by_digest_must_match_the_body(self):
        body = dumps(self.variant(annotations={"by": "digest"}))
        other = sha256(body + b" ")
        events_before = event_count(self.server)
        r = self.req("PUT", f"/v2/{self.repo}/manifests/{other}", body=body, headers={"Content-Type": OCI_MANIFEST})
        self.assertError(r, 400, "DIGEST_INVALID")
        self.assertEqual(event_count(self.server), events_before)
        self.assertEqual(manifest_rows(self.server, self.repo, sha256(body)), 0)
        for bad in ("sha256:abc", "sha256:" + "Z" * 64, "foo:bar"):
            r = self.req("PUT", f"/v2/{self.repo}/manifests/{bad}", body=body,
                         headers={"Content-Type": OCI_MANIFEST})
            self.assertError(r, 400, "DIGEST_INVALID")
        r = self.req("PUT", f"/v2/{self.repo}/manifests/{sha256(body)}", body=body,
                     headers={"Content-Type": OCI_MANIFEST})
        self.assertPushed(r, self.repo, sha256(body))

    def test_invalid_tag(self):
        body = dumps(self.variant())
        for tag in ("-leading-dash", ".dot", "a" * 129, "bad!tag", "t@g", "%2e%2e"):
            with self.subTest(tag=tag):
                r, _ = put(self.server, self.repo, tag, body, OCI_MANIFEST)
                self.assertError(r, 400, "MANIFEST_INVALID")
                self.assertError(self.req("GET", f"/v2/{self.repo}/manifests/{tag}"), 400, "MANIFEST_INVALID")
        longest = "A_" + "z" * 126
        r, d = put(self.server, self.repo, longest, body, OCI_MANIFEST)
        self.assertPushed(r, self.repo, d)
        self.assertIn(longest, self.tags(self.repo))

    def test_invalid_repository_name(self):
        body = dumps(self.variant())
        for name in ("Upper/case", "a//b", "a/", "-a", "a" * 256):
            with self.subTest(name=name):
                r, _ = put(self.server, name, "t", body, OCI_MANIFEST)
                self.assertError(r, 400, "NAME_INVALID")
                self.assertError(self.req("GET", f"/v2/{name}/manifests/t"), 400, "NAME_INVALID")

    def test_deeply_nested_json(self):
        deep = dumps(self.variant()).replace(b'"schemaVersion"', b'"x": ' + b"[" * 100 + b"]" * 100 +
                                             b', "schemaVersion"')
        self.assertRejected(deep, 400, "MANIFEST_INVALID", message="nested")
        self.assertRejected(b"[" * 1_000_000, 400, "MANIFEST_INVALID", message="nested")
        self.assertRejected(b'{"a":' * 200_000, 400, "MANIFEST_INVALID", message="nested")
        # Brackets inside strings are not nesting; modest nesting is fine.
        ok = dumps(self.variant(annotations={"brackets": "[" * 1000 + "{" * 1000},
                                **{"x-extension": json.loads("[" * 40 + "]" * 40)}))
        r, d = put(self.server, self.repo, "nested-ok", ok, OCI_MANIFEST)
        self.assertPushed(r, self.repo, d)
        self.assertEqual(self.req("GET", "/healthz").status, 200)

    def test_manifest_of_exactly_the_limit_is_accepted(self):
        m = self.variant(annotations={"pad": ""})
        pad = 4 * MIB - len(dumps(m))
        body = dumps(self.variant(annotations={"pad": "p" * pad}))
        self.assertEqual(len(body), 4 * MIB)
        r, d = put(self.server, self.repo, "four-mib", body, OCI_MANIFEST)
        self.assertPushed(r, self.repo, d)
        self.assertServed(self.req("GET", f"/v2/{self.repo}/manifests/four-mib"), body, OCI_MANIFEST)

    def raw_put(self, path, body, chunked):
        """Sends a PUT while reading the answer concurrently: the server may
        answer (and close) before it has read the whole body."""
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        head = f"PUT {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {OCI_MANIFEST}\r\n"
        if chunked:
            head += "Transfer-Encoding: chunked\r\n\r\n"
            step = 64 * 1024
            payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + step]), body[i:i + step])
                               for i in range(0, len(body), step)) + b"0\r\n\r\n"
        else:
            head += f"Content-Length: {len(body)}\r\n\r\n"
            payload = body

        def send():
            try:
                sock.sendall(head.encode() + payload)
            except OSError:
                pass  # the server stopped reading after its answer

        sender = threading.Thread(target=send)
        sender.start()
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                head_end = data.find(b"\r\n\r\n")
                if head_end >= 0:
                    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", data[:head_end])
                    if m and len(data) - head_end - 4 >= int(m.group(1)):
                        break
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already reset by the server
            sender.join()
            sock.close()
        status_line, _, rest = data.partition(b"\r\n")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]

    def test_manifest_over_4mib(self):
        m = self.variant(annotations={"pad": ""})
        body = dumps(self.variant(annotations={"pad": "p" * (4 * MIB + 1 - len(dumps(m)))}))
        self.assertEqual(len(body), 4 * MIB + 1)
        events_before = event_count(self.server)
        for chunked in (False, True):
            with self.subTest(chunked=chunked):
                status, resp = self.raw_put(f"/v2/{self.repo}/manifests/huge", body, chunked)
                self.assertEqual(status, 413, resp)
                self.assertEqual(json.loads(resp)["errors"][0]["code"], "SIZE_INVALID")
        self.assertEqual(event_count(self.server), events_before)
        self.assertEqual(manifest_rows(self.server, self.repo, sha256(body)), 0)
        self.assertNotFound(self.req("GET", f"/v2/{self.repo}/manifests/huge"))


if __name__ == "__main__":
    unittest.main()
