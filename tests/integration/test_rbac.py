"""The permission matrix of docs/auth.md over HTTP: every role × every
registry action × private/public × protected/unprotected, each request with
the token a docker client would fetch for it, asserting the exact status and
error code; then skopeo with credentials against the same server."""
import os
import shutil
import subprocess
import tempfile
import unittest

import auth_helpers as ah
from auth_helpers import CATALOG, Principal, delete, pull, push
from harness import IMAGES, sha256

# name: (public, protected, how the setting is made)
REPOS = {
    "priv/app": (False, False, "org"),
    "pub/app": (True, False, "org"),
    "prot/app": (False, True, "org"),
    "pubprot/app": (True, True, "org"),
    "priv/shown": (True, False, "repository"),
    "priv/guarded": (False, True, "repository"),
}
ORGS = {"priv": (False, False), "pub": (True, False), "prot": (False, True), "pubprot": (True, True)}

# The role table: the token actions each principal holds on the repositories
# of every organization (granted on the namespace; the team through a team
# grant; the robot is the organization's own robot with `write`).
ROLES = {
    "anonymous": set(),
    "none": set(),
    "read": {"pull"},
    "write": {"pull", "push"},
    "admin": {"pull", "push", "delete"},
    "team": {"pull", "push"},
    "robot": {"pull", "push"},
    "sysadmin": {"pull", "push", "delete"},
}
USERS = {"none": "nobody", "read": "reader", "write": "writer", "admin": "owner", "team": "teamer"}

# action: (the action it needs, the status on success)
ACTIONS = {
    "pull manifest": ("pull", 200),
    "pull blob": ("pull", 200),
    "tags list": ("pull", 200),
    "referrers": ("pull", 200),
    "push": ("push", 201),
    "delete manifest": ("delete", 202),
    "mount target": ("push", 201),
    "mount source": (None, None),         # push on one's own repository; pull on the source decides 201 or 202
    "foreign upload session": ("push", 404),
}


def holds(role, repo):
    public, protected, _ = REPOS[repo]
    acts = set(ROLES[role]) | ({"pull"} if public else set())
    if protected and role != "robot":
        acts -= {"push", "delete"}
    return acts


def expected(role, repo, action):
    """(status, error code or None, refused because protected)."""
    need, ok = ACTIONS[action]
    if action == "mount source":
        return (201 if "pull" in holds(role, repo) else 202), None, False
    if need in holds(role, repo):
        return ok, ("BLOB_UPLOAD_UNKNOWN" if action == "foreign upload session" else None), False
    if role == "anonymous":
        return 401, "UNAUTHORIZED", False
    return 403, "DENIED", REPOS[repo][1] and need in ROLES[role]


def skopeo(*args, env=None):
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


class RbacTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = ah.start_server()
        admin = s.admin
        cls.people = {"anonymous": Principal(s), "sysadmin": admin}
        for role, name in USERS.items():
            cls.people[role] = admin.create_user(name, f"{name}-pass-0123")
        cls.robots, cls.openers = {}, {}
        for org, (public, protected) in ORGS.items():
            admin.create_org(org, public=public, protected=protected)
            for role in ("read", "write", "admin"):
                admin.grant(org, USERS[role], role)
            admin.create_team(org, "devs")
            admin.add_member(org, "devs", "teamer")
            admin.grant(org, "devs", "write", team=True)
            cls.robots[org] = admin.create_robot(org, "ci", role="write")
            cls.openers[org] = admin.create_robot(org, "opener", role="write")
        # Content, pushed by each organization's robot (protected ones too).
        cls.seed, cls.deletable, cls.sessions, cls.source_blob = {}, {}, {}, {}
        for repo in REPOS:
            robot = cls.robots[repo.split("/")[0]]
            r, cls.seed[repo] = robot.push_image(repo, "v1", repo)
            assert r.status == 201, r
            for role in ROLES:
                r, cls.deletable[(role, repo)] = robot.push_image(repo, f"del-{role}", f"{repo} del {role}")
                assert r.status == 201, r
            r, cls.source_blob[repo] = robot.push_blob(repo, f"mount source in {repo}".encode())
            assert r.status == 201, r
            r = cls.openers[repo.split("/")[0]].request("POST", f"/v2/{repo}/blobs/uploads/", push(repo))
            assert r.status == 202, r
            cls.sessions[repo] = r.header("Location")
        for repo, (public, protected, how) in REPOS.items():
            if how == "repository":
                admin.set_repo(repo, public=public, protected=protected)
        r, cls.pub_blob = cls.robots["pub"].push_blob("pub/src", b"a public blob to mount")
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def principal(self, role, repo):
        return self.robots[repo.split("/")[0]] if role == "robot" else self.people[role]

    def mount_target_of(self, role, repo):
        if role == "robot":
            return f"{repo.split('/')[0]}/mnt-robot"
        if role == "sysadmin":
            return "priv/mnt-sysadmin"
        return f"{USERS[role]}/mnt"

    def perform(self, role, repo, action):
        p = self.principal(role, repo)
        if action == "pull manifest":
            return p.request("GET", f"/v2/{repo}/manifests/v1", pull(repo), headers={"Accept": ah.OCI_MANIFEST})
        if action == "pull blob":
            return p.request("GET", f"/v2/{repo}/blobs/{sha256(ah.config_bytes(repo))}", pull(repo))
        if action == "tags list":
            return p.request("GET", f"/v2/{repo}/tags/list", pull(repo))
        if action == "referrers":
            return p.request("GET", f"/v2/{repo}/referrers/{self.seed[repo]}", pull(repo))
        if action == "push":
            return p.push_image(repo, f"push-{role}", f"{repo} push {role}")[0]
        if action == "delete manifest":
            return p.request("DELETE", f"/v2/{repo}/manifests/{self.deletable[(role, repo)]}", delete(repo))
        if action == "mount target":
            return p.request("POST", f"/v2/{repo}/blobs/uploads/?mount={self.pub_blob}&from=pub/src",
                             (push(repo), pull("pub/src")))
        if action == "mount source":
            target = self.mount_target_of(role, repo)
            return p.request("POST", f"/v2/{target}/blobs/uploads/?mount={self.source_blob[repo]}&from={repo}",
                             (push(target), pull(repo)))
        if action == "foreign upload session":
            return p.request("GET", self.sessions[repo], push(repo))
        raise AssertionError(action)

    def test_matrix(self):
        checked = 0
        for repo in REPOS:
            for role in ROLES:
                for action in ACTIONS:
                    if action == "mount source" and role == "anonymous":
                        continue
                    status, code, protected = expected(role, repo, action)
                    with self.subTest(repo=repo, role=role, action=action):
                        before = ah.last_seq(self.server)
                        r = self.perform(role, repo, action)
                        self.assertEqual(r.status, status, r)
                        if code:
                            self.assertEqual(ah.error_code(r), code, r)
                        if status == 401:
                            scheme, params = ah.parse_challenge(r.header("WWW-Authenticate") or "")
                            self.assertEqual(scheme, "Bearer", r)
                        if protected:
                            self.assertIn(f"repository {repo} is protected", ah.error_message(r), r)
                            denied = [e for e in ah.events_since(self.server, before) if e["action"] == "auth.denied"]
                            self.assertEqual([(e["actor"], e["repository"]) for e in denied],
                                             [(self.principal(role, repo).name, repo)])
                        if action == "mount source" and status == 202:
                            target = self.mount_target_of(role, repo)
                            h = self.principal(role, repo).request(
                                "HEAD", f"/v2/{target}/blobs/{self.source_blob[repo]}", pull(target))
                            self.assertEqual(h.status, 404, h)
                        checked += 1
        self.assertEqual(checked, len(REPOS) * (len(ROLES) * len(ACTIONS) - 1))
        # Nothing refused left a trace: each repository holds exactly the
        # tags the allowed pushes made and the refused deletes kept.
        for repo in REPOS:
            with self.subTest(repo=repo, check="tags"):
                want = {"v1"}
                for role in ROLES:
                    if expected(role, repo, "push")[0] == 201:
                        want.add(f"push-{role}")
                    if expected(role, repo, "delete manifest")[0] != 202:
                        want.add(f"del-{role}")
                r = self.server.admin.request("GET", f"/v2/{repo}/tags/list", pull(repo))
                self.assertEqual(set(r.json()["tags"]), want)
        # The session's owner still uses it; nobody else touched it.
        for repo, loc in self.sessions.items():
            with self.subTest(repo=repo, check="session owner"):
                r = self.openers[repo.split("/")[0]].request("GET", loc, push(repo))
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.header("Range"), "0-0", r)

    def test_catalog(self):
        for role in ROLES:
            with self.subTest(role=role):
                r = self.principal(role, "priv/app").request("GET", "/v2/_catalog", CATALOG)
                if role == "sysadmin":
                    self.assertEqual(r.status, 200, r)
                    self.assertTrue(set(REPOS) <= set(r.json()["repositories"]))
                elif role == "anonymous":
                    self.assertEqual((r.status, ah.error_code(r)), (401, "UNAUTHORIZED"), r)
                else:
                    self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)

    def test_foreign_session_cannot_be_written(self):
        # A writer who learns another principal's upload URL cannot append
        # to it, finish it or cancel it.
        writer, loc = self.people["write"], self.sessions["priv/app"]
        data = b"smuggled"
        for method, path, body in (("PATCH", loc, data), ("PUT", f"{loc}?digest={sha256(data)}", data),
                                   ("DELETE", loc, None)):
            with self.subTest(method=method):
                r = writer.request(method, path, push("priv/app"), body=body,
                                   headers={"Content-Type": "application/octet-stream"})
                self.assertEqual((r.status, ah.error_code(r)), (404, "BLOB_UPLOAD_UNKNOWN"), r)
        # A session opened on one repository is not usable through another.
        other = loc.replace("/v2/priv/app/", "/v2/writer/app/")
        r = writer.request("GET", other, push("writer/app"))
        self.assertEqual((r.status, ah.error_code(r)), (404, "BLOB_UPLOAD_UNKNOWN"), r)
        r = self.openers["priv"].request("GET", loc, push("priv/app"))
        self.assertEqual((r.status, r.header("Range")), (204, "0-0"), r)

    def test_repository_grant_covers_only_that_repository(self):
        admin = self.server.admin
        narrow = admin.create_user("narrow", "narrow-pass-0123")
        admin.grant("priv", "narrow", "write", repository="priv/app")
        t = narrow.token(push("priv/app"), push("priv/guarded"), push("prot/app"))
        self.assertEqual(sorted(ah.granted(t, "repository", "priv/app")), ["pull", "push"])
        self.assertEqual(ah.granted(t, "repository", "priv/guarded"), [])
        self.assertEqual(ah.granted(t, "repository", "prot/app"), [])
        r = narrow.request("GET", "/v2/priv/guarded/tags/list", pull("priv/guarded"))
        self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)
        self.assertEqual(narrow.request("GET", "/v2/priv/app/tags/list", pull("priv/app")).status, 200)

    def test_robot_scoped_to_one_repository(self):
        robot = self.server.admin.create_robot("priv", "narrow", role="write", repository="priv/app")
        t = robot.token(push("priv/app"), push("priv/shown"), push("pub/app"))
        self.assertEqual(sorted(ah.granted(t, "repository", "priv/app")), ["pull", "push"])
        self.assertEqual(ah.granted(t, "repository", "priv/shown"), ["pull"])  # public
        self.assertEqual(ah.granted(t, "repository", "pub/app"), ["pull"])     # public
        r, _ = robot.push_image("priv/shown", "narrow", "narrow robot")
        self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)
        r, _ = robot.push_image("priv/app", "narrow", "narrow robot")
        self.assertEqual(r.status, 201, r)

    def test_team_membership_is_the_access(self):
        admin = self.server.admin
        tina = admin.create_user("tina", "tina-pass-0123")
        admin.create_team("priv", "temps")
        admin.grant("priv", "temps", "read", team=True)
        self.assertEqual(ah.granted(tina.token(pull("priv/app")), "repository", "priv/app"), [])
        admin.add_member("priv", "temps", "tina")
        self.assertEqual(ah.granted(tina.token(pull("priv/app"), cached=False), "repository", "priv/app"), ["pull"])
        self.assertEqual(admin.api("DELETE", "/orgs/priv/teams/temps/members/tina").status, 204)
        self.assertEqual(ah.granted(tina.token(pull("priv/app"), cached=False), "repository", "priv/app"), [])
        r = tina.request("GET", "/v2/priv/app/tags/list", pull("priv/app"))
        self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)

    def test_tag_and_blob_deletes_need_delete(self):
        robot, owner, writer = self.robots["priv"], self.people["admin"], self.people["write"]
        r, _ = robot.push_image("priv/app", "to-untag", "to untag")
        self.assertEqual(r.status, 201, r)
        blob = sha256(ah.config_bytes("to untag"))
        for who in (writer, robot):
            with self.subTest(who=who.name):
                r = who.request("DELETE", "/v2/priv/app/manifests/to-untag", delete("priv/app"))
                self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)
                r = who.request("DELETE", f"/v2/priv/app/blobs/{blob}", delete("priv/app"))
                self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)
        self.assertEqual(owner.request("DELETE", "/v2/priv/app/manifests/to-untag", delete("priv/app")).status, 202)
        self.assertEqual(owner.request("DELETE", f"/v2/priv/app/blobs/{blob}", delete("priv/app")).status, 202)


class SkopeoAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = ah.start_server()
        cls.tmp = tempfile.mkdtemp(prefix="custody-skopeo-auth-")
        cls.env = {"REGISTRY_AUTH_FILE": os.path.join(cls.tmp, "auth.json"), "HOME": cls.tmp}
        s.admin.create_org("team")
        s.admin.create_org("open", public=True)
        s.admin.create_org("prod", protected=True)
        cls.writer = s.admin.create_user("wendy", "wendy-pass-0123")
        cls.reader = s.admin.create_user("rita", "rita-pass-0123")
        for org in ("team", "prod"):
            s.admin.grant(org, "wendy", "write")
            s.admin.grant(org, "rita", "read")
        cls.robot = s.admin.create_robot("team", "ci", role="write")
        cls.open_robot = s.admin.create_robot("open", "ci", role="write")
        cls.prod_robot = s.admin.create_robot("prod", "ci", role="write")
        cls.src = f"oci-archive:{os.path.join(IMAGES, 'busybox-tiny.oci.tar')}"

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ref(self, repo):
        return f"docker://{self.server.address}/{repo}"

    def copy(self, src, dest, *creds):
        return skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", *creds, src, dest, env=self.env)

    def creds(self, p):
        return f"{p.name}:{p.secret}"

    def test_push_and_pull_with_user_credentials(self):
        r = self.copy(self.src, self.ref("team/busybox:1"), "--dest-creds", self.creds(self.writer))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.tmp, "user-pull")
        r = self.copy(self.ref("team/busybox:1"), f"dir:{out}", "--src-creds", self.creds(self.reader))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "manifest.json")))
        pushes = [e for e in ah.events(self.server, "manifest.push") if e["repository"] == "team/busybox"]
        self.assertEqual([e["actor"] for e in pushes], ["wendy"])
        # The reader may not push; nobody without credentials may pull.
        r = self.copy(self.src, self.ref("team/busybox:2"), "--dest-creds", self.creds(self.reader))
        self.assertNotEqual(r.returncode, 0)
        r = self.copy(self.ref("team/busybox:1"), f"dir:{os.path.join(self.tmp, 'anon-private')}")
        self.assertNotEqual(r.returncode, 0)

    def test_push_and_pull_with_robot_credentials(self):
        r = self.copy(self.src, self.ref("team/robot:1"), "--dest-creds", self.creds(self.robot))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.tmp, "robot-pull")
        r = self.copy(self.ref("team/robot:1"), f"dir:{out}", "--src-creds", self.creds(self.robot))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "manifest.json")))

    def test_protected_repository_takes_robot_pushes_only(self):
        r = self.copy(self.src, self.ref("prod/busybox:1"), "--dest-creds", self.creds(self.writer))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("protected", r.stderr)
        r = self.copy(self.src, self.ref("prod/busybox:1"), "--dest-creds", self.creds(self.prod_robot))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(any(e["actor"] == "wendy" and e["repository"] == "prod/busybox"
                            for e in ah.events(self.server, "auth.denied")))

    def test_anonymous_pull_of_public_repository_and_push_refused(self):
        r = self.copy(self.src, self.ref("open/busybox:1"), "--dest-creds", self.creds(self.open_robot))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.tmp, "anon-pull")
        r = self.copy(self.ref("open/busybox:1"), f"dir:{out}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "manifest.json")))
        r = self.copy(self.src, self.ref("open/anonymous:1"))
        self.assertNotEqual(r.returncode, 0)
        r = skopeo("inspect", "--raw", "--tls-verify=false", self.ref("open/anonymous:1"), env=self.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual([e for e in ah.events(self.server) if e["repository"] == "open/anonymous"
                          and not e["action"].startswith("auth.")], [])


if __name__ == "__main__":
    unittest.main()
