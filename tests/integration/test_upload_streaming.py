"""Uploads with Expect: 100-continue and large streamed blobs against the
real server."""
import hashlib
import os
import socket
import unittest

from harness import sha256
from upload_helpers import MiB, UploadTestCase, read_full_response, read_response_head


class ExpectContinueTest(UploadTestCase):
    def send_with_expect(self, method, path, body, extra=""):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall((f"{method} {path} HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
                       f"Content-Type: application/octet-stream\r\n{extra}"
                       f"Content-Length: {len(body)}\r\n\r\n").encode())
            interim = read_response_head(s)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 "), interim)
            self.assertTrue(interim.endswith(b"\r\n\r\n"), interim)
            s.sendall(body)
            return read_full_response(s)

    def test_monolithic_post_with_expect(self):
        data = os.urandom(200 * 1024)
        d = sha256(data)
        status, headers, _ = self.send_with_expect("POST", f"/v2/{self.repo}/blobs/uploads/?digest={d}", data)
        self.assertEqual(status, 201, headers)
        self.assertEqual(headers["docker-content-digest"], d)
        self.assertEqual(headers["location"], f"/v2/{self.repo}/blobs/{d}")
        self.assertBlob(d, data)

    def test_chunked_upload_with_expect(self):
        data = os.urandom(150 * 1024)
        loc = self.start_session()
        status, headers, _ = self.send_with_expect("PATCH", loc, data[:100000],
                                                   extra="Content-Range: 0-99999\r\n")
        self.assertEqual(status, 202, headers)
        self.assertEqual(headers["range"], "0-99999")
        d = sha256(data)
        status, headers, _ = self.send_with_expect("PUT", f"{loc}?digest={d}", data[100000:])
        self.assertEqual(status, 201, headers)
        self.assertBlob(d, data)

    def test_rejected_expect_never_reads_a_wrong_chunk(self):
        loc = self.start_session()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall((f"PATCH {loc} HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
                       f"Content-Range: 50-59\r\nContent-Length: 10\r\n\r\n").encode())
            s.settimeout(10)
            head = read_response_head(s)
            if head.startswith(b"HTTP/1.1 100 "):
                s.sendall(b"0123456789")
                head = read_response_head(s)
            self.assertTrue(head.startswith(b"HTTP/1.1 416 "), head)
        self.assertSession(loc, 0)


def pattern_chunks(total, chunk=4 * MiB, seed=b"custody"):
    """Deterministic pseudo-random bytes, generated chunk by chunk."""
    base = hashlib.shake_256(seed).digest(chunk)
    for i in range(0, total, chunk):
        n = min(chunk, total - i)
        block = i.to_bytes(8, "big") + base[8:n] if n >= 8 else base[:n]
        yield block


class LargeBlobTest(UploadTestCase):
    SIZE = 64 * MiB + 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        h = hashlib.sha256()
        for block in pattern_chunks(cls.SIZE):
            h.update(block)
        cls.digest = "sha256:" + h.hexdigest()

    def get_and_hash(self, repo):
        conn = self.server.connect()
        try:
            conn.request("GET", f"/v2/{repo}/blobs/{self.digest}")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Content-Length"), str(self.SIZE))
            self.assertEqual(r.getheader("Docker-Content-Digest"), self.digest)
            h, n = hashlib.sha256(), 0
            while True:
                block = r.read(MiB)
                if not block:
                    break
                h.update(block)
                n += len(block)
            self.assertEqual(n, self.SIZE)
            self.assertEqual("sha256:" + h.hexdigest(), self.digest)
        finally:
            conn.close()

    def test_large_monolithic(self):
        repo = "large/mono"
        conn = self.server.connect()
        try:
            conn.request("POST", f"/v2/{repo}/blobs/uploads/?digest={self.digest}",
                         body=pattern_chunks(self.SIZE), headers={"Content-Length": str(self.SIZE)})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 201)
            self.assertEqual(r.getheader("Docker-Content-Digest"), self.digest)
        finally:
            conn.close()
        self.get_and_hash(repo)
        # A range deep inside the big blob.
        r = self.req("GET", f"/v2/{repo}/blobs/{self.digest}", headers={"Range": "bytes=50331648-50331663"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.header("Content-Range"), f"bytes 50331648-50331663/{self.SIZE}")
        self.assertEqual(r.body[:8], (12 * 4 * MiB).to_bytes(8, "big"))

    def test_large_chunked(self):
        repo = "large/chunked"
        loc = self.start_session(repo)
        chunk = 16 * MiB
        conn = self.server.connect()
        try:
            offset = 0
            pending = pattern_chunks(self.SIZE)
            while offset < self.SIZE:
                n = min(chunk, self.SIZE - offset)
                body = b"".join(next(pending) for _ in range(-(-n // (4 * MiB))))
                self.assertEqual(len(body), n)
                conn.request("PATCH", loc, body=body, headers={"Content-Range": f"{offset}-{offset + n - 1}"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 202)
                offset += n
                self.assertEqual(r.getheader("Range"), f"0-{offset - 1}")
            conn.request("PUT", f"{loc}?digest={self.digest}")
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 201)
        finally:
            conn.close()
        self.get_and_hash(repo)


if __name__ == "__main__":
    unittest.main()
