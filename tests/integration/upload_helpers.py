"""The upload test case and raw-socket readers shared by test_uploads,
test_upload_sessions, test_upload_restart and test_upload_streaming."""
import os
import re

from harness import ServerTestCase

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
