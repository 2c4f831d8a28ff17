"""The custody log end to end: `custody log verify|trace|witness` against
the real server, and tampering done the way an attacker with the database
file would do it."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import BIN, Server

SHARED = os.environ.get("CUSTODY_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
IMAGE = os.path.join(SHARED, "images", "busybox-tiny.oci.tar")
FAST_CHECKPOINTS = "[log]\ncheckpoint_interval_ms = 50\n"


def custody(*args, check=None):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    if check is not None and (r.returncode == 0) != check:
        raise AssertionError(f"custody {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def db(server):
    return sqlite3.connect(os.path.join(server.data_dir, "meta.db"))


def event_count(server):
    c = db(server)
    try:
        return c.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        c.close()


def wait_for_checkpoint(server, size=None, path="/log/v1/checkpoint/latest"):
    """Waits until the server has signed a checkpoint of every event."""
    size = size or event_count(server)
    deadline = time.time() + 15
    while time.time() < deadline:
        r = server.request("GET", path)
        if r.status == 200 and int(r.body.decode().split("\n")[1]) >= size:
            return
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of size {size}")


def skopeo_push(server, ref):
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", f"oci-archive:{IMAGE}",
                    f"docker://{server.address}/{ref}"], check=True, capture_output=True, timeout=300)


class LogTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="custody-logtest-")
        self.state = os.path.join(self.tmp, "state")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, config=FAST_CHECKPOINTS, data_dir=None):
        s = Server(config=config, data_dir=data_dir).start()
        self.servers.append(s)
        return s

    def key(self, server):
        return custody("log", "key", "--data", server.data_dir, check=True).stdout.strip()

    def verify(self, server, key, *extra, state=None):
        return custody("log", "verify", "--url", f"http://{server.address}", "--key", key,
                       "--state", state or self.state, *extra)

    def pushed_server(self):
        s = self.server()
        for i in range(3):
            s.push_image(f"acme/app{i}", "v1", layers=(f"layer-{i}".encode(),))
        wait_for_checkpoint(s)
        return s

    def tamper(self, server, *statements):
        server.stop()
        c = db(server)
        try:
            for sql, args in statements:
                c.execute(sql, args)
            c.commit()
        finally:
            c.close()
        server.start()


class VerifyTest(LogTestCase):
    def test_verify_checks_every_entry_and_remembers_the_checkpoint(self):
        s = self.pushed_server()
        key = self.key(s)
        first = self.verify(s, key, "--json")
        self.assertEqual(first.returncode, 0, first.stderr)
        report = json.loads(first.stdout)
        self.assertTrue(report["ok"])
        self.assertEqual(report["entries_checked"], event_count(s))
        self.assertEqual(report["previous_size"], 0)
        s.push_image("acme/app9", "v1")
        wait_for_checkpoint(s)
        second = self.verify(s, key)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn(f"consistent with size {report['size']} verified before", second.stdout)

    def test_the_wrong_key_is_refused(self):
        s = self.pushed_server()
        other = self.server()
        r = self.verify(s, self.key(other))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("checkpoint refused", r.stderr)

    def test_an_altered_event_is_named(self):
        s = self.pushed_server()
        self.tamper(s, ("UPDATE events SET entry = replace(entry, 'acme/app1', 'acme/evil') WHERE seq = 5", ()))
        r = self.verify(s, self.key(s))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("entry 4 (event seq 5) does not match the log's tree", r.stderr)

    def test_a_deleted_event_is_named(self):
        s = self.pushed_server()
        self.tamper(s, ("DELETE FROM events WHERE seq = 3", ()))
        r = self.verify(s, self.key(s))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("event seq 3 is missing", r.stderr)

    def test_a_truncated_log_is_caught_by_the_remembered_checkpoint(self):
        s = self.pushed_server()
        key = self.key(s)
        self.assertEqual(self.verify(s, key).returncode, 0)
        size = event_count(s)
        keep = 4
        self.tamper(s, ("DELETE FROM events WHERE seq > ?", (keep,)),
                    ("DELETE FROM log_nodes WHERE ((idx + 1) << level) > ?", (keep,)),
                    ("DELETE FROM checkpoints WHERE size > ?", (keep,)))
        s.push_blob("acme/app0", b"after the truncation")
        wait_for_checkpoint(s, keep + 1)
        r = self.verify(s, key)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"the log shrank: its checkpoint has size {keep + 1} but size {size} was verified before",
                      r.stderr)

    def test_a_forked_log_is_caught(self):
        a = self.pushed_server()
        key = self.key(a)
        self.assertEqual(self.verify(a, key).returncode, 0)
        base = event_count(a)
        # The fork: a copy of the log (same key) that goes its own way.
        a.stop()
        fork_dir = os.path.join(self.tmp, "fork")
        shutil.copytree(a.data_dir, fork_dir)
        os.remove(os.path.join(fork_dir, "custody.toml"))
        a.start()
        b = self.server(data_dir=fork_dir)
        a.push_image("acme/honest", "v1")
        b.push_image("acme/forged", "v1", layers=(b"backdoor",))
        b.push_blob("acme/forged", b"one more to change the size")
        wait_for_checkpoint(a)
        wait_for_checkpoint(b)
        self.assertEqual(self.verify(a, key).returncode, 0)
        r = self.verify(b, key)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, rf"checkpoint of size {event_count(b)} is not consistent with the size "
                                   rf"{event_count(a)} verified before")
        self.assertGreater(event_count(a), base)


class TraceTest(LogTestCase):
    def test_trace_of_a_skopeo_pushed_image(self):
        s = self.server()
        s.push_image("other/app", "v1")  # unrelated events around it
        skopeo_push(s, "trace/app:v1")
        skopeo_push(s, "trace/app:v2")
        digest = s.request("HEAD", "/v2/trace/app/manifests/v1", headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json"}).header("Docker-Content-Digest")
        self.assertEqual(s.request("DELETE", "/v2/trace/app/manifests/v2").status, 202)
        wait_for_checkpoint(s)
        c = db(s)
        expected = [row[0] for row in c.execute(
            "SELECT seq FROM events WHERE digest = ? OR instr(entry, ?) > 0 ORDER BY seq", (digest, digest))]
        actions = [row[0] for row in c.execute(
            "SELECT action FROM events WHERE digest = ? ORDER BY seq", (digest,))]
        c.close()
        self.assertEqual(actions, ["manifest.push", "tag.set", "tag.set", "tag.delete"])
        key = self.key(s)
        r = custody("log", "trace", "trace/app:v1", "--url", f"http://{s.address}", "--key", key,
                    "--state", self.state, "--json", check=True)
        report = json.loads(r.stdout)
        self.assertEqual(report["digest"], digest)
        self.assertEqual([e["seq"] for e in report["events"]], expected)
        self.assertTrue(all(e["inclusion_verified"] for e in report["events"]))
        tags = [(e["event"]["action"], e["event"]["tag"]) for e in report["events"]]
        self.assertEqual(tags, [("manifest.push", "v1"), ("tag.set", "v1"), ("tag.set", "v2"), ("tag.delete", "v2")])
        self.assertTrue(all(e["event"]["source"].startswith("127.0.0.1:") for e in report["events"]))
        text = custody("log", "trace", digest, "--url", f"http://{s.address}", "--key", key,
                       "--state", self.state, check=True).stdout
        self.assertIn(f"chain of custody of {digest}", text)
        self.assertEqual(text.count("[proof ok: leaf"), len(expected))
        self.assertIn("trace/app:v2", text)

    def test_trace_refuses_an_event_that_is_not_in_the_tree(self):
        s = self.server()
        skopeo_push(s, "trace/app:v1")
        wait_for_checkpoint(s)
        digest = s.request("HEAD", "/v2/trace/app/manifests/v1").header("Docker-Content-Digest")
        self.tamper(s, ("UPDATE events SET entry = replace(entry, '\"v1\"', '\"v9\"') "
                        "WHERE digest = ? AND action = 'manifest.push'", (digest,)))
        r = custody("log", "trace", digest, "--url", f"http://{s.address}", "--key", self.key(s),
                    "--state", self.state)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not in the log: its inclusion proof fails", r.stderr)

    def test_unknown_image(self):
        s = self.server()
        s.push_image("acme/app", "v1")
        wait_for_checkpoint(s)
        r = custody("log", "trace", "acme/app:nope", "--url", f"http://{s.address}", "--key", self.key(s),
                    "--state", self.state)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such image", r.stderr)


class WitnessTest(LogTestCase):
    def test_quorum_cosignature_and_fork_refusal(self):
        wkey_file = os.path.join(self.tmp, "witness.key")
        wvkey = custody("log", "witness-keygen", "--name", "witness.test", "--out", wkey_file,
                        check=True).stdout.strip()
        self.assertEqual(os.stat(wkey_file).st_mode & 0o777, 0o600)
        config = FAST_CHECKPOINTS + f'witnesses = ["{wvkey}"]\nwitness_quorum = 1\n'
        a = self.server(config=config)
        a.push_image("acme/app", "v1")
        wait_for_checkpoint(a)
        self.assertEqual(a.request("GET", "/log/checkpoint").status, 404)  # not witnessed, not published
        key = self.key(a)
        wstate = os.path.join(self.tmp, "witness-state")

        def witness(server):
            return custody("log", "witness", "--log", f"http://{server.address}", "--key", key,
                           "--witness-key", wkey_file, "--state", wstate, "--once")

        r = witness(a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("first contact", r.stdout)
        published = a.request("GET", "/log/checkpoint")
        self.assertEqual(published.status, 200)
        self.assertIn("— witness.test ", published.body.decode())
        ok = self.verify(a, key, "--witness", wvkey, "--quorum", "1")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("1 witness cosignature", ok.stdout)
        short = self.verify(a, key, "--witness", wvkey, "--quorum", "2", state=os.path.join(self.tmp, "s2"))
        self.assertIn("has 1 of the 2 witness cosignatures required", short.stderr)

        # Fork the log and show the fork to the witness.
        a.stop()
        fork_dir = os.path.join(self.tmp, "fork")
        shutil.copytree(a.data_dir, fork_dir)
        a.start()
        b = self.server(config=config, data_dir=fork_dir)
        a.push_image("acme/app", "v2")
        b.push_image("acme/app", "v2", layers=(b"forged",))
        wait_for_checkpoint(a)
        wait_for_checkpoint(b)
        self.assertEqual(witness(a).returncode, 0)
        refused = witness(b)
        self.assertEqual(refused.returncode, 2, refused.stdout + refused.stderr)
        self.assertIn("FORK DETECTED", refused.stderr)
        self.assertRegex(refused.stderr, r"(not consistent|fork: two checkpoints of size)")
        # The fork never reaches its quorum, so it never publishes its new checkpoint.
        cp = b.request("GET", "/log/checkpoint").body.decode()
        self.assertLess(int(cp.split("\n")[1]), event_count(b))


if __name__ == "__main__":
    unittest.main()
