"""Blob endpoints of the OCI Distribution Spec v1.1 against the real server:
HEAD/GET with ranges, visibility per repository, DELETE, malformed digests
anywhere a digest is accepted, repository-name validation, and the custody
log events written by pushes, mounts and deletes."""
import os
import sqlite3
import unittest

from harness import ServerTestCase, sha256

BLOB = bytes((i * 7 + 3) % 256 for i in range(1000))
UNKNOWN = sha256(b"never pushed anywhere")

# Digests no endpoint may accept; none contains '/' (that changes the route).
MALFORMED_DIGESTS = [
    "nope",
    "sha256",
    "sha256:",
    ":" + "a" * 64,
    "sha256:abc",
    "sha256:" + "a" * 63,
    "sha256:" + "a" * 65,
    "sha256:" + "A" * 64,
    "sha256:" + "g" * 64,
    "SHA256:" + "a" * 64,
    "sha256::" + "a" * 64,
    "sha256:" + "a" * 32 + "%20" + "a" * 31,
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    "sha512:" + "a" * 128,  # well-formed but not supported here
    "sha256:" + "a" * 4000,
    "x" * 300 + ":" + "a" * 64,
]


class BlobReadTest(ServerTestCase):
    repo = "blobs/read"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.digest = cls.server.push_blob(cls.repo, BLOB)
        cls.empty = cls.server.push_blob(cls.repo, b"")
        # Only in another repository: same store, not linked here.
        cls.elsewhere_data = b"only in blobs/other"
        cls.elsewhere = cls.server.push_blob("blobs/other", cls.elsewhere_data)

    def url(self, digest=None, repo=None):
        return f"/v2/{repo or self.repo}/blobs/{digest or self.digest}"

    def assertBlobHeaders(self, r, length):
        self.assertEqual(r.header("Content-Length"), str(length), r)
        self.assertEqual(r.header("Docker-Content-Digest"), self.digest, r)
        self.assertEqual(r.header("ETag"), f'"{self.digest}"', r)
        self.assertEqual(r.header("Docker-Distribution-API-Version"), "registry/2.0", r)

    def test_head(self):
        r = self.req("HEAD", self.url())
        self.assertEqual(r.status, 200, r)
        self.assertBlobHeaders(r, len(BLOB))
        self.assertEqual(r.body, b"")

    def test_get(self):
        r = self.req("GET", self.url())
        self.assertEqual(r.status, 200, r)
        self.assertBlobHeaders(r, len(BLOB))
        self.assertEqual(r.header("Content-Type"), "application/octet-stream")
        self.assertEqual(r.body, BLOB)
        self.assertEqual(sha256(r.body), self.digest)

    def test_empty_blob(self):
        r = self.req("GET", self.url(self.empty))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Length"), "0")
        self.assertEqual(r.header("Docker-Content-Digest"), self.empty)
        self.assertEqual(r.body, b"")
        r = self.req("GET", self.url(self.empty), headers={"Range": "bytes=0-"})
        self.assertError(r, 416, "RANGE_INVALID")
        self.assertEqual(r.header("Content-Range"), "bytes */0")

    def check_range(self, method, spec, first, last):
        r = self.req(method, self.url(), headers={"Range": spec})
        self.assertEqual(r.status, 206, (spec, r))
        self.assertEqual(r.header("Content-Range"), f"bytes {first}-{last}/{len(BLOB)}", spec)
        self.assertBlobHeaders(r, last - first + 1)
        if method == "GET":
            self.assertEqual(r.body, BLOB[first:last + 1], spec)
        else:
            self.assertEqual(r.body, b"")

    def test_range_first_last(self):
        self.check_range("GET", "bytes=10-19", 10, 19)
        self.check_range("GET", "bytes=0-0", 0, 0)
        self.check_range("GET", "bytes=999-999", 999, 999)
        self.check_range("GET", "bytes=0-999", 0, 999)

    def test_range_open_ended(self):
        self.check_range("GET", "bytes=990-", 990, 999)
        self.check_range("GET", "bytes=0-", 0, 999)

    def test_range_suffix(self):
        self.check_range("GET", "bytes=-10", 990, 999)
        self.check_range("GET", "bytes=-1", 999, 999)
        self.check_range("GET", "bytes=-5000", 0, 999)  # longer than the blob: all of it

    def test_range_last_past_end_is_clamped(self):
        self.check_range("GET", "bytes=995-2000", 995, 999)

    def test_range_head(self):
        self.check_range("HEAD", "bytes=100-199", 100, 199)
        self.check_range("HEAD", "bytes=-3", 997, 999)

    def test_range_unsatisfiable(self):
        for spec in ("bytes=1000-", "bytes=1000-1001", "bytes=5000-6000", "bytes=-0"):
            with self.subTest(spec=spec):
                r = self.req("GET", self.url(), headers={"Range": spec})
                self.assertError(r, 416, "RANGE_INVALID")
                self.assertEqual(r.header("Content-Range"), f"bytes */{len(BLOB)}")
                r = self.req("HEAD", self.url(), headers={"Range": spec})
                self.assertEqual(r.status, 416, r)

    def test_range_unknown_unit_is_ignored(self):
        # RFC 9110 14.2: a Range with a unit the server does not understand
        # MUST be ignored; a multi-range request MAY be ignored.
        for spec in ("items=0-9", "bytes=0-1,5-6"):
            with self.subTest(spec=spec):
                r = self.req("GET", self.url(), headers={"Range": spec})
                self.assertEqual(r.status, 200, r)
                self.assertIsNone(r.header("Content-Range"))
                self.assertEqual(r.body, BLOB)

    def test_range_on_unknown_blob_is_404(self):
        r = self.req("GET", self.url(UNKNOWN), headers={"Range": "bytes=0-9"})
        self.assertError(r, 404, "BLOB_UNKNOWN")

    def test_unknown_blob(self):
        r = self.req("GET", self.url(UNKNOWN))
        self.assertError(r, 404, "BLOB_UNKNOWN")
        self.assertEqual(r.json()["errors"][0]["detail"], UNKNOWN)
        r = self.req("HEAD", self.url(UNKNOWN))
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.body, b"")

    def test_unknown_repository(self):
        r = self.req("GET", self.url(repo="blobs/never-created"))
        self.assertError(r, 404, "BLOB_UNKNOWN")

    def test_blob_of_another_repository_is_not_visible(self):
        r = self.req("GET", self.url(self.elsewhere, repo="blobs/other"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, self.elsewhere_data)
        r = self.req("HEAD", self.url(self.elsewhere))
        self.assertEqual(r.status, 404, r)
        r = self.req("GET", self.url(self.elsewhere))
        self.assertError(r, 404, "BLOB_UNKNOWN")
        r = self.req("GET", self.url(self.elsewhere), headers={"Range": "bytes=0-3"})
        self.assertError(r, 404, "BLOB_UNKNOWN")
        r = self.req("DELETE", self.url(self.elsewhere))
        self.assertError(r, 404, "BLOB_UNKNOWN")
        # ... and a failed delete here did not touch the other repository.
        self.assertEqual(self.req("HEAD", self.url(self.elsewhere, repo="blobs/other")).status, 200)

    def test_unsupported_methods(self):
        for method in ("PUT", "POST", "PATCH"):
            with self.subTest(method=method):
                r = self.req(method, self.url(), body=b"x")
                self.assertError(r, 405, "UNSUPPORTED")
        self.assertEqual(self.req("HEAD", self.url()).status, 200)

    def test_keep_alive_after_range_and_errors(self):
        conn = self.server.connect()
        try:
            for headers, status in (({"Range": "bytes=0-4"}, 206), ({}, 200), ({"Range": "bytes=9999-"}, 416)):
                r = self.server.request("GET", self.url(), headers=headers, conn=conn)
                self.assertEqual(r.status, status, r)
            r = self.server.request("GET", self.url(UNKNOWN), conn=conn)
            self.assertError(r, 404, "BLOB_UNKNOWN")
            r = self.server.request("GET", self.url(), conn=conn)
            self.assertEqual(r.body, BLOB)
        finally:
            conn.close()


class BlobDeleteTest(ServerTestCase):
    def test_delete_then_404(self):
        data = b"to be deleted"
        d = self.server.push_blob("del/a", data)
        self.server.push_blob("del/b", data)
        r = self.req("DELETE", f"/v2/del/a/blobs/{d}")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Content-Length"), "0")
        r = self.req("HEAD", f"/v2/del/a/blobs/{d}")
        self.assertEqual(r.status, 404, r)
        r = self.req("GET", f"/v2/del/a/blobs/{d}")
        self.assertError(r, 404, "BLOB_UNKNOWN")
        r = self.req("DELETE", f"/v2/del/a/blobs/{d}")
        self.assertError(r, 404, "BLOB_UNKNOWN")
        # The same content in another repository is unaffected.
        r = self.req("GET", f"/v2/del/b/blobs/{d}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, data)
        # And can be pushed again.
        self.server.push_blob("del/a", data)
        self.assertEqual(self.req("GET", f"/v2/del/a/blobs/{d}").body, data)

    def test_delete_unknown(self):
        r = self.req("DELETE", f"/v2/del/a/blobs/{UNKNOWN}")
        self.assertError(r, 404, "BLOB_UNKNOWN")


class MalformedDigestTest(ServerTestCase):
    repo = "digests/bad"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.good = cls.server.push_blob(cls.repo, b"good")

    def assertDigestInvalid(self, r, what):
        self.assertEqual(r.status, 400, (what, r))
        if r.body:
            self.assertEqual(r.error_code(), "DIGEST_INVALID", (what, r))

    def test_in_blob_url(self):
        for bad in MALFORMED_DIGESTS:
            for method in ("GET", "HEAD", "DELETE"):
                with self.subTest(digest=bad[:80], method=method):
                    r = self.req(method, f"/v2/{self.repo}/blobs/{bad}")
                    self.assertDigestInvalid(r, bad)
                    if method != "HEAD":
                        self.assertTrue(r.body, r)

    def test_in_monolithic_post(self):
        for bad in MALFORMED_DIGESTS:
            with self.subTest(digest=bad[:80]):
                r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={bad}", body=b"good")
                self.assertDigestInvalid(r, bad)
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest=", body=b"good")
        self.assertDigestInvalid(r, "empty")

    def test_in_upload_put(self):
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/")
        self.assertEqual(r.status, 202, r)
        loc = r.header("Location")
        for bad in MALFORMED_DIGESTS:
            with self.subTest(digest=bad[:80]):
                r = self.req("PUT", f"{loc}?digest={bad}", body=b"good")
                self.assertDigestInvalid(r, bad)
        # A malformed digest leaves the session intact and usable.
        r = self.req("GET", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), "0-0")
        r = self.req("PUT", f"{loc}?digest={self.good}", body=b"good")
        self.assertEqual(r.status, 201, r)

    def test_in_mount(self):
        for bad in MALFORMED_DIGESTS + [""]:
            with self.subTest(digest=bad[:80]):
                r = self.req("POST", f"/v2/digests/target/blobs/uploads/?mount={bad}&from={self.repo}")
                self.assertDigestInvalid(r, bad)

    def test_server_still_healthy(self):
        self.req("GET", f"/v2/{self.repo}/blobs/sha256:" + "a" * 4000)
        self.assertEqual(self.req("GET", "/healthz").status, 200)
        self.assertEqual(self.req("GET", f"/v2/{self.repo}/blobs/{self.good}").body, b"good")


class NameValidationTest(ServerTestCase):
    INVALID = [
        "Upper/case",
        "upper/Case",
        "a/../b",
        "..",
        "../etc",
        "a/..",
        "/leading",       # becomes /v2//leading/...
        "a//b",
        "trailing/",
        "a" * 256,
        "/".join(["abcdefg"] * 40),  # 319 characters
        "-dash",
        "dash-",
        "a..b",
        "a___b",
        "a%20b",
        "a%2Fb/..%2F..",
    ]

    def endpoints(self, name):
        d = sha256(b"x")
        return [
            ("POST", f"/v2/{name}/blobs/uploads/", None),
            ("POST", f"/v2/{name}/blobs/uploads/?digest={d}", b"x"),
            ("POST", f"/v2/{name}/blobs/uploads/?mount={d}&from=names/ok", None),
            ("HEAD", f"/v2/{name}/blobs/{d}", None),
            ("GET", f"/v2/{name}/blobs/{d}", None),
            ("DELETE", f"/v2/{name}/blobs/{d}", None),
            ("GET", f"/v2/{name}/blobs/uploads/00000000-0000-4000-8000-000000000000", None),
            ("PATCH", f"/v2/{name}/blobs/uploads/00000000-0000-4000-8000-000000000000", b"x"),
        ]

    def test_invalid_names(self):
        for name in self.INVALID:
            for method, path, body in self.endpoints(name):
                with self.subTest(name=name[:60], method=method, path=path[:100]):
                    r = self.req(method, path, body=body)
                    self.assertEqual(r.status, 400, r)
                    if method != "HEAD":
                        self.assertEqual(r.error_code(), "NAME_INVALID", r)

    def test_valid_names(self):
        for name in ("a", "a" * 255, "a/b/c", "a-b__c.d/e_f", "a--b", "0/1", "/".join(["abc"] * 60)):
            with self.subTest(name=name[:60]):
                self.assertLessEqual(len(name), 255)
                r = self.req("POST", f"/v2/{name}/blobs/uploads/")
                self.assertEqual(r.status, 202, r)
                d = self.server.push_blob(name, b"named")
                self.assertEqual(self.req("GET", f"/v2/{name}/blobs/{d}").body, b"named")

    def test_nothing_stored_for_invalid_name(self):
        d = sha256(b"invalid-name-content")
        r = self.req("POST", f"/v2/Bad/blobs/uploads/?digest={d}", body=b"invalid-name-content")
        self.assertError(r, 400, "NAME_INVALID")
        path = os.path.join(self.server.data_dir, "blobs", "sha256", d[7:9], d[7:])
        self.assertFalse(os.path.exists(path))


def read_events(data_dir):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'meta.db')}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM events ORDER BY seq")]
    finally:
        db.close()


class EventTest(ServerTestCase):
    def test_push_mount_delete_events(self):
        data = b"an audited blob"
        d = self.server.push_blob("events/src", data)
        r = self.req("POST", f"/v2/events/dst/blobs/uploads/?mount={d}&from=events/src")
        self.assertEqual(r.status, 201, r)
        r = self.req("DELETE", f"/v2/events/dst/blobs/{d}")
        self.assertEqual(r.status, 202, r)
        # A chunked upload records the push too.
        chunked = b"pushed in chunks"
        r = self.req("POST", "/v2/events/chunked/blobs/uploads/")
        loc = r.header("Location")
        r = self.req("PATCH", loc, body=chunked[:5])
        self.assertEqual(r.status, 202, r)
        r = self.req("PUT", f"{loc}?digest={sha256(chunked)}", body=chunked[5:])
        self.assertEqual(r.status, 201, r)

        mine = ("events/src", "events/dst", "events/chunked")
        events = [e for e in read_events(self.server.data_dir) if e["repository"] in mine]
        got = [(e["action"], e["repository"], e["digest"]) for e in events]
        self.assertEqual(got, [
            ("blob.push", "events/src", d),
            ("blob.mount", "events/dst", d),
            ("blob.delete", "events/dst", d),
            ("blob.push", "events/chunked", sha256(chunked)),
        ])
        for e in events:
            self.assertEqual(e["actor"], "anonymous")
            self.assertTrue(e["source"].startswith("127.0.0.1:"), e)
            self.assertGreater(e["time_ms"], 0)
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(set(seqs)))
        self.assertIn('"from":"events/src"', events[1]["detail"])
        self.assertIn(f'"size":{len(data)}', events[0]["detail"])

    def test_failed_changes_write_no_event(self):
        before = len(read_events(self.server.data_dir))
        data = b"rejected"
        wrong = sha256(b"something else")
        r = self.req("POST", f"/v2/events/fail/blobs/uploads/?digest={wrong}", body=data)
        self.assertError(r, 400, "DIGEST_INVALID")
        r = self.req("DELETE", f"/v2/events/fail/blobs/{UNKNOWN}")
        self.assertError(r, 404, "BLOB_UNKNOWN")
        r = self.req("POST", f"/v2/events/fail/blobs/uploads/?mount={UNKNOWN}&from=events/src")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(len(read_events(self.server.data_dir)), before)


if __name__ == "__main__":
    unittest.main()
