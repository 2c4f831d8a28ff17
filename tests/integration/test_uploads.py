"""Upload endpoints of the OCI Distribution Spec v1.1 against the real server:
monolithic and chunked pushes, session status and cancellation, chunk order
and size checks, hostile upload ids, cross-repository mounts, sessions that
survive a restart, Expect: 100-continue, and large streamed blobs."""
import hashlib
import os
import re
import signal
import socket
import threading
import time
import unittest

from harness import Response, Server, ServerTestCase, sha256

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATA = bytes((i * 31 + 7) % 251 for i in range(1000))
MiB = 1 << 20


def blob_file(data_dir, digest):
    hexd = digest.split(":", 1)[1]
    return os.path.join(data_dir, "blobs", "sha256", hexd[:2], hexd)


class UploadTestCase(ServerTestCase):
    repo = "uploads/test"

    def start_session(self, repo=None):
        repo = repo or self.repo
        r = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        self.assertEqual(r.status, 202, r)
        loc = r.header("Location")
        uuid = r.header("Docker-Upload-UUID")
        self.assertRegex(uuid, UUID_RE)
        self.assertEqual(loc, f"/v2/{repo}/blobs/uploads/{uuid}")
        self.assertEqual(r.header("Range"), "0-0")
        self.assertEqual(r.header("Content-Length"), "0")
        return loc

    def patch(self, loc, data, first=None, extra=None):
        headers = {"Content-Type": "application/octet-stream"}
        if first is not None:
            headers["Content-Range"] = f"{first}-{first + len(data) - 1}"
        headers.update(extra or {})
        return self.req("PATCH", loc, body=data, headers=headers)

    def assertSession(self, loc, size):
        r = self.req("GET", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), f"0-{max(size - 1, 0)}")
        self.assertEqual(r.header("Location"), loc)
        self.assertEqual(r.header("Docker-Upload-UUID"), loc.rsplit("/", 1)[1])
        self.assertEqual(r.body, b"")

    def assertSessionGone(self, loc):
        r = self.req("GET", loc)
        self.assertError(r, 404, "BLOB_UPLOAD_UNKNOWN")

    def assertBlob(self, digest, data, repo=None):
        r = self.req("GET", f"/v2/{repo or self.repo}/blobs/{digest}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Docker-Content-Digest"), digest)
        self.assertEqual(r.body, data)

    def assertNoBlob(self, digest, repo=None):
        r = self.req("HEAD", f"/v2/{repo or self.repo}/blobs/{digest}")
        self.assertEqual(r.status, 404, r)
        self.assertFalse(os.path.exists(blob_file(self.server.data_dir, digest)), digest)

    def assertCreated(self, r, digest, repo=None):
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Location"), f"/v2/{repo or self.repo}/blobs/{digest}")
        self.assertEqual(r.header("Docker-Content-Digest"), digest)


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


class ChunkedTest(UploadTestCase):
    def test_post_session_headers(self):
        loc = self.start_session()
        self.assertSession(loc, 0)

    def test_chunks_in_order(self):
        loc = self.start_session()
        r = self.patch(loc, DATA[:100], first=0)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-99")
        self.assertEqual(r.header("Location"), loc)
        self.assertEqual(r.header("Docker-Upload-UUID"), loc.rsplit("/", 1)[1])
        self.assertEqual(r.header("Content-Length"), "0")
        self.assertSession(loc, 100)
        r = self.patch(loc, DATA[100:250], first=100)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-249")
        # The RFC 9110 form of Content-Range is accepted too.
        r = self.req("PATCH", loc, body=DATA[250:600], headers={"Content-Range": "bytes 250-599/*"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-599")
        r = self.req("PATCH", loc, body=DATA[600:], headers={"Content-Range": f"bytes 600-999/{len(DATA)}"})
        self.assertEqual(r.status, 202, r)
        self.assertSession(loc, len(DATA))
        d = sha256(DATA)
        r = self.req("PUT", f"{loc}?digest={d}")
        self.assertCreated(r, d)
        self.assertBlob(d, DATA)
        self.assertSessionGone(loc)
        r = self.patch(loc, b"more", first=len(DATA))
        self.assertError(r, 404, "BLOB_UPLOAD_UNKNOWN")

    def test_streamed_chunks_without_content_range(self):
        loc = self.start_session()
        for i in range(0, len(DATA), 300):
            r = self.req("PATCH", loc, body=DATA[i:i + 300])
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.header("Range"), f"0-{min(i + 300, len(DATA)) - 1}")
        r = self.req("PATCH", loc, body=b"")  # an empty chunk changes nothing
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), f"0-{len(DATA) - 1}")
        d = sha256(DATA)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA)

    def test_streamed_chunk_with_chunked_encoding(self):
        loc = self.start_session()
        conn = self.server.connect()
        try:
            conn.request("PATCH", loc, body=iter([DATA[:123], DATA[123:500]]), encode_chunked=True)
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 202)
            self.assertEqual(r.getheader("Range"), "0-499")
        finally:
            conn.close()
        d = sha256(DATA)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}", body=DATA[500:]), d)
        self.assertBlob(d, DATA)

    def test_put_with_final_chunk(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:400], first=0).status, 202)
        d = sha256(DATA)
        r = self.req("PUT", f"{loc}?digest={d}", body=DATA[400:],
                     headers={"Content-Range": f"400-{len(DATA) - 1}"})
        self.assertCreated(r, d)
        self.assertBlob(d, DATA)
        self.assertSessionGone(loc)

    def test_put_with_whole_blob_and_no_patch(self):
        data = b"whole blob in the PUT"
        loc = self.start_session()
        d = sha256(data)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}", body=data), d)
        self.assertBlob(d, data)

    def test_put_final_chunk_out_of_order(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:400], first=0).status, 202)
        r = self.req("PUT", f"{loc}?digest={sha256(DATA)}", body=DATA[500:],
                     headers={"Content-Range": f"500-{len(DATA) - 1}"})
        self.assertError(r, 416, "RANGE_INVALID")
        self.assertEqual(r.header("Range"), "0-399")
        self.assertSession(loc, 400)
        self.assertNoBlob(sha256(DATA[:400] + DATA[500:]))

    def test_out_of_order_and_overlapping_chunks(self):
        loc = self.start_session()
        uuid = loc.rsplit("/", 1)[1]
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        for first, last in ((200, 299), (50, 149), (0, 99), (101, 200), (99, 99)):
            with self.subTest(first=first, last=last):
                r = self.req("PATCH", loc, body=DATA[first:last + 1],
                             headers={"Content-Range": f"{first}-{last}"})
                self.assertError(r, 416, "RANGE_INVALID")
                self.assertEqual(r.header("Range"), "0-99")
                self.assertEqual(r.header("Location"), loc)
                self.assertEqual(r.header("Docker-Upload-UUID"), uuid)
                self.assertSession(loc, 100)
        # The session continues from where it was.
        self.assertEqual(self.patch(loc, DATA[100:], first=100).status, 202)
        d = sha256(DATA)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA)

    def test_first_chunk_must_start_at_zero(self):
        loc = self.start_session()
        r = self.patch(loc, DATA[:10], first=5)
        self.assertError(r, 416, "RANGE_INVALID")
        self.assertEqual(r.header("Range"), "0-0")
        self.assertSession(loc, 0)

    def test_malformed_content_range(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:10], first=0).status, 202)
        for cr in ("abc", "10-5", "10", "-5", "10-", "bytes 10-19", "bytes=10-19", "10-19/x", "a-b"):
            with self.subTest(content_range=cr):
                r = self.req("PATCH", loc, body=DATA[10:20], headers={"Content-Range": cr})
                self.assertError(r, 416, "RANGE_INVALID")
                self.assertSession(loc, 10)

    def test_content_range_that_cannot_be_honoured(self):
        loc = self.start_session()
        # A range ending at 2^64-1 has a length that does not fit in 64 bits.
        for cr, body in (("0-18446744073709551615", b""), ("bytes 0-18446744073709551615/*", b""),
                         ("0-99999999999999999999999", b""), ("bytes 0-9/5", DATA[:10]),
                         ("bytes 0-9/9", DATA[:10])):
            with self.subTest(content_range=cr):
                r = self.req("PATCH", loc, body=body, headers={"Content-Range": cr})
                self.assertError(r, 416, "RANGE_INVALID")
                self.assertSession(loc, 0)
        r = self.req("PATCH", loc, body=DATA[:10], headers={"Content-Range": "bytes 0-9/10"})
        self.assertEqual(r.status, 202, r)
        self.assertSession(loc, 10)

    def test_content_length_mismatching_content_range(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        r = self.req("PATCH", loc, body=DATA[100:150], headers={"Content-Range": "100-199"})
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertSession(loc, 100)
        r = self.req("PATCH", loc, body=DATA[100:300], headers={"Content-Range": "100-199"})
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertSession(loc, 100)
        r = self.req("PUT", f"{loc}?digest={sha256(DATA[:200])}", body=DATA[100:150],
                     headers={"Content-Range": "100-199"})
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertSession(loc, 100)

    def chunked_patch(self, loc, parts, content_range):
        conn = self.server.connect()
        try:
            conn.request("PATCH", loc, body=iter(parts), headers={"Content-Range": content_range},
                         encode_chunked=True)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def test_chunk_body_shorter_than_content_range(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        # No Content-Length (chunked encoding), so only the body's end tells.
        r = self.chunked_patch(loc, [DATA[100:150]], "100-199")
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertSession(loc, 100)
        r = self.chunked_patch(loc, [DATA[100:200], DATA[200:260]], "100-199")
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertSession(loc, 100)
        # A failed first chunk leaves an empty session empty.
        loc2 = self.start_session()
        r = self.chunked_patch(loc2, [DATA[:10]], "0-99")
        self.assertError(r, 400, "SIZE_INVALID")
        self.assertSession(loc2, 0)
        # Both sessions continue normally.
        self.assertEqual(self.patch(loc, DATA[100:], first=100).status, 202)
        d = sha256(DATA)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA)
        self.assertEqual(self.patch(loc2, DATA[:10], first=0).status, 202)
        self.assertSession(loc2, 10)

    def test_client_disconnects_mid_chunk(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall((f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Range: 100-999\r\n"
                       f"Content-Length: 900\r\n\r\n").encode() + DATA[100:400])
            s.shutdown(socket.SHUT_WR)
            s.settimeout(10)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
        # The server may still be finishing that request; the session is
        # at its previous size once it has.
        deadline = time.time() + 10
        while True:
            r = self.req("GET", loc)
            if r.status == 204 or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertSession(loc, 100)
        self.assertEqual(self.patch(loc, DATA[100:], first=100).status, 202)
        d = sha256(DATA)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA)

    def raw_exchange(self, head, body=b"", half_close=False):
        """Sends a request as raw bytes and returns the raw reply."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(head.encode() + body)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            status, headers, body = read_full_response(s)
            return Response(status, list(headers.items()), body)

    def test_body_shorter_than_content_length_is_blob_upload_invalid(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        # The client announces 900 bytes, sends 300 and closes its side: the
        # body cannot be read, the chunk is refused, the session keeps 100.
        for content_range in ("Content-Range: 100-999\r\n", ""):
            with self.subTest(content_range=bool(content_range)):
                r = self.raw_exchange(
                    f"PATCH {loc} HTTP/1.1\r\nHost: x\r\n{content_range}Content-Length: 900\r\n\r\n",
                    DATA[100:400], half_close=True)
                self.assertError(r, 400, "BLOB_UPLOAD_INVALID")
                self.assertIn("partial message", r.json()["errors"][0]["message"])
                self.assertSession(loc, 100)
        # The same for a final chunk sent with PUT: nothing is committed.
        d = sha256(DATA)
        r = self.raw_exchange(
            f"PUT {loc}?digest={d} HTTP/1.1\r\nHost: x\r\nContent-Range: 100-999\r\nContent-Length: 900\r\n\r\n",
            DATA[100:500], half_close=True)
        self.assertError(r, 400, "BLOB_UPLOAD_INVALID")
        self.assertSession(loc, 100)
        self.assertNoBlob(d)
        self.assertEqual(self.patch(loc, DATA[100:], first=100).status, 202)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA)

    def test_malformed_chunked_encoding_is_blob_upload_invalid(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:10], first=0).status, 202)
        # A valid first chunk, then a chunk-size line that is not hex.
        r = self.raw_exchange(
            f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\nzz\r\n")
        self.assertError(r, 400, "BLOB_UPLOAD_INVALID")
        self.assertIn("bad chunk", r.json()["errors"][0]["message"])
        self.assertEqual(r.header("Connection"), "close")
        self.assertSession(loc, 10)  # the 5 bytes that did arrive are not kept

    def test_session_held_by_another_request_is_blob_upload_invalid(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        holder = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            holder.sendall(f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Range: 100-199\r\n"
                           f"Content-Length: 100\r\n\r\n".encode() + DATA[100:130])
            # Until the server has taken the session for that request, a
            # status query answers 204; from then on, every request on the
            # session is refused with 409 and changes nothing.
            deadline = time.time() + 10
            r = self.req("GET", loc)
            while r.status == 204 and time.time() < deadline:
                time.sleep(0.02)
                r = self.req("GET", loc)
            self.assertError(r, 409, "BLOB_UPLOAD_INVALID")
            self.assertEqual(r.json()["errors"][0]["detail"], loc.rsplit("/", 1)[1])
            for other in (self.patch(loc, DATA[100:200], first=100),
                          self.req("PUT", f"{loc}?digest={sha256(DATA[:200])}", body=DATA[100:200])):
                self.assertEqual(other.status, 409, other)
                self.assertEqual(other.error_code(), "BLOB_UPLOAD_INVALID")
            holder.sendall(DATA[130:200])
            status, headers, _ = read_full_response(holder)
            self.assertEqual(status, 202)
            self.assertEqual(headers.get("range"), "0-199")
        finally:
            holder.close()
        self.assertSession(loc, 200)
        d = sha256(DATA[:200])
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA[:200])

    def test_delete_session(self):
        data = os.urandom(200)
        loc = self.start_session()
        self.assertEqual(self.patch(loc, data[:100], first=0).status, 202)
        r = self.req("DELETE", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Content-Length"), "0")
        self.assertSessionGone(loc)
        uuid = loc.rsplit("/", 1)[1]
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "uploads", uuid)))
        self.assertError(self.patch(loc, data[100:200], first=100), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.req("PUT", f"{loc}?digest={sha256(data[:100])}"), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.req("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertNoBlob(sha256(data[:100]))

    def test_wrong_digest_at_put(self):
        data = b"chunked upload, wrong digest"
        loc = self.start_session()
        self.assertEqual(self.patch(loc, data, first=0).status, 202)
        wrong = sha256(b"not this")
        r = self.req("PUT", f"{loc}?digest={wrong}")
        self.assertError(r, 400, "DIGEST_INVALID")
        self.assertSessionGone(loc)
        self.assertNoBlob(wrong)
        self.assertNoBlob(sha256(data))
        uuid = loc.rsplit("/", 1)[1]
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "uploads", uuid)))

    def test_wrong_digest_at_put_with_final_chunk(self):
        data = os.urandom(20)
        loc = self.start_session()
        self.assertEqual(self.patch(loc, data[:10], first=0).status, 202)
        r = self.req("PUT", f"{loc}?digest={sha256(data[:10])}", body=data[10:])
        self.assertError(r, 400, "DIGEST_INVALID")
        self.assertSessionGone(loc)
        self.assertNoBlob(sha256(data))
        self.assertNoBlob(sha256(data[:10]))

    def test_put_without_digest(self):
        loc = self.start_session()
        self.assertEqual(self.patch(loc, DATA[:100], first=0).status, 202)
        r = self.req("PUT", loc)
        self.assertError(r, 400, "DIGEST_INVALID")
        r = self.req("PUT", loc, body=DATA[100:200])
        self.assertError(r, 400, "DIGEST_INVALID")
        # Nothing was appended and the session can still be finished.
        self.assertSession(loc, 100)
        d = sha256(DATA[:100])
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d)
        self.assertBlob(d, DATA[:100])

    def test_unsupported_methods(self):
        loc = self.start_session()
        for method in ("POST", "HEAD"):
            with self.subTest(method=method):
                r = self.req(method, loc)
                self.assertEqual(r.status, 405, r)
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                r = self.req(method, f"/v2/{self.repo}/blobs/uploads/")
                self.assertError(r, 405, "UNSUPPORTED")
        self.assertSession(loc, 0)

    def test_upload_of_another_repository(self):
        data = os.urandom(200)
        loc = self.start_session("uploads/owner")
        self.assertEqual(self.patch(loc, data[:100], first=0).status, 202)
        uuid = loc.rsplit("/", 1)[1]
        other = f"/v2/uploads/intruder/blobs/uploads/{uuid}"
        d = sha256(data[:100])
        self.assertError(self.req("GET", other), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.patch(other, data[100:200], first=100), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.req("PUT", f"{other}?digest={d}"), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.req("DELETE", other), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertNoBlob(d, repo="uploads/intruder")
        # The owner's session is untouched.
        self.assertSession(loc, 100)
        self.assertCreated(self.req("PUT", f"{loc}?digest={d}"), d, repo="uploads/owner")
        self.assertBlob(d, data[:100], repo="uploads/owner")
        r = self.req("HEAD", f"/v2/uploads/intruder/blobs/{d}")
        self.assertEqual(r.status, 404, r)

    def test_hostile_upload_ids(self):
        real = self.start_session().rsplit("/", 1)[1]
        hostile = [
            "..", "...", "../../etc", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc",
            "..%5C..%5Cetc", "%2F", "%252F..", "x" * 5000, "a" * 36, real.upper(),
            real + "x", real[:-1], " " + real[1:], real + "%2F..",
            "00000000-0000-0000-0000-000000000000", "%00", "..%00", "state", "data", "*", ";",
        ]
        for hid in hostile:
            for method in ("GET", "PATCH", "PUT", "DELETE"):
                with self.subTest(id=hid[:50], method=method):
                    path = f"/v2/{self.repo}/blobs/uploads/{hid}"
                    if method == "PUT":
                        path += f"?digest={sha256(b'x')}"
                    if " " in path:
                        path = path.replace(" ", "%20")
                    r = self.req(method, path, body=b"x" if method in ("PATCH", "PUT") else None)
                    self.assertLess(r.status, 500, r)
                    if "%00" in hid:  # a NUL in the path is refused before routing
                        self.assertEqual(r.status, 400, r)
                        continue
                    self.assertEqual(r.status, 404, r)
                    code = r.error_code()
                    if "/" in hid.replace("%2F", "/").replace("%2f", "/"):
                        self.assertIn(code, ("BLOB_UPLOAD_UNKNOWN", "NAME_UNKNOWN"), r)
                    else:
                        self.assertEqual(code, "BLOB_UPLOAD_UNKNOWN", r)
        self.assertEqual(self.req("GET", "/healthz").status, 200)
        self.assertSession(f"/v2/{self.repo}/blobs/uploads/{real}", 0)
        uploads = os.listdir(os.path.join(self.server.data_dir, "uploads"))
        self.assertTrue(all(UUID_RE.match(u) for u in uploads), uploads)

    def test_percent_encoded_real_id_is_the_same_id(self):
        loc = self.start_session()
        uuid = loc.rsplit("/", 1)[1]
        encoded = uuid.replace("-", "%2D")
        r = self.req("GET", f"/v2/{self.repo}/blobs/uploads/{encoded}")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Docker-Upload-UUID"), uuid)


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


class RestartTest(unittest.TestCase):
    def test_session_survives_restart(self):
        data = os.urandom(3 * MiB + 12345)
        first = Server().start()
        try:
            r = first.request("POST", "/v2/restart/app/blobs/uploads/")
            self.assertEqual(r.status, 202, r)
            loc = r.header("Location")
            cut = 2 * MiB + 7
            r = first.request("PATCH", loc, body=data[:cut], headers={"Content-Range": f"0-{cut - 1}"})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.header("Range"), f"0-{cut - 1}")
        finally:
            self.assertEqual(first.stop(), 0)
        second = Server(data_dir=first.data_dir).start()
        try:
            r = second.request("GET", loc)
            self.assertEqual(r.status, 204, r)
            self.assertEqual(r.header("Range"), f"0-{cut - 1}")
            r = second.request("PATCH", loc, body=data[cut:cut + MiB],
                               headers={"Content-Range": f"{cut}-{cut + MiB - 1}"})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.header("Range"), f"0-{cut + MiB - 1}")
            d = sha256(data)
            r = second.request("PUT", f"{loc}?digest={d}", body=data[cut + MiB:])
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.header("Docker-Content-Digest"), d)
            r = second.request("GET", f"/v2/restart/app/blobs/{d}")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(sha256(r.body), d)
            self.assertEqual(r.body, data)
        finally:
            second.stop()
            first.cleanup()


    def test_killed_mid_chunk_keeps_last_complete_chunk(self):
        data = os.urandom(4 * MiB)
        end = 3 * MiB  # the chunk in flight when the server dies is [done, end)
        first = Server().start()
        second = None
        socks = []
        try:
            sessions = []
            for done in (0, MiB):  # an empty session, and one with a complete chunk
                r = first.request("POST", "/v2/restart/crash/blobs/uploads/")
                loc = r.header("Location")
                if done:
                    r = first.request("PATCH", loc, body=data[:done], headers={"Content-Range": f"0-{done - 1}"})
                    self.assertEqual(r.status, 202, r)
                sessions.append((loc, done))
            for loc, done in sessions:
                s = socket.create_connection(("127.0.0.1", first.port), timeout=10)
                socks.append(s)
                s.sendall((f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Range: {done}-{end - 1}\r\n"
                           f"Content-Length: {end - done}\r\n\r\n").encode() + data[done:done + 3 * MiB // 2])
                # Wait until the server has written part of the chunk.
                path = os.path.join(first.data_dir, "uploads", loc.rsplit("/", 1)[1], "data")
                deadline = time.time() + 10
                while os.path.getsize(path) <= done and time.time() < deadline:
                    time.sleep(0.01)
                self.assertGreater(os.path.getsize(path), done)
            first.stop(signal.SIGKILL)
            second = Server(data_dir=first.data_dir).start()
            d = sha256(data)
            for loc, done in sessions:
                r = second.request("GET", loc)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.header("Range"), f"0-{max(done - 1, 0)}")
                r = second.request("PATCH", loc, body=data[done:end], headers={"Content-Range": f"{done}-{end - 1}"})
                self.assertEqual(r.status, 202, r)
                r = second.request("PUT", f"{loc}?digest={d}", body=data[end:])
                self.assertEqual(r.status, 201, r)
            r = second.request("GET", f"/v2/restart/crash/blobs/{d}")
            self.assertEqual(r.body, data)
        finally:
            for s in socks:
                s.close()
            if second:
                second.stop()
            first.cleanup()


def read_response_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf


def read_full_response(sock):
    """Reads one response with a Content-Length body; returns (status, headers, body)."""
    head = read_response_head(sock)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        chunk = sock.recv(want - len(body))
        if not chunk:
            break
        body += chunk
    return status, headers, body


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
