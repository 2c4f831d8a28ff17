"""Hostile input at the doors of identity (docs/security.md): oversized
and malformed Authorization headers, tokens, scopes, forms and admin API
bodies are refused with a clear status, and change nothing."""
import json
import sqlite3
import os
import unittest
import urllib.parse

import auth_helpers as ah
from auth_helpers import Principal, basic, pull, request


class HostileAuthInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ah.start_server()
        cls.admin = cls.server.admin
        cls.admin.create_org("acme")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def event_count(self):
        db = sqlite3.connect(os.path.join(self.server.data_dir, "meta.db"))
        try:
            return db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            db.close()

    def test_malformed_authorization_headers_are_401(self):
        for value in ["Basic", "Basic !!!", "Basic " + "QQ" * 9000, "Digest abc", "Bearer", "Bearer " + "a" * 9000,
                      "Bearer a.b.c", "Basic YWRtaW4=",  # no colon
                      "Bearer " + ".".join(["eyJ9"] * 3)]:
            with self.subTest(value=value[:30]):
                r = request(self.server, "GET", "/v2/acme/app/tags/list", headers={"Authorization": value})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(ah.error_code(r), "UNAUTHORIZED", r)
                r = request(self.server, "GET", "/api/v1/whoami", headers={"Authorization": value})
                self.assertEqual(r.status, 401, r)

    def test_too_many_or_malformed_scopes_are_400(self):
        too_many = [("scope", f"repository:acme/app{i}:pull") for i in range(40)]
        bad = ["repository:acme/app", "repository:acme/../etc:pull", "repository:Acme/App:pull",
               "repository:localhost:5000/app:pull", "registry:other:*", "x" * 2000, "repository:acme/app:" + "p" * 40]
        for q in [too_many] + [[("scope", b)] for b in bad]:
            with self.subTest(scope=str(q)[:40]):
                query = urllib.parse.urlencode([("service", "custody")] + q)
                r = request(self.server, "GET", "/auth/token?" + query,
                            headers={"Authorization": basic("admin", self.admin.secret)})
                self.assertEqual(r.status, 400, r)

    def test_oversized_forms_and_bodies_are_refused(self):
        r = request(self.server, "POST", "/auth/token", body=b"grant_type=password&username=admin&password=" + b"x" * 20000,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 413, r)
        before = self.event_count()
        r = self.admin.api("POST", "/orgs", {"name": "big", "padding": "x" * 70000})
        self.assertEqual(r.status, 400, r)
        for body in [b"[1,2]", b"{", b'{"name": 5}', b'{"name": "' + b"a" * 65 + b'"}', b'{"name": "UPPER"}',
                     b'{"name": "../x"}', b'{"name": "ok", "public": "yes"}']:
            with self.subTest(body=body[:30]):
                r = request(self.server, "POST", "/api/v1/orgs", body=body,
                            headers={"Authorization": basic("admin", self.admin.secret),
                                     "Content-Type": "application/json"})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["code"], "INVALID", r)
        self.assertEqual(self.event_count(), before)  # nothing half-written
        names = [o["name"] for o in self.admin.api("GET", "/orgs").json()["orgs"]]
        self.assertNotIn("ok", names)

    def test_hostile_names_in_paths_and_grants(self):
        for path in ["/api/v1/orgs/acme/robots", "/api/v1/orgs/acme/teams"]:
            for name in ["../../etc", "a/b", "A", "", "x" * 65, "robot$evil"]:
                with self.subTest(path=path, name=name[:20]):
                    r = self.admin.api("POST", path[len("/api/v1"):], {"name": name})
                    self.assertEqual(r.status, 400, r)
        r = self.admin.api("POST", "/orgs/acme/grants", {"subject": "admin", "role": "admin", "repository": "other/app"})
        self.assertEqual(r.status, 400, r)  # a grant cannot reach outside its namespace
        r = self.admin.api("POST", "/orgs/acme/grants", {"subject": "admin", "role": "owner"})
        self.assertEqual(r.status, 400, r)
        r = self.admin.api("PATCH", "/repositories/acme/../etc", {"public": True})
        self.assertIn(r.status, (400, 404), r)

    def test_a_robot_name_is_not_a_password_backdoor(self):
        robot = self.admin.create_robot("acme", "ci", role="read")
        # A robot never authenticates with a password, whatever is stored.
        r = Principal(self.server, robot.name, "not-a-secret-password").token_request(pull("acme/app"))
        self.assertEqual(r.status, 401, r)
        self.assertEqual(robot.token_request(pull("acme/app")).status, 200)
        body = json.loads(robot.token_request(pull("acme/app")).body)
        self.assertNotIn("refresh_token", body)


if __name__ == "__main__":
    unittest.main()
