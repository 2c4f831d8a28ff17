"""The manifest endpoints of OCI Distribution v1.1 against the real server:
PUT/GET/HEAD/DELETE by tag and digest for the four manifest types, byte-exact
storage, media type resolution, Accept negotiation and the OCI-Subject header.
Validation with the spec's error codes is in test_manifest_validation."""
import json
import unittest

from harness import sha256
from oci_fixtures import (BUSYBOX_DIGEST, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
                          ManifestCase, dumps, event_count, image_manifest, index_manifest, manifest_rows,
                          push_busybox, put, read_layout)


class ManifestTypesTest(ManifestCase):
    """Every supported manifest type goes through the whole life cycle."""

    def lifecycle(self, repo, body, media_type):
        digest = sha256(body)
        r, _ = put(self.server, repo, "v1", body, media_type)
        self.assertPushed(r, repo, digest)
        for ref in ("v1", digest):
            self.assertServed(self.req("GET", f"/v2/{repo}/manifests/{ref}"), body, media_type)
            self.assertServed(self.req("HEAD", f"/v2/{repo}/manifests/{ref}"), body, media_type, head=True)
        self.assertEqual(self.tags(repo), ["v1"])

        # DELETE by tag: the tag goes, the manifest stays reachable by digest.
        r = self.req("DELETE", f"/v2/{repo}/manifests/v1")
        self.assertEqual(r.status, 202, r)
        self.assertNotFound(self.req("GET", f"/v2/{repo}/manifests/v1"))
        self.assertNotFound(self.req("HEAD", f"/v2/{repo}/manifests/v1"), head=True)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/{digest}"), body, media_type)
        self.assertEqual(self.tags(repo), [])

        # Tag it again (PUT by tag of the same bytes), then DELETE by digest:
        # the manifest and all its tags go.
        self.assertPushed(put(self.server, repo, "v2", body, media_type)[0], repo, digest)
        self.assertPushed(put(self.server, repo, "v3", body, media_type)[0], repo, digest)
        self.assertEqual(self.tags(repo), ["v2", "v3"])
        r = self.req("DELETE", f"/v2/{repo}/manifests/{digest}")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.tags(repo), [])
        for ref in ("v2", "v3", digest):
            self.assertNotFound(self.req("GET", f"/v2/{repo}/manifests/{ref}"))
            self.assertNotFound(self.req("HEAD", f"/v2/{repo}/manifests/{ref}"), head=True)
        self.assertNotFound(self.req("DELETE", f"/v2/{repo}/manifests/{digest}"))
        self.assertNotFound(self.req("DELETE", f"/v2/{repo}/manifests/v2"))

        # PUT by digest: stored untagged.
        r, _ = put(self.server, repo, digest, body, media_type)
        self.assertPushed(r, repo, digest)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/{digest}"), body, media_type)
        self.assertEqual(self.tags(repo), [])

    def test_oci_image_manifest(self):
        repo = "types/oci-image"
        self.lifecycle(repo, dumps(image_manifest(self.server, repo, layers=2)), OCI_MANIFEST)

    def test_docker_v2_schema2_manifest(self):
        repo = "types/docker-image"
        self.lifecycle(repo, dumps(image_manifest(self.server, repo, docker=True, layers=2)), DOCKER_MANIFEST)

    def test_oci_image_index(self):
        repo = "types/oci-index"
        children = []
        for seed in ("amd64", "arm64"):
            child = dumps(image_manifest(self.server, repo, seed=seed))
            r, d = put(self.server, repo, sha256(child), child, OCI_MANIFEST)
            self.assertPushed(r, repo, d)
            children.append((OCI_MANIFEST, child))
        body = dumps(index_manifest(children, annotations={"org.example": "index"}))
        self.lifecycle(repo, body, OCI_INDEX)
        # The children are still there after the index was deleted.
        for _, child in children:
            self.assertServed(self.req("GET", f"/v2/{repo}/manifests/{sha256(child)}"), child, OCI_MANIFEST)

    def test_docker_manifest_list(self):
        repo = "types/docker-list"
        children = []
        for seed in ("amd64", "arm64", "s390x"):
            child = dumps(image_manifest(self.server, repo, seed=seed, docker=True))
            r, d = put(self.server, repo, sha256(child), child, DOCKER_MANIFEST)
            self.assertPushed(r, repo, d)
            children.append((DOCKER_MANIFEST, child))
        self.lifecycle(repo, dumps(index_manifest(children, docker=True)), DOCKER_LIST)

    def test_index_of_indexes(self):
        repo = "types/nested-index"
        child = dumps(image_manifest(self.server, repo))
        self.assertEqual(put(self.server, repo, "leaf", child, OCI_MANIFEST)[0].status, 201)
        inner = dumps(index_manifest([(OCI_MANIFEST, child)]))
        self.assertEqual(put(self.server, repo, "inner", inner, OCI_INDEX)[0].status, 201)
        outer = dumps(index_manifest([(OCI_INDEX, inner)]))
        r, d = put(self.server, repo, "outer", outer, OCI_INDEX)
        self.assertPushed(r, repo, d)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/outer"), outer, OCI_INDEX)

    def test_artifact_with_empty_layers_and_empty_config(self):
        repo = "types/artifact"
        self.server.push_blob(repo, b"{}")
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.thing",
             "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2},
             "layers": []}
        body = dumps(m)
        r, d = put(self.server, repo, "thing", body, OCI_MANIFEST)
        self.assertPushed(r, repo, d)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/thing"), body, OCI_MANIFEST)

    def test_repeated_descriptors(self):
        # Docker images repeat the same (empty) layer; an index may list a child twice.
        repo = "types/repeated"
        m = image_manifest(self.server, repo, layers=2)
        m["layers"] = [m["layers"][0], m["layers"][1], m["layers"][0]]
        body = dumps(m)
        r, d = put(self.server, repo, "dup-layers", body, OCI_MANIFEST)
        self.assertPushed(r, repo, d)
        idx = index_manifest([(OCI_MANIFEST, body), (OCI_MANIFEST, body)])
        r, d = put(self.server, repo, "dup-children", dumps(idx), OCI_INDEX)
        self.assertPushed(r, repo, d)

    def test_repush_is_idempotent(self):
        repo = "types/repush"
        body = dumps(image_manifest(self.server, repo))
        before = event_count(self.server)
        for _ in range(3):
            self.assertPushed(put(self.server, repo, "same", body, OCI_MANIFEST)[0], repo, sha256(body))
        # One manifest.push and one tag.set; the repeats change nothing.
        self.assertEqual(event_count(self.server), before + 2)
        self.assertEqual(manifest_rows(self.server, repo, sha256(body)), 1)

    def test_content_type_parameters_are_ignored(self):
        repo = "types/params"
        body = dumps(image_manifest(self.server, repo))
        r, d = put(self.server, repo, "p", body, OCI_MANIFEST + "; charset=utf-8")
        self.assertPushed(r, repo, d)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/p"), body, OCI_MANIFEST)

    def test_repository_names_containing_endpoint_words(self):
        for repo in ("lib/manifests/x", "lib/blobs/uploads", "lib/tags/list", "lib/referrers", "manifests"):
            with self.subTest(repo=repo):
                body = dumps(image_manifest(self.server, repo))
                r, d = put(self.server, repo, "v1", body, OCI_MANIFEST)
                self.assertPushed(r, repo, d)
                self.assertServed(self.req("GET", f"/v2/{repo}/manifests/v1"), body, OCI_MANIFEST)
                self.assertEqual(self.tags(repo), ["v1"])
                self.assertEqual(self.req("DELETE", f"/v2/{repo}/manifests/{d}").status, 202)

    def test_other_methods_are_refused(self):
        repo = "types/methods"
        body = dumps(image_manifest(self.server, repo))
        self.assertEqual(put(self.server, repo, "m", body, OCI_MANIFEST)[0].status, 201)
        for method in ("POST", "PATCH"):
            self.assertError(self.req(method, f"/v2/{repo}/manifests/m", body=b"{}"), 405, "UNSUPPORTED")


class ByteExactTest(ManifestCase):
    """Manifests are stored and served byte for byte; digests are over the bytes."""

    def test_odd_whitespace_and_trailing_newline(self):
        repo = "exact/whitespace"
        m = image_manifest(self.server, repo)
        cfg, layer = m["config"], m["layers"][0]
        body = (
            '\n  {\r\n\t"layers" : [ {"size":%d ,  "digest":"%s",\n"mediaType":"%s"} ],\n'
            '"annotations":{"x":"caf\\u00e9 \u00e9 \\/"},'
            '   "schemaVersion":   2 , "config":{"mediaType":"%s","size":%d,"digest":"%s"},'
            '"mediaType":"%s"   }\n\n' % (layer["size"], layer["digest"], OCI_LAYER, OCI_CONFIG, cfg["size"],
                                         cfg["digest"], OCI_MANIFEST)).encode()
        self.assertNotEqual(sha256(body), sha256(dumps(json.loads(body))))
        r, d = put(self.server, repo, "odd", body, OCI_MANIFEST)
        self.assertPushed(r, repo, d)
        self.assertEqual(d, sha256(body))
        for ref in ("odd", d):
            self.assertServed(self.req("GET", f"/v2/{repo}/manifests/{ref}"), body, OCI_MANIFEST)

    def test_real_umoci_manifest_with_content_type(self):
        repo = "exact/busybox"
        body = push_busybox(self.server, repo, "1.35")
        self.assertNotIn(b'"mediaType":"application/vnd.oci.image.manifest', body[:40])
        self.assertTrue(body.endswith(b"}\n"))
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/1.35"), body, OCI_MANIFEST)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/{BUSYBOX_DIGEST}"), body, OCI_MANIFEST)

    def test_umoci_manifest_without_content_type_is_inferred(self):
        repo = "exact/inferred"
        index, blobs = read_layout("busybox-tiny.oci.tar")
        body = blobs[BUSYBOX_DIGEST]
        m = json.loads(body)
        self.assertNotIn("mediaType", m)
        for d in [m["config"]] + m["layers"]:
            self.server.push_blob(repo, blobs[d["digest"]])
        r, d = put(self.server, repo, "bare", body, None)
        self.assertPushed(r, repo, BUSYBOX_DIGEST)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/bare"), body, OCI_MANIFEST)

        # The layout's index.json (no mediaType either) is inferred as an index.
        index_body = dumps(index)
        self.assertNotIn("mediaType", index)
        r, d = put(self.server, repo, "index", index_body, None)
        self.assertPushed(r, repo, sha256(index_body))
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/index"), index_body, OCI_INDEX)

    def test_no_media_type_takes_the_content_type(self):
        repo = "exact/docker-ct"
        m = image_manifest(self.server, repo, docker=True, media_type=False)
        body = dumps(m)
        r, d = put(self.server, repo, "d", body, DOCKER_MANIFEST)
        self.assertPushed(r, repo, d)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/d"), body, DOCKER_MANIFEST)

    def test_media_type_in_body_wins_over_a_generic_content_type(self):
        repo = "exact/generic-ct"
        body = dumps(image_manifest(self.server, repo))
        r, d = put(self.server, repo, "g", body, "application/json")
        self.assertPushed(r, repo, d)
        self.assertServed(self.req("GET", f"/v2/{repo}/manifests/g"), body, OCI_MANIFEST)


class ManifestGetTest(ManifestCase):
    """GET/HEAD: unknown references and Accept negotiation."""

    repo = "get/app"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.image = dumps(image_manifest(cls.server, cls.repo))
        cls.docker = dumps(image_manifest(cls.server, cls.repo, seed="docker", docker=True))
        for tag, body, ct in (("oci", cls.image, OCI_MANIFEST), ("docker", cls.docker, DOCKER_MANIFEST)):
            assert put(cls.server, cls.repo, tag, body, ct)[0].status == 201
        cls.index = dumps(index_manifest([(OCI_MANIFEST, cls.image)]))
        cls.dlist = dumps(index_manifest([(DOCKER_MANIFEST, cls.docker)], docker=True))
        for tag, body, ct in (("index", cls.index, OCI_INDEX), ("list", cls.dlist, DOCKER_LIST)):
            assert put(cls.server, cls.repo, tag, body, ct)[0].status == 201
        cls.bodies = {"oci": (cls.image, OCI_MANIFEST), "docker": (cls.docker, DOCKER_MANIFEST),
                      "index": (cls.index, OCI_INDEX), "list": (cls.dlist, DOCKER_LIST)}

    def test_unknown_tag_and_digest(self):
        for ref in ("nope", sha256(b"nothing")):
            self.assertNotFound(self.req("GET", f"/v2/{self.repo}/manifests/{ref}"))
            self.assertNotFound(self.req("HEAD", f"/v2/{self.repo}/manifests/{ref}"), head=True)
            self.assertNotFound(self.req("DELETE", f"/v2/{self.repo}/manifests/{ref}"))

    def test_unknown_repository(self):
        for ref in ("latest", sha256(b"nothing")):
            self.assertNotFound(self.req("GET", f"/v2/get/nothing-here/manifests/{ref}"), code="NAME_UNKNOWN")
            self.assertNotFound(self.req("HEAD", f"/v2/get/nothing-here/manifests/{ref}"), head=True)
            self.assertNotFound(self.req("DELETE", f"/v2/get/nothing-here/manifests/{ref}"), code="NAME_UNKNOWN")

    def test_manifest_of_another_repository_is_unknown_here(self):
        other = "get/other"
        self.server.push_blob(other, b"something")
        self.assertNotFound(self.req("GET", f"/v2/{other}/manifests/{sha256(self.image)}"))
        self.assertNotFound(self.req("GET", f"/v2/{other}/manifests/oci"))

    def test_malformed_digest_reference(self):
        for ref in ("sha256:abc", "sha256:" + "A" * 64, "nope:" + "a" * 64):
            self.assertError(self.req("GET", f"/v2/{self.repo}/manifests/{ref}"), 400, "DIGEST_INVALID")

    def test_no_accept_and_wildcards_are_served(self):
        for tag, (body, ct) in self.bodies.items():
            for accept in (None, "*/*", "application/*", "text/html, */*;q=0.1"):
                with self.subTest(tag=tag, accept=accept):
                    headers = {"Accept": accept} if accept else {}
                    self.assertServed(self.req("GET", f"/v2/{self.repo}/manifests/{tag}", headers=headers), body, ct)
                    self.assertServed(self.req("HEAD", f"/v2/{self.repo}/manifests/{tag}", headers=headers), body,
                                      ct, head=True)

    def test_accept_listing_the_type_is_served(self):
        every = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
        for tag, (body, ct) in self.bodies.items():
            for accept in (ct, f"text/plain, {ct};q=0.9", every):
                with self.subTest(tag=tag, accept=accept):
                    r = self.req("GET", f"/v2/{self.repo}/manifests/{tag}", headers={"Accept": accept})
                    self.assertServed(r, body, ct)
            r = self.req("GET", f"/v2/{self.repo}/manifests/{sha256(body)}", headers={"Accept": ct})
            self.assertServed(r, body, ct)

    def test_accept_excluding_the_type_is_manifest_unknown(self):
        for tag, (body, ct) in self.bodies.items():
            others = ", ".join(t for t in (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST) if t != ct)
            for accept in (others, "application/json", "text/*"):
                for ref in (tag, sha256(body)):
                    with self.subTest(tag=tag, accept=accept, ref=ref):
                        r = self.req("GET", f"/v2/{self.repo}/manifests/{ref}", headers={"Accept": accept})
                        self.assertNotFound(r)
                        r = self.req("HEAD", f"/v2/{self.repo}/manifests/{ref}", headers={"Accept": accept})
                        self.assertNotFound(r, head=True)

    def test_several_accept_headers(self):
        conn = self.server.connect()
        try:
            conn.putrequest("GET", f"/v2/{self.repo}/manifests/index")
            conn.putheader("Accept", DOCKER_MANIFEST)
            conn.putheader("Accept", OCI_INDEX)
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            self.assertEqual(r.status, 200)
            self.assertEqual(body, self.index)
            self.assertEqual(r.getheader("Content-Type"), OCI_INDEX)
        finally:
            conn.close()


class SubjectHeaderTest(ManifestCase):
    """OCI-Subject on the PUT response of a manifest that has a subject."""

    repo = "subject/app"

    def test_oci_subject_header(self):
        subject = dumps(image_manifest(self.server, self.repo))
        r, subject_digest = put(self.server, self.repo, "v1", subject, OCI_MANIFEST)
        self.assertPushed(r, self.repo, subject_digest)

        sig = image_manifest(self.server, self.repo, seed="sig", artifactType="application/vnd.example.sig",
                             subject={"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": len(subject)})
        r, d = put(self.server, self.repo, sha256(dumps(sig)), dumps(sig), OCI_MANIFEST)
        self.assertPushed(r, self.repo, d, subject=subject_digest)

        # An index can have a subject too.
        idx = index_manifest([(OCI_MANIFEST, subject)], artifactType="application/vnd.example.bundle",
                             subject={"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": len(subject)})
        r, d = put(self.server, self.repo, "bundle", dumps(idx), OCI_INDEX)
        self.assertPushed(r, self.repo, d, subject=subject_digest)

    def test_subject_may_not_exist_yet(self):
        missing = sha256(b"a manifest pushed later")
        m = image_manifest(self.server, self.repo, seed="early",
                           subject={"mediaType": OCI_MANIFEST, "digest": missing, "size": 23})
        r, d = put(self.server, self.repo, "early", dumps(m), OCI_MANIFEST)
        self.assertPushed(r, self.repo, d, subject=missing)

    def test_bad_subject_descriptor(self):
        base = image_manifest(self.server, self.repo, seed="bad")
        events_before = event_count(self.server)
        for subject in ({"mediaType": OCI_MANIFEST, "digest": "sha256:short", "size": 1},
                        {"mediaType": OCI_MANIFEST, "digest": sha256(b"x"), "size": -1},
                        {"digest": sha256(b"x"), "size": 1}):
            with self.subTest(subject=subject):
                m = dict(base, subject=subject)
                self.assertError(put(self.server, self.repo, "bad", dumps(m), OCI_MANIFEST)[0], 400,
                                 "MANIFEST_INVALID")
        self.assertEqual(event_count(self.server), events_before)


if __name__ == "__main__":
    unittest.main()
