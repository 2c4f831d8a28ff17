"""The admin API (/api/v1, docs/auth.md): strict bodies against mass
assignment, per-object checks so that an organization's admin cannot act in
another one, pagination, robot secrets shown once, and every change
recorded as a custody-log event."""
import re
import unittest
import urllib.parse

import auth_helpers as ah
from auth_helpers import Principal, pull, push, request


def names(entries):
    return [e if isinstance(e, str) else e["name"] for e in entries]


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = ah.start_server()
        cls.admin = a = s.admin
        for org in ("orga", "orgb"):
            a.create_org(org)
        cls.alice = a.create_user("alice", "alice-pass-0123")   # admin of orga
        cls.bob = a.create_user("bob", "bob-pass-0123")         # admin of orgb
        cls.carl = a.create_user("carl", "carl-pass-0123")      # nobody in particular
        a.grant("orga", "alice", "admin")
        a.grant("orgb", "bob", "admin")
        a.create_team("orgb", "devs")
        a.add_member("orgb", "devs", "bob")
        a.create_team("orga", "devs")
        cls.orgb_robot = a.create_robot("orgb", "ci", role="write")
        for repo in ("orga/app", "orgb/app"):
            r, _ = a.push_image(repo, "v1", repo)
            assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def assertApiError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json()["error"]["code"], code, r)
        self.assertTrue(r.json()["error"]["message"], r)

    def user_names(self):
        r = self.admin.api("GET", "/users?n=1000")
        self.assertEqual(r.status, 200, r)
        return names(r.json()["users"])

    def whoami(self, p):
        r = p.api("GET", "/whoami")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_whoami(self):
        me = self.whoami(self.alice)
        self.assertEqual((me["name"], me["kind"], me["system_admin"]), ("alice", "user", False))
        self.assertTrue(me["auth"])
        self.assertTrue(self.whoami(self.admin)["system_admin"])
        self.assertApiError(request(self.server, "GET", "/api/v1/whoami"), 401, "UNAUTHORIZED")
        self.assertApiError(Principal(self.server, "alice", "wrong").api("GET", "/whoami"), 401, "UNAUTHORIZED")

    def test_user_cannot_raise_itself(self):
        for body in ({"system_admin": True}, {"password": "carl-new-0123", "system_admin": True},
                     {"kind": "robot"}, {"name": "admin"}, {"password": "carl-new-0123", "namespace": "orgb"}):
            with self.subTest(body=body):
                self.assertApiError(self.carl.api("PATCH", "/users/carl", body), 400, "INVALID")
        # "disabled" is a field only system administrators may set.
        for body in ({"disabled": False}, {"password": "carl-new-0123", "disabled": False}):
            with self.subTest(body=body):
                self.assertApiError(self.carl.api("PATCH", "/users/carl", body), 403, "DENIED")
        self.assertFalse(self.whoami(self.carl)["system_admin"])  # and the old password still works
        self.assertEqual(Principal(self.server, "carl", "carl-new-0123").api("GET", "/whoami").status, 401)
        # Nor may a user touch another account.
        self.assertApiError(self.carl.api("PATCH", "/users/alice", {"password": "taken-over-0123"}), 403, "DENIED")
        self.assertApiError(self.alice.api("PATCH", "/users/carl", {"disabled": True}), 403, "DENIED")
        self.assertEqual(self.whoami(self.alice)["name"], "alice")
        self.assertEqual(self.whoami(self.carl)["name"], "carl")

    def test_only_system_admins_create_users_and_orgs(self):
        for p in (self.carl, self.alice):
            with self.subTest(who=p.name):
                self.assertApiError(p.api("POST", "/users", {"name": "eve", "password": "eve-pass-0123"}), 403,
                                    "DENIED")
                self.assertApiError(p.api("POST", "/users", {"name": "eve2", "system_admin": True}), 403, "DENIED")
                self.assertApiError(p.api("POST", "/orgs", {"name": "evilcorp"}), 403, "DENIED")
                self.assertApiError(p.api("GET", "/users"), 403, "DENIED")
        self.assertNotIn("eve", self.user_names())
        self.assertNotIn("evilcorp", names(self.admin.api("GET", "/orgs?n=1000").json()["orgs"]))

    def test_unknown_fields_and_bad_bodies_are_400(self):
        a = self.admin
        cases = [
            ("POST", "/users", {"name": "x1", "admin": True}),
            ("POST", "/users", {"name": "x2", "namespace": "orgb"}),
            ("POST", "/users", {"name": "x3", "system_admin": "yes"}),
            ("POST", "/users", {"name": "Not A Name"}),
            ("POST", "/users", {"name": "robot$orgb+x"}),
            ("POST", "/orgs", {"name": "o1", "owner": "carl"}),
            ("POST", "/orgs", {"name": "o2", "public": "true"}),
            ("POST", "/orgs/orga/teams", {"name": "t1", "members": ["carl"]}),
            ("POST", "/orgs/orga/grants", {"subject": "carl", "role": "read", "namespace": "orgb"}),
            ("POST", "/orgs/orga/grants", {"subject": "carl", "role": "owner"}),
            ("POST", "/orgs/orga/robots", {"name": "r1", "system_admin": True}),
            ("POST", "/orgs/orga/robots", {"name": "r2", "secret": "cst_" + "A" * 43}),
            ("POST", "/orgs/orga/robots", {"name": "r3", "expires_at": "tomorrow"}),
            ("PATCH", "/orgs/orga", {"public": True, "name": "renamed"}),
            ("PATCH", "/repositories/orga/app", {"public": True, "owner": "carl"}),
            ("PATCH", "/repositories/orga/app", {"protected": 1}),
            ("PATCH", "/users/carl", {"password": "carl-pass-0123", "system_admin": True}),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path, body=body):
                self.assertApiError(a.api(method, path, body), 400, "INVALID")
        r = request(self.server, "POST", "/api/v1/users", body=b'{"name": "x4",',
                    headers={**a.auth_headers(), "Content-Type": "application/json"})
        self.assertApiError(r, 400, "INVALID")
        users = self.user_names()
        for name in ("x1", "x2", "x3", "x4"):
            self.assertNotIn(name, users)
        orgs = a.api("GET", "/orgs?n=1000").json()["orgs"]
        self.assertFalse({"o1", "o2", "renamed"} & set(names(orgs)))
        self.assertFalse(next(o for o in orgs if o["name"] == "orga")["public"])
        robots = names(a.api("GET", "/orgs/orga/robots").json()["robots"])
        self.assertFalse({"robot$orga+r1", "robot$orga+r2", "robot$orga+r3"} & set(robots), robots)
        # orga/app stayed private.
        self.assertEqual(Principal(self.server).request("GET", "/v2/orga/app/tags/list", pull("orga/app")).status, 401)

    def test_foreign_ids_in_bodies(self):
        r = self.alice.api("POST", "/orgs/orga/grants", ah.grant_body("alice", "admin", repository="orgb/app"))
        self.assertApiError(r, 400, "INVALID")
        r = self.alice.api("POST", "/orgs/orga/robots",
                           {"name": "sneaky", "access": [{"repository": "orgb/app", "role": "write"}]})
        if r.status == 201:  # ignored rather than rejected: the robot must get nothing in orgb
            robot = Principal(self.server, r.json()["name"], r.json()["secret"])
            self.assertEqual(ah.granted(robot.token(push("orgb/app")), "repository", "orgb/app"), [])
            self.assertEqual(self.alice.api("DELETE", "/orgs/orga/robots/sneaky").status, 204)
        else:
            self.assertApiError(r, 400, "INVALID")
        t = self.alice.token("repository:orgb/app:pull,push,delete")
        self.assertEqual(ah.granted(t, "repository", "orgb/app"), [])

    def test_org_admin_cannot_act_in_another_org(self):
        def calls(org, victim):
            return [
                ("POST", f"/orgs/{org}/teams", {"name": "alices"}, 201),
                ("GET", f"/orgs/{org}/teams/devs/members", None, 200),
                ("PUT", f"/orgs/{org}/teams/devs/members/carl", None, 204),
                ("DELETE", f"/orgs/{org}/teams/devs/members/carl", None, 204),
                ("DELETE", f"/orgs/{org}/teams/devs/members/{victim}", None, None),
                ("GET", f"/orgs/{org}/grants", None, 200),
                ("POST", f"/orgs/{org}/grants", ah.grant_body("carl", "read"), 201),
                ("DELETE", f"/orgs/{org}/grants", ah.grant_body("carl", "read"), 204),
                ("POST", f"/orgs/{org}/grants", ah.grant_body("alice", "admin"), None),
                ("DELETE", f"/orgs/{org}/grants", ah.grant_body(victim, "admin"), None),
                ("GET", f"/orgs/{org}/robots", None, 200),
                ("POST", f"/orgs/{org}/robots", {"name": "alices"}, 201),
                ("DELETE", f"/orgs/{org}/robots/alices", None, 204),
                ("DELETE", f"/orgs/{org}/robots/ci", None, None),
                ("PATCH", f"/orgs/{org}", {"public": False}, (200, 204)),
                ("PATCH", f"/repositories/{org}/app", {"public": False}, (200, 204)),
                ("PATCH", f"/repositories/{org}/app", {"protected": False}, (200, 204)),
            ]

        before = ah.last_seq(self.server)
        for method, path, body, _ in calls("orgb", "bob"):
            with self.subTest(method=method, path=path):
                self.assertApiError(self.alice.api(method, path, body), 403, "DENIED")
        for extra in (("PATCH", "/users/bob", {"password": "taken-over-0123"}), ("GET", "/pki/revocations", None),
                      ("POST", "/pki/revocations", {"serial": "01"})):
            with self.subTest(call=extra):
                self.assertApiError(self.alice.api(*extra), 403, "DENIED")
        self.assertEqual([e for e in ah.events_since(self.server, before) if not e["action"].startswith("auth.")],
                         [])
        # Nothing in orgb changed.
        self.assertEqual(ah.granted(self.orgb_robot.token(push("orgb/app")), "repository", "orgb/app"),
                         ["pull", "push"])
        r = self.bob.api("GET", "/orgs/orgb/teams/devs/members")
        self.assertEqual(names(r.json()["members"]), ["bob"])
        grants = self.bob.api("GET", "/orgs/orgb/grants").json()["grants"]
        self.assertIn("bob", [g["subject"] for g in grants])
        self.assertNotIn("alice", [g["subject"] for g in grants])
        self.assertEqual(names(self.bob.api("GET", "/orgs/orgb/robots").json()["robots"]), ["robot$orgb+ci"])
        self.assertEqual(Principal(self.server).request("GET", "/v2/orgb/app/tags/list", pull("orgb/app")).status, 401)
        # The control: the same calls in her own organization work.
        for method, path, body, status in calls("orga", "nobody"):
            if status is None:
                continue
            with self.subTest(own=True, method=method, path=path):
                r = self.alice.api(method, path, body)
                self.assertIn(r.status, status if isinstance(status, tuple) else (status,), r)

    def test_robots_cannot_use_the_admin_api(self):
        for method, path in (("GET", "/orgs"), ("GET", "/orgs/orgb/robots"), ("POST", "/orgs/orgb/teams")):
            with self.subTest(path=path):
                r = self.orgb_robot.api(method, path, {"name": "robots"} if method == "POST" else None)
                self.assertApiError(r, 403, "DENIED")

    def test_pagination(self):
        for i in range(7):
            self.admin.create_user(f"page{i:02d}")
            self.admin.create_org(f"porg{i:02d}")
        for kind, path in (("users", "/users"), ("orgs", "/orgs")):
            with self.subTest(kind=kind):
                everything = names(self.admin.api("GET", f"{path}?n=1000").json()[kind])
                self.assertEqual(everything, sorted(everything))
                seen, url, pages = [], f"/api/v1{path}?n=3", 0
                while url:
                    r = request(self.server, "GET", url, headers=self.admin.auth_headers())
                    self.assertEqual(r.status, 200, r)
                    page = names(r.json()[kind])
                    self.assertLessEqual(len(page), 3)
                    seen += page
                    pages += 1
                    link = r.header("Link")
                    if link:
                        m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
                        self.assertTrue(m, link)
                        url = m.group(1)
                        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["last"],
                                         [page[-1]])
                    else:
                        url = None
                self.assertEqual(seen, everything)
                self.assertEqual(pages, (len(everything) + 2) // 3)
                prefix = "page" if kind == "users" else "porg"
                r = self.admin.api("GET", f"{path}?n=2&last={prefix}03")
                self.assertEqual(names(r.json()[kind]), [f"{prefix}04", f"{prefix}05"])

    def test_robot_secret_is_shown_once(self):
        r = self.alice.api("POST", "/orgs/orga/robots", {"name": "once", "access": [{"role": "read"}]})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["name"], "robot$orga+once")
        self.assertRegex(j["secret"], ah.SECRET)
        for _ in range(2):
            r = self.alice.api("GET", "/orgs/orga/robots")
            self.assertEqual(r.status, 200, r)
            self.assertIn("robot$orga+once", names(r.json()["robots"]))
            self.assertNotIn(j["secret"].encode(), r.body)
            for robot in r.json()["robots"]:
                self.assertFalse([k for k in robot if "secret" in k or "hash" in k], robot)
        robot = Principal(self.server, j["name"], j["secret"])
        self.assertEqual(ah.granted(robot.token(push("orga/app")), "repository", "orga/app"), ["pull"])
        self.assertEqual(self.alice.api("DELETE", "/orgs/orga/robots/once").status, 204)
        self.assertEqual(robot.token_request(pull("orga/app")).status, 401)
        self.assertApiError(self.alice.api("DELETE", "/orgs/orga/robots/never-made"), 404, "NOT_FOUND")

    def test_every_change_is_an_event(self):
        a = self.admin
        robot = {}
        changes = [
            ("create user", lambda: a.api("POST", "/users", {"name": "evented", "password": "evented-pass-0123"}),
             201, "evented"),
            ("change password", lambda: a.api("PATCH", "/users/evented", {"password": "evented-new-0123"}),
             (200, 204), "evented"),
            ("disable user", lambda: a.api("PATCH", "/users/evented", {"disabled": True}), (200, 204), "evented"),
            ("create org", lambda: a.api("POST", "/orgs", {"name": "evorg"}), 201, "evorg"),
            ("org settings", lambda: a.api("PATCH", "/orgs/evorg", {"public": True}), (200, 204), "evorg"),
            ("create team", lambda: a.api("POST", "/orgs/evorg/teams", {"name": "evteam"}), 201, "evteam"),
            ("add member", lambda: a.api("PUT", "/orgs/evorg/teams/evteam/members/carl"), 204, "carl"),
            ("remove member", lambda: a.api("DELETE", "/orgs/evorg/teams/evteam/members/carl"), 204, "carl"),
            ("grant", lambda: a.api("POST", "/orgs/evorg/grants", ah.grant_body("carl", "write")), 201, "carl"),
            ("revoke grant", lambda: a.api("DELETE", "/orgs/evorg/grants", ah.grant_body("carl", "write")), 204,
             "carl"),
            ("create robot", lambda: robot.setdefault("r", a.api("POST", "/orgs/evorg/robots", {"name": "evbot"})),
             201, "evbot"),
            ("revoke robot", lambda: a.api("DELETE", "/orgs/evorg/robots/evbot"), 204, "evbot"),
            ("repository settings", lambda: a.api("PATCH", "/repositories/orga/app", {"protected": True}),
             (200, 204), "orga/app"),
            ("revoke certificate", lambda: a.api("POST", "/pki/revocations", {"serial": "7A3F01", "reason": "test"}),
             201, "7A3F01"),
        ]
        try:
            for what, call, status, mention in changes:
                with self.subTest(change=what):
                    before = ah.last_seq(self.server)
                    r = call()
                    self.assertIn(r.status, status if isinstance(status, tuple) else (status,), r)
                    new = ah.events_since(self.server, before)
                    self.assertTrue(new, f"no event for {what}")
                    self.assertTrue(all(e["actor"] == "admin" for e in new), new)
                    self.assertTrue(any(mention.lower() in repr(e).lower() for e in new), new)
        finally:
            a.api("PATCH", "/repositories/orga/app", {"protected": False})
        text = repr(ah.events(self.server))
        self.assertNotIn("evented-pass-0123", text)
        self.assertNotIn("evented-new-0123", text)
        self.assertNotIn(robot["r"].json()["secret"], text)
        # A refused change records no change.
        before = ah.last_seq(self.server)
        self.assertEqual(self.carl.api("POST", "/orgs", {"name": "carlorg"}).status, 403)
        self.assertEqual([e for e in ah.events_since(self.server, before) if not e["action"].startswith("auth.")],
                         [])


if __name__ == "__main__":
    unittest.main()
