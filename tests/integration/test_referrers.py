"""The referrers API (OCI Distribution v1.1) against the real server, with the
real sigstore and cosign attachments of the busybox test image."""
import json
import unittest
import urllib.parse

from harness import ServerTestCase, sha256
from oci_fixtures import (BUSYBOX_DIGEST, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, descriptor, dumps, events,
                          image_manifest, index_manifest, last_seq, push_busybox, put, signature_file)

SBOM = "application/vnd.example.sbom.v1+json"
SIG = "application/vnd.example.signature.v1"
SIGSTORE = "application/vnd.dev.sigstore.bundle.v0.3+json"


class ReferrersCase(ServerTestCase):
    def referrers(self, repo, digest, artifact_type=None, raw_query=None):
        path = f"/v2/{repo}/referrers/{digest}"
        if artifact_type is not None:
            path += "?artifactType=" + urllib.parse.quote(artifact_type, safe="")
        if raw_query is not None:
            path += "?" + raw_query
        r = self.req("GET", path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), OCI_INDEX)
        index = r.json()
        self.assertEqual(index["schemaVersion"], 2)
        self.assertEqual(index["mediaType"], OCI_INDEX)
        self.assertIsInstance(index["manifests"], list)
        if artifact_type is not None:
            self.assertEqual(r.header("OCI-Filters-Applied"), "artifactType")
        else:
            self.assertIsNone(r.header("OCI-Filters-Applied"))
        return index["manifests"]

    def by_digest(self, manifests):
        out = {m["digest"]: m for m in manifests}
        self.assertEqual(len(out), len(manifests), "duplicate descriptors")
        return out

    def push_referrer(self, repo, m, media_type=OCI_MANIFEST, tag=None):
        body = dumps(m)
        r, d = put(self.server, repo, tag or sha256(body), body, media_type)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("OCI-Subject"), m["subject"]["digest"] if "subject" in m else None)
        return body, d


class RealAttachmentsTest(ReferrersCase):
    """The busybox image with what @sigstore/cli and cosign attached to it."""

    repo = "probe/busybox"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.image = push_busybox(cls.server, cls.repo, "1.35")

    def test_sigstore_bundle_attachment(self):
        body = signature_file("referrers.artifact-manifest.json")
        m = json.loads(body)
        self.assertEqual(m["subject"]["digest"], BUSYBOX_DIGEST)
        self.server.push_blob(self.repo, b"{}")
        self.assertEqual(self.server.push_blob(self.repo, signature_file("sigstore-bundle.dsse.json")),
                         m["layers"][0]["digest"])
        seq = last_seq(self.server)
        r, d = put(self.server, self.repo, sha256(body), body, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("OCI-Subject"), BUSYBOX_DIGEST)
        [event] = events(self.server, seq)
        self.assertEqual(event["action"], "manifest.push")
        self.assertEqual(event["detail"]["subject"], BUSYBOX_DIGEST)
        self.assertEqual(event["detail"]["artifact_type"], SIGSTORE)

        # What the client wrote to the fallback tag sha256-<hex> is exactly
        # what the referrers API must answer.
        expected = json.loads(signature_file("referrers.tag-schema-index.json"))["manifests"]
        self.assertEqual(self.referrers(self.repo, BUSYBOX_DIGEST), expected)
        self.assertEqual(self.referrers(self.repo, BUSYBOX_DIGEST, SIGSTORE), expected)
        self.assertEqual(self.referrers(self.repo, BUSYBOX_DIGEST, OCI_EMPTY), [])
        self.assertEqual(self.referrers(self.repo, d), [])

    def test_cosign_tag_schema_signature_is_not_a_referrer(self):
        body = signature_file("cosign.sig-manifest.json")
        m = json.loads(body)
        self.assertEqual(self.server.push_blob(self.repo, signature_file("cosign.sig-config.json")),
                         m["config"]["digest"])
        self.assertEqual(self.server.push_blob(self.repo, signature_file("cosign.sig-payload.json")),
                         m["layers"][0]["digest"])
        tag = BUSYBOX_DIGEST.replace(":", "-") + ".sig"
        r, d = put(self.server, self.repo, tag, body, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("OCI-Subject"))
        got = self.req("GET", f"/v2/{self.repo}/manifests/{tag}")
        self.assertEqual((got.status, got.body, got.header("Docker-Content-Digest")), (200, body, d))
        self.assertIn(tag, self.req("GET", f"/v2/{self.repo}/tags/list").json()["tags"])
        self.assertNotIn(d, self.by_digest(self.referrers(self.repo, BUSYBOX_DIGEST)))


class ReferrersTest(ReferrersCase):
    repo = "ref/app"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subject_body = dumps(image_manifest(cls.server, cls.repo, seed="subject"))
        r, cls.subject = put(cls.server, cls.repo, "v1", cls.subject_body, OCI_MANIFEST)
        assert r.status == 201, r
        cls.subject_desc = {"mediaType": OCI_MANIFEST, "digest": cls.subject, "size": len(cls.subject_body)}
        cls.server.push_blob(cls.repo, b"{}")

    def artifact(self, artifact_type, payload, annotations=None, subject=None, config=None):
        """An OCI 1.1 artifact: empty config (or `config`), one layer."""
        self.server.push_blob(self.repo, payload)
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
        if artifact_type is not None:
            m["artifactType"] = artifact_type
        m["config"] = config or {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2}
        m["layers"] = [descriptor("application/octet-stream", payload)]
        m["subject"] = subject or self.subject_desc
        if annotations is not None:
            m["annotations"] = annotations
        return m

    def test_descriptors(self):
        sbom_ann = {"org.opencontainers.image.created": "2026-12-03T12:00:00Z", "org.example.sbom.format": "json",
                    "org.example.note": "caf\u00e9 \u2615 \"quoted\" <b>&"}
        sbom_body, sbom = self.push_referrer(self.repo, self.artifact(SBOM, b"sbom payload", sbom_ann))
        sig_body, sig = self.push_referrer(self.repo, self.artifact(SIG, b"sig payload", {"k": "v"}))

        # An image manifest without artifactType: its config's mediaType.
        plain = image_manifest(self.server, self.repo, seed="plain referrer", subject=self.subject_desc)
        plain_body, plain_d = self.push_referrer(self.repo, plain)

        # An index with artifactType, and one without (then it is omitted).
        idx = index_manifest([(OCI_MANIFEST, sbom_body)], artifactType="application/vnd.example.bundle",
                             subject=self.subject_desc, annotations={"bundle": "yes"})
        idx_body, idx_d = self.push_referrer(self.repo, idx, OCI_INDEX)
        bare = index_manifest([(OCI_MANIFEST, sig_body)], subject=self.subject_desc)
        bare_body, bare_d = self.push_referrer(self.repo, bare, OCI_INDEX)

        got = self.by_digest(self.referrers(self.repo, self.subject))
        self.assertEqual(got, {
            sbom: {"mediaType": OCI_MANIFEST, "digest": sbom, "size": len(sbom_body), "artifactType": SBOM,
                   "annotations": sbom_ann},
            sig: {"mediaType": OCI_MANIFEST, "digest": sig, "size": len(sig_body), "artifactType": SIG,
                  "annotations": {"k": "v"}},
            plain_d: {"mediaType": OCI_MANIFEST, "digest": plain_d, "size": len(plain_body),
                      "artifactType": OCI_CONFIG},
            idx_d: {"mediaType": OCI_INDEX, "digest": idx_d, "size": len(idx_body),
                    "artifactType": "application/vnd.example.bundle", "annotations": {"bundle": "yes"}},
            bare_d: {"mediaType": OCI_INDEX, "digest": bare_d, "size": len(bare_body)},
        })

        # Filters.
        self.assertEqual(self.referrers(self.repo, self.subject, SBOM), [got[sbom]])
        self.assertEqual(self.referrers(self.repo, self.subject, SIG), [got[sig]])
        self.assertEqual(self.referrers(self.repo, self.subject, OCI_CONFIG), [got[plain_d]])
        self.assertEqual(self.referrers(self.repo, self.subject, "application/vnd.example.none"), [])
        # '+' must be percent-encoded in a query; encoded, it is a '+'.
        self.assertEqual(self.referrers(self.repo, self.subject, SBOM), [got[sbom]])
        self.assertEqual(self.referrers(self.repo, self.subject, SBOM.replace("+", " ")), [])

        # Referrers of referrers: a signature of the SBOM is not a referrer of the image.
        sbom_desc = {"mediaType": OCI_MANIFEST, "digest": sbom, "size": len(sbom_body)}
        _, sbom_sig = self.push_referrer(self.repo, self.artifact(SIG, b"sig of sbom", subject=sbom_desc))
        self.assertEqual(list(self.by_digest(self.referrers(self.repo, sbom))), [sbom_sig])
        self.assertNotIn(sbom_sig, self.by_digest(self.referrers(self.repo, self.subject)))

    def test_empty_artifact_type_counts_as_missing(self):
        # "If the artifactType is empty or missing in the image manifest, the
        # value of artifactType MUST be set to the config descriptor mediaType
        # value. If the artifactType is empty or missing in an index, the
        # artifactType MUST be omitted."
        subject = self.subject_desc
        m = image_manifest(self.server, self.repo, seed="empty artifactType", artifactType="", subject=subject)
        m_body, m_d = self.push_referrer(self.repo, m)
        idx = index_manifest([(OCI_MANIFEST, self.subject_body)], artifactType="", subject=subject)
        _, idx_d = self.push_referrer(self.repo, idx, OCI_INDEX)
        got = self.by_digest(self.referrers(self.repo, self.subject))
        self.assertEqual(got[m_d]["artifactType"], OCI_CONFIG)
        self.assertNotIn("artifactType", got[idx_d])
        self.assertIn(m_d, self.by_digest(self.referrers(self.repo, self.subject, OCI_CONFIG)))

    def test_empty_filter_is_no_filter(self):
        _, d = self.push_referrer(self.repo, self.artifact(SIG, b"unfiltered"))
        r = self.req("GET", f"/v2/{self.repo}/referrers/{self.subject}?artifactType=")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("OCI-Filters-Applied"))
        self.assertIn(d, self.by_digest(r.json()["manifests"]))

    def test_unknown_subject_and_repository_are_empty_not_404(self):
        nothing = sha256(b"no such manifest")
        self.assertEqual(self.referrers(self.repo, nothing), [])
        self.assertEqual(self.referrers(self.repo, nothing, SBOM), [])
        self.assertEqual(self.referrers("ref/no-such-repo", nothing), [])
        self.assertEqual(self.referrers("ref/no-such-repo", self.subject, SBOM), [])
        # A subject without referrers.
        self.assertEqual(self.referrers(self.repo, sha256(b"{}")), [])

    def test_malformed_digest(self):
        for bad in ("sha256:abc", "sha256:" + "A" * 64, "sha256:" + "g" * 64, "v1", "latest", "sha256-" + "a" * 64):
            with self.subTest(digest=bad):
                self.assertError(self.req("GET", f"/v2/{self.repo}/referrers/{bad}"), 400, "DIGEST_INVALID")
        self.assertError(self.req("GET", f"/v2/Bad/Name/referrers/{self.subject}"), 400, "NAME_INVALID")

    def test_only_get(self):
        for method in ("PUT", "DELETE", "POST"):
            self.assertError(self.req(method, f"/v2/{self.repo}/referrers/{self.subject}", body=b""), 405,
                             "UNSUPPORTED")

    def test_scoped_to_the_repository(self):
        other = "ref/other"
        self.server.push_blob(other, b"{}")
        self.server.push_blob(other, b"other payload")
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SBOM,
             "config": {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2},
             "layers": [descriptor("application/octet-stream", b"other payload")], "subject": self.subject_desc}
        _, d = self.push_referrer(other, m)
        self.assertEqual(list(self.by_digest(self.referrers(other, self.subject))), [d])
        self.assertNotIn(d, self.by_digest(self.referrers(self.repo, self.subject)))

    def test_referrer_pushed_before_its_subject(self):
        later = dumps(image_manifest(self.server, self.repo, seed="subject pushed later"))
        desc = {"mediaType": OCI_MANIFEST, "digest": sha256(later), "size": len(later)}
        _, d = self.push_referrer(self.repo, self.artifact(SIG, b"early signature", subject=desc))
        self.assertEqual(list(self.by_digest(self.referrers(self.repo, sha256(later)))), [d])
        self.assertEqual(put(self.server, self.repo, "later", later, OCI_MANIFEST)[0].status, 201)
        self.assertEqual(list(self.by_digest(self.referrers(self.repo, sha256(later)))), [d])

    def test_deleted_referrer_disappears(self):
        target = dumps(image_manifest(self.server, self.repo, seed="deletion target"))
        r, target_d = put(self.server, self.repo, "target", target, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        desc = {"mediaType": OCI_MANIFEST, "digest": target_d, "size": len(target)}
        _, keep = self.push_referrer(self.repo, self.artifact(SBOM, b"kept sbom", subject=desc))
        _, gone = self.push_referrer(self.repo, self.artifact(SIG, b"deleted sig", subject=desc), tag="sig")
        self.assertEqual(set(self.by_digest(self.referrers(self.repo, target_d))), {keep, gone})

        # Deleting the referrer's tag leaves the referrer.
        self.assertEqual(self.req("DELETE", f"/v2/{self.repo}/manifests/sig").status, 202)
        self.assertEqual(set(self.by_digest(self.referrers(self.repo, target_d))), {keep, gone})

        r = self.req("DELETE", f"/v2/{self.repo}/manifests/{gone}")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(list(self.by_digest(self.referrers(self.repo, target_d))), [keep])
        self.assertEqual(self.referrers(self.repo, target_d, SIG), [])

        # Pushed again, it is back.
        _, again = self.push_referrer(self.repo, self.artifact(SIG, b"deleted sig", subject=desc))
        self.assertEqual(again, gone)
        self.assertEqual(set(self.by_digest(self.referrers(self.repo, target_d))), {keep, gone})


if __name__ == "__main__":
    unittest.main()
