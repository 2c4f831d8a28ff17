"""Smoke tests of the base endpoint and server plumbing."""
import unittest

from harness import ServerTestCase


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


if __name__ == "__main__":
    unittest.main()
