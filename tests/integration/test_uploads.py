"""Upload endpoints of the OCI Distribution Spec v1.1 against the real server:
monolithic pushes, cross-repository mounts, concurrent pushes and the upload
size limit. Chunked sessions are in test_upload_sessions, sessions across a
restart in test_upload_restart, Expect: 100-continue and large streamed blobs
in test_upload_streaming."""
import os
import threading
import unittest

from harness import sha256
from upload_helpers import DATA, MiB, UUID_RE, UploadTestCase


class MonolithicTest(UploadTestCase):
    def test_post_with_digest(self):
        d = sha256(DATA)
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={d}", body=DATA,
                     headers={"Content-Type": "application/octet-stream"})
        self.assertCreated(r, d)
        self.assertBlob(d, DATA)
        # Pushing the same content again is fine.
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={d}", body=DATA)
        self.assertCreated(r, d)
        self.assertBlob(d, DATA)

    def test_post_empty_blob(self):
        d = sha256(b"")
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={d}", body=b"")
        self.assertCreated(r, d)
        self.assertBlob(d, b"")

    def test_post_wrong_digest(self):
        data = b"monolithic with a wrong digest"
        wrong = sha256(b"other")
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={wrong}", body=data)
        self.assertError(r, 400, "DIGEST_INVALID")
        self.assertNoBlob(wrong)
        self.assertNoBlob(sha256(data))
        self.assertEqual(os.listdir(os.path.join(self.server.data_dir, "uploads")), [])

    def test_post_content_length_mismatching_content_range(self):
        data = b"0123456789"
        r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={sha256(data)}", body=data,
                     headers={"Content-Range": "0-19"})
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertNoBlob(sha256(data))

    def test_post_chunked_transfer_encoding(self):
        data = os.urandom(300 * 1024)
        d = sha256(data)
        conn = self.server.connect()
        try:
            parts = (data[i:i + 40000] for i in range(0, len(data), 40000))
            conn.request("POST", f"/v2/{self.repo}/blobs/uploads/?digest={d}", body=parts,
                         encode_chunked=True)
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 201)
        finally:
            conn.close()
        self.assertBlob(d, data)


class MountTest(UploadTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = b"mountable content"
        cls.digest = cls.server.push_blob("mount/src", cls.data)
        cls.stranger = b"stored, but not in mount/src"
        cls.stranger_digest = cls.server.push_blob("mount/elsewhere", cls.stranger)
        cls.server.push_blob("mount/src", b"so that mount/src exists")

    def assertSessionWorks(self, r, repo, data):
        self.assertEqual(r.status, 202, r)
        loc = r.header("Location")
        uuid = r.header("Docker-Upload-UUID")
        self.assertRegex(uuid, UUID_RE)
        self.assertEqual(loc, f"/v2/{repo}/blobs/uploads/{uuid}")
        self.assertEqual(r.header("Range"), "0-0")
        self.assertIsNone(r.header("Docker-Content-Digest"))
        self.assertEqual(self.patch(loc, data, first=0).status, 202)
        d = sha256(data)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d, repo=repo)
        self.assertBlob(d, data, repo=repo)

    def test_mount_from_repository_holding_it(self):
        r = self.req("HEAD", f"/v2/mount/dst/blobs/{self.digest}")
        self.assertEqual(r.status, 404, r)
        r = self.req("POST", f"/v2/mount/dst/blobs/uploads/?mount={self.digest}&from=mount/src")
        self.assertCreated(r, self.digest, repo="mount/dst")
        self.assertBlob(self.digest, self.data, repo="mount/dst")
        r = self.req("HEAD", f"/v2/mount/dst/blobs/{self.digest}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Length"), str(len(self.data)))
        # Mounting again is idempotent.
        r = self.req("POST", f"/v2/mount/dst/blobs/uploads/?mount={self.digest}&from=mount/src")
        self.assertCreated(r, self.digest, repo="mount/dst")
        # Deleting it in the target leaves the source alone.
        self.assertEqual(self.req("DELETE", f"/v2/mount/dst/blobs/{self.digest}").status, 202)
        self.assertBlob(self.digest, self.data, repo="mount/src")

    def test_mount_unknown_blob_starts_session(self):
        unknown = sha256(b"not anywhere")
        r = self.req("POST", f"/v2/mount/dst2/blobs/uploads/?mount={unknown}&from=mount/src")
        self.assertSessionWorks(r, "mount/dst2", b"uploaded after a failed mount 1")

    def test_mount_blob_not_in_from_starts_session(self):
        # The bytes exist in the store, but mount/src cannot see them.
        r = self.req("POST", f"/v2/mount/dst3/blobs/uploads/?mount={self.stranger_digest}&from=mount/src")
        self.assertEqual(r.status, 202, r)
        r2 = self.req("HEAD", f"/v2/mount/dst3/blobs/{self.stranger_digest}")
        self.assertEqual(r2.status, 404, r2)
        self.assertSessionWorks(r, "mount/dst3", b"uploaded after a failed mount 2")

    def test_mount_from_unknown_or_invalid_repository(self):
        for i, src in enumerate(("mount/nonexistent", "Mount/Src", "mount//src", "../mount/src", "",
                                 "/mount/src", "a" * 300, "mount/src/")):
            with self.subTest(src=src[:50]):
                r = self.req("POST", f"/v2/mount/dst4/blobs/uploads/?mount={self.digest}&from={src}")
                self.assertSessionWorks(r, "mount/dst4", f"uploaded after a failed mount {i} x".encode())
                r2 = self.req("HEAD", f"/v2/mount/dst4/blobs/{self.digest}")
                self.assertEqual(r2.status, 404, r2)

    def test_mount_without_from_starts_session(self):
        r = self.req("POST", f"/v2/mount/dst5/blobs/uploads/?mount={self.digest}")
        self.assertSessionWorks(r, "mount/dst5", b"uploaded after a mount without from")
        r2 = self.req("HEAD", f"/v2/mount/dst5/blobs/{self.digest}")
        self.assertEqual(r2.status, 404, r2)

    def test_mount_after_delete_in_from(self):
        data = b"deleted before mount"
        d = self.server.push_blob("mount/gone", data)
        self.assertEqual(self.req("DELETE", f"/v2/mount/gone/blobs/{d}").status, 202)
        r = self.req("POST", f"/v2/mount/dst6/blobs/uploads/?mount={d}&from=mount/gone")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.req("HEAD", f"/v2/mount/dst6/blobs/{d}").status, 404)


class ConcurrencyTest(UploadTestCase):
    THREADS = 16
    ROUNDS = 8

    def test_parallel_pushes_mounts_and_deletes(self):
        shared = b"shared by every worker"
        d_shared = self.server.push_blob("conc/base", shared)
        failures = []

        def expect(r, status, what):
            if r.status != status:
                failures.append((what, r.status, r.body[:200]))

        def worker(i):
            repo, mount_repo = f"conc/w{i}", f"conc/m{i}"
            for n in range(self.ROUNDS):
                mono = f"mono {i} {n}".encode() * 50
                expect(self.req("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(mono)}", body=mono), 201,
                       "monolithic")
                r = self.req("POST", f"/v2/{repo}/blobs/uploads/")
                expect(r, 202, "start")
                if r.status != 202:
                    continue
                loc = r.header("Location")
                chunked = os.urandom(20000)
                expect(self.patch(loc, chunked[:7000], first=0), 202, "patch")
                expect(self.req("GET", loc), 204, "status")
                expect(self.req("PUT", f"{loc}?digest={sha256(chunked)}", body=chunked[7000:]), 201, "put")
                expect(self.req("HEAD", f"/v2/{repo}/blobs/{sha256(chunked)}"), 200, "head")
                expect(self.req("POST", f"/v2/{mount_repo}/blobs/uploads/?mount={d_shared}&from=conc/base"), 201,
                       "mount")
                expect(self.req("DELETE", f"/v2/{mount_repo}/blobs/{d_shared}"), 202, "delete")
                expect(self.req("DELETE", f"/v2/{repo}/blobs/{sha256(mono)}"), 202, "delete")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertBlob(d_shared, shared, repo="conc/base")

    def test_parallel_chunks_on_one_session(self):
        # One request at a time holds a session; the others are refused
        # (409) without touching it, so the session holds whole chunks only.
        chunk = os.urandom(256 * 1024)
        loc = self.start_session("conc/one")
        statuses = []

        def send():
            r = self.req("PATCH", loc, body=chunk)
            statuses.append(r.status)
            if r.status != 202:
                self.assertEqual(r.status, 409, r)
                self.assertEqual(r.error_code(), "BLOB_UPLOAD_INVALID")

        threads = [threading.Thread(target=send) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        accepted = statuses.count(202)
        self.assertGreaterEqual(accepted, 1, statuses)
        self.assertSession(loc, accepted * len(chunk))
        d = sha256(chunk * accepted)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d, repo="conc/one")
        self.assertBlob(d, chunk * accepted, repo="conc/one")


class UploadLimitTest(UploadTestCase):
    config = "[limits]\nupload_max_bytes = 1000\n"

    def test_monolithic_over_limit(self):
        at_limit = os.urandom(1000)
        self.assertCreated(self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={sha256(at_limit)}",
                                    body=at_limit), sha256(at_limit))
        for n in (1001, 3 * MiB):
            with self.subTest(size=n):
                data = os.urandom(n)
                r = self.req("POST", f"/v2/{self.repo}/blobs/uploads/?digest={sha256(data)}", body=data)
                self.assertError(r, 413, "SIZE_INVALID")
                self.assertNoBlob(sha256(data))
        self.assertEqual(os.listdir(os.path.join(self.server.data_dir, "uploads")), [])

    def test_chunk_crossing_limit(self):
        data = os.urandom(1000)
        loc = self.start_session()
        self.assertEqual(self.patch(loc, data[:600], first=0).status, 202)
        r = self.patch(loc, data[600:] + b"!", first=600)
        self.assertError(r, 413, "SIZE_INVALID")
        self.assertSession(loc, 600)
        r = self.req("PUT", f"{loc}?digest={sha256(data + b'!')}", body=data[600:] + b"!")
        self.assertError(r, 413, "SIZE_INVALID")
        self.assertSession(loc, 600)
        self.assertCreated(self.req("PUT", f"{loc}?digest={sha256(data)}", body=data[600:]), sha256(data))
        self.assertBlob(sha256(data), data)


if __name__ == "__main__":
    unittest.main()
