"""First start, lost access and the day-one details around them: the
administrator is enrolled only by a start that succeeds, `custody enrol`
recovers access on the registry host, a throttled account still takes its
secret, refusals name who was refused, and the command line reaches what a
private repository needs (`custody log trace` by tag, `custody repo`)."""
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

from auth_helpers import TOKEN_CONFIG, Principal, pull, start_server
from harness import BIN


def custody(*args, env=None, stdin=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, input=stdin,
                          env={**os.environ, **(env or {})})


def trace_until(args, env, expected, seconds=10):
    """`custody log trace` until its output holds `expected`: the events
    appear once a checkpoint covers them, which a loaded machine delays."""
    deadline = time.time() + seconds
    while True:
        r = custody(*args, env=env)
        if (r.returncode == 0 and expected in r.stdout) or time.time() > deadline:
            return r
        time.sleep(0.2)


class EnrolmentTest(unittest.TestCase):
    def test_a_failed_start_enrols_nobody(self):
        data = tempfile.mkdtemp(prefix="custody-enrol-")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            cfg = os.path.join(data, "custody.toml")
            with open(cfg, "w") as f:
                f.write(TOKEN_CONFIG)
            r = custody("serve", "--config", cfg, "--listen", f"127.0.0.1:{port}", "--data", data)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Address already in use", r.stderr)
        self.assertNotIn("enrolment", r.stderr)
        # The next start that succeeds is the first start.
        server = start_server(data_dir=data)
        self.addCleanup(server.cleanup)
        self.assertEqual(server.admin.api("GET", "/whoami").status, 200)

    def test_enrol_recovers_administrator_access(self):
        server = start_server()
        self.addCleanup(server.cleanup)
        old = server.admin
        r = custody("enrol", "--data", server.data_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        secret = r.stdout.strip()
        self.assertRegex(secret, r"^cst_[A-Za-z0-9_-]{43}$")
        self.assertEqual(Principal(server, "admin", secret).api("GET", "/whoami").status, 200)
        self.assertEqual(old.api("GET", "/whoami").status, 401)  # the lost secret no longer works
        # A named user becomes a system administrator; a robot cannot.
        server.admin = Principal(server, "admin", secret)
        server.admin.create_user("ops")
        r = custody("enrol", "--data", server.data_dir, "--name", "ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        me = Principal(server, "ops", r.stdout.strip()).api("GET", "/whoami").json()
        self.assertTrue(me["system_admin"])
        robot = server.admin.create_robot("ops", "ci")
        r = custody("enrol", "--data", server.data_dir, "--name", robot.name)
        self.assertNotEqual(r.returncode, 0)
        r = custody("enrol", "--data", tempfile.mkdtemp(prefix="custody-empty-"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no metadata store", r.stderr)
        db = sqlite3.connect(os.path.join(server.data_dir, "meta.db"))
        recovered = db.execute("SELECT count(*) FROM events WHERE action = 'identity.recover'").fetchone()[0]
        db.close()
        self.assertEqual(recovered, 2)

    def test_the_printed_skopeo_command_works_as_pasted(self):
        # `make run` prints it from the project root; paste it there, with the
        # variables the enrolment line says to export.
        server = start_server()
        self.addCleanup(server.cleanup)
        line = next(l for l in server.read_log().splitlines() if l.startswith("custody: try  "))
        command = line[len("custody: try  "):]
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        env = {**os.environ, "CUSTODY_USER": "admin", "CUSTODY_SECRET": server.admin.secret,
               "HOME": tempfile.mkdtemp(prefix="custody-paste-")}
        r = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = server.admin.request("GET", "/v2/admin/busybox/tags/list", ("repository:admin/busybox:pull",))
        self.assertEqual(r.json()["tags"], ["1"])

    def test_the_administrator_owns_its_namespace(self):
        server = start_server()
        self.addCleanup(server.cleanup)
        orgs = {o["name"]: o for o in server.admin.api("GET", "/orgs").json()["orgs"]}
        self.assertEqual(orgs["admin"]["kind"], "user")
        self.assertEqual(server.admin.api("PATCH", "/orgs/admin", {"public": True}).status, 204)


class TwoInstancesOnOneHostTest(unittest.TestCase):
    def test_remembered_checkpoints_do_not_collide(self):
        # Two data directories on one host share the default origin
        # (custody/<hostname>); each log's history is remembered apart,
        # so tracing one after the other is not mistaken for a fork.
        home = tempfile.mkdtemp(prefix="custody-home-")
        for _ in range(2):
            server = start_server(TOKEN_CONFIG + "[log]\ncheckpoint_interval_ms = 100\n")
            self.addCleanup(server.cleanup)
            r, digest = server.admin.push_image("admin/app", "v1", "two-instances")
            self.assertEqual(r.status, 201, r)
            key = custody("log", "key", "--data", server.data_dir).stdout.strip()
            env = {"XDG_CONFIG_HOME": home, "HOME": home, "CUSTODY_USER": "admin",
                   "CUSTODY_SECRET": server.admin.secret, "CUSTODY_REGISTRY": f"127.0.0.1:{server.port}"}
            r = trace_until(("log", "trace", "--key", key, "admin/app:v1"), env, "manifest.push")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(f"admin/app:v1 ({digest})", r.stdout)
            self.assertIn("manifest.push", r.stdout)


class DayOneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server(TOKEN_CONFIG + "[log]\ncheckpoint_interval_ms = 100\n")
        cls.admin = cls.server.admin
        cls.admin.create_org("acme")
        cls.robot = cls.admin.create_robot("acme", "ci", role="write")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def cli(self, *args, user="admin", secret=None):
        env = {"CUSTODY_REGISTRY": f"http://127.0.0.1:{self.server.port}", "CUSTODY_USER": user,
               "CUSTODY_SECRET": secret or self.admin.secret}
        return custody(*args, env=env)

    def test_a_locked_out_account_still_takes_its_secret(self):
        # Guessed passwords lock the account out (secrets cannot be guessed,
        # so secret-shaped guesses are merely refused)...
        for _ in range(8):
            r = Principal(self.server, self.robot.name, "guessed-password").token_request(pull("acme/app"))
            self.assertIn(r.status, (401, 429))
        self.assertEqual(r.status, 429)
        self.assertIsNotNone(r.header("Retry-After"))
        # ...but the right secret still gets in.
        self.assertEqual(self.robot.token_request(pull("acme/app")).status, 200)

    def test_robots_may_ask_who_they_are_and_nothing_more(self):
        me = self.robot.api("GET", "/whoami")
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["kind"], "robot")
        self.assertEqual(self.robot.api("GET", "/orgs").status, 403)

    def test_repo_show_and_set(self):
        r = self.cli("repo", "set", "acme/app", "--protected", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = json.loads(self.cli("repo", "show", "acme/app").stdout)
        self.assertEqual(shown, {"name": "acme/app", "public": False, "protected": True})
        r = self.cli("repo", "set", "nosuch/app", "--protected", "true")  # a typo in the namespace
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("custody repo set: HTTP 404", r.stderr)
        self.assertEqual(self.robot.api("GET", "/repositories/acme/app").status, 403)  # robots: no admin API

    def test_refusals_name_who_was_refused_in_the_access_log(self):
        alice = self.admin.create_user("alice", password="alice-password-1")
        r = alice.request("POST", "/v2/acme/app/blobs/uploads/", ("repository:acme/app:pull,push",))
        self.assertEqual(r.status, 403, r)
        refused = []
        deadline = time.time() + 5  # the access log line follows the response
        while not refused and time.time() < deadline:
            lines = [json.loads(line) for line in self.server.read_log().splitlines() if line.startswith("{")]
            refused = [x for x in lines if x.get("route") == "upload_start" and x["status"] == 403]
            time.sleep(0.05)
        self.assertEqual(refused[-1]["principal"], "alice")
        tokens = [x for x in lines if x.get("route") == "auth_token" and x["status"] == 200]
        self.assertIn("alice", {x["principal"] for x in tokens})

    def test_logins_are_events(self):
        bob = self.admin.create_user("bob", password="bob-password-1")
        self.assertEqual(bob.token_request(pull("acme/app")).status, 200)
        self.assertEqual(Principal(self.server, "bob", "wrong-password").token_request(pull("acme/app")).status, 401)
        self.assertEqual(Principal(self.server, "hunter2 typed as a name", "x").token_request().status, 401)
        db = sqlite3.connect(os.path.join(self.server.data_dir, "meta.db"))
        rows = db.execute("SELECT action, actor, auth, detail FROM events WHERE action LIKE 'auth.login%' "
                          "AND (actor = 'bob' OR detail LIKE '%not an account%') ORDER BY seq").fetchall()
        db.close()
        self.assertEqual([(a, actor, auth) for a, actor, auth, _ in rows],
                         [("auth.login", "bob", "password"), ("auth.login_failed", "bob", "none"),
                          ("auth.login_failed", "anonymous", "none")])
        self.assertEqual(json.loads(rows[0][3]), {"granted": "repository:acme/app:"})
        self.assertNotIn("hunter2", rows[2][3])
        self.assertNotIn("password", rows[1][3])

    def test_trace_by_tag_of_a_private_image(self):
        r, digest = self.robot.push_image("acme/app", "v1", "trace-private")
        self.assertEqual(r.status, 201, r)
        key = custody("log", "key", "--data", self.server.data_dir).stdout.strip()
        state = tempfile.mkdtemp(prefix="custody-state-")
        args = ("log", "trace", "--url", f"http://127.0.0.1:{self.server.port}", "--key", key, "--state", state,
                "acme/app:v1")
        env = {"CUSTODY_REGISTRY": f"http://127.0.0.1:{self.server.port}", "CUSTODY_USER": "admin",
               "CUSTODY_SECRET": self.admin.secret}
        r = trace_until(args, env, "manifest.push")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(digest, r.stdout)
        self.assertIn("manifest.push", r.stdout)
        r = self.cli(*args, secret="cst_" + "B" * 43)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("token endpoint answered HTTP 401", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
