"""Chunked upload sessions of the OCI Distribution Spec v1.1 against the real
server: session status and cancellation, chunk order and size checks,
truncated and malformed bodies, sessions held by another request, hostile
upload ids."""
import os
import socket
import time
import unittest

from harness import Response, sha256
from upload_helpers import DATA, UUID_RE, UploadTestCase, read_full_response


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


if __name__ == "__main__":
    unittest.main()
