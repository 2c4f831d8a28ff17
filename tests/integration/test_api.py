"""Smoke tests of the base endpoint and server plumbing."""
import os
import unittest

from harness import Server, ServerTestCase


class BaseTest(ServerTestCase):
    def test_base_endpoint(self):
        r = self.req("GET", "/v2/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Docker-Distribution-API-Version"), "registry/2.0")
        self.assertEqual(r.json(), {})

    def test_health_and_ready(self):
        self.assertEqual(self.req("GET", "/healthz").status, 200)
        self.assertEqual(self.req("GET", "/readyz").status, 200)

    def test_push_pull_roundtrip(self):
        body, digest = self.server.push_image("smoke/app", "v1")
        r = self.req("GET", "/v2/smoke/app/manifests/v1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("Docker-Content-Digest"), digest)


class ReadinessTest(unittest.TestCase):
    """/readyz reports whether the metadata store answers, /healthz only
    that the process lives. The store is broken for real: its SQLite files
    (meta.db, its WAL and its shared-memory index) are overwritten in place
    under the running server. Permissions would not do it (tests run as
    root), and replacing or removing the files would not either (the open
    descriptors keep the old inodes, and the WAL and page cache still
    answer); overwriting all three does, and so does putting them back."""

    # No checkpoint or pull event writes in the background while the files
    # are swapped, so the saved copies are consistent.
    config = "[log]\ncheckpoint_interval_ms = 3600000\ncheckpoint_events = 1000000\n"

    def test_readyz_is_503_while_the_metadata_store_is_unusable(self):
        server = Server(config=self.config).start()
        try:
            body, _ = server.push_image("ready/app", "v1")
            self.assertEqual(server.request("GET", "/readyz").status, 200)
            db = os.path.join(server.data_dir, "meta.db")
            files = [db + suffix for suffix in ("", "-wal", "-shm")]
            saved = {}
            for path in files:
                with open(path, "rb") as f:
                    saved[path] = f.read()
            for path in files:
                with open(path, "r+b") as f:
                    size = os.path.getsize(path)
                    f.write((b"not a database. " * (size // 16 + 1))[:size])
            r = server.request("GET", "/readyz")
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.body, b"metadata store unavailable\n")
            self.assertEqual(server.request("GET", "/healthz").status, 200)  # alive, just not ready
            r = server.request("GET", "/v2/ready/app/manifests/v1")
            self.assertEqual(r.status, 500, r)
            self.assertEqual(r.error_code(), "UNKNOWN")
            # The same files back in place: ready again, nothing lost.
            for path in files:
                with open(path, "r+b") as f:
                    f.write(saved[path])
                    f.truncate()
            self.assertEqual(server.request("GET", "/readyz").status, 200)
            r = server.request("GET", "/v2/ready/app/manifests/v1")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, body)
            self.assertRegex(server.request("GET", "/metrics").body.decode(),
                             r'custody_http_requests_total\{[^}]*route="readyz"[^}]*status="503"[^}]*\} 1')
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
