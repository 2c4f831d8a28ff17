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

import rfc6962
from harness import BIN, Server, sha256

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

    def test_trace_shows_referrers_mounts_and_deletes(self):
        s = self.server()
        skopeo_push(s, "trace/app:v1")
        oci = "application/vnd.oci.image.manifest.v1+json"
        r = s.request("GET", "/v2/trace/app/manifests/v1", headers={"Accept": oci})
        image, digest = r.body, r.header("Docker-Content-Digest")
        m = json.loads(image)
        blobs = [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]
        # A signature: a manifest whose subject is the image, under the
        # cosign-style tag.
        payload_bytes = b'{"critical":{"image":{"docker-manifest-digest":"%s"}}}' % digest.encode()
        payload = s.push_blob("trace/app", payload_bytes)
        empty = s.push_blob("trace/app", b"{}")
        sig = {"schemaVersion": 2, "mediaType": oci, "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
               "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
               "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": payload,
                           "size": len(payload_bytes)}],
               "subject": {"mediaType": oci, "digest": digest, "size": len(image)}}
        sig_tag = digest.replace(":", "-") + ".sig"
        r, sig_digest = s.push_manifest("trace/app", sig_tag, sig)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("OCI-Subject"), digest)
        # A copy to another repository by mounting every blob, then a
        # delete of the copy.
        for b in blobs:
            r = s.request("POST", f"/v2/trace/copy/blobs/uploads/?mount={b}&from=trace/app")
            self.assertEqual(r.status, 201, r)
        r, _ = s.push_manifest("trace/copy", "v1", image, media_type=oci)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(s.request("DELETE", f"/v2/trace/copy/manifests/{digest}").status, 202)
        wait_for_checkpoint(s)
        key = self.key(s)

        def trace(ref, *extra):
            return custody("log", "trace", ref, "--url", f"http://{s.address}", "--key", key,
                           "--state", self.state, *extra, check=True).stdout

        report = json.loads(trace("trace/app:v1", "--json"))
        self.assertEqual(report["digest"], digest)
        self.assertTrue(all(e["inclusion_verified"] for e in report["events"]))
        got = [(e["event"]["action"], e["event"]["repository"], e["event"]["tag"], e["event"]["digest"])
               for e in report["events"]]
        self.assertEqual(got, [("manifest.push", "trace/app", "v1", digest),
                               ("tag.set", "trace/app", "v1", digest),
                               ("manifest.push", "trace/app", sig_tag, sig_digest),
                               ("manifest.push", "trace/copy", "v1", digest),
                               ("tag.set", "trace/copy", "v1", digest),
                               ("manifest.delete", "trace/copy", "", digest)])
        referrer = report["events"][2]["event"]["detail"]
        self.assertEqual(referrer["subject"], digest)
        self.assertEqual(referrer["artifact_type"], "application/vnd.dev.cosign.artifact.sig.v1+json")
        self.assertEqual(report["events"][5]["event"]["detail"], {"tags": ["v1"]})
        text = trace(digest)
        self.assertEqual(text.count("[proof ok: leaf"), 6)
        self.assertRegex(text, rf"manifest\.push\s+trace/app:{re.escape(sig_tag)} .*\"subject\":\"{digest}\"")
        self.assertRegex(text, r"manifest\.delete\s+trace/copy ")
        # A mounted blob's own trace shows where it came from.
        layer = blobs[-1]
        report = json.loads(trace(layer, "--json"))
        got = [(e["event"]["action"], e["event"]["repository"]) for e in report["events"]]
        self.assertEqual(got, [("blob.push", "trace/app"), ("blob.mount", "trace/copy")])
        self.assertEqual(report["events"][1]["event"]["detail"]["from"], "trace/app")
        self.assertRegex(trace(layer), r"blob\.mount\s+trace/copy .*\"from\":\"trace/app\"")

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


class CheckpointTriggerTest(LogTestCase):
    def checkpoint_sizes(self, server):
        c = db(server)
        try:
            return [row[0] for row in c.execute("SELECT size FROM checkpoints ORDER BY size")]
        finally:
            c.close()

    def test_checkpoint_after_enough_events_long_before_the_interval(self):
        s = self.server(config="[log]\ncheckpoint_interval_ms = 60000\ncheckpoint_events = 5\n")
        self.assertEqual(self.checkpoint_sizes(s), [0])  # the empty log, signed at start
        for i in range(4):
            s.push_blob("trigger/app", b"blob %d" % i)
        time.sleep(0.6)  # several checks of the log: 4 events are not enough
        self.assertEqual(self.checkpoint_sizes(s), [0])
        started = time.time()
        s.push_blob("trigger/app", b"blob 4")
        wait_for_checkpoint(s, 5)
        self.assertLess(time.time() - started, 15)  # far from the 60 s interval
        for i in range(5, 8):
            s.push_blob("trigger/app", b"blob %d" % i)
        time.sleep(0.6)
        self.assertEqual(self.checkpoint_sizes(s), [0, 5])
        s.push_blob("trigger/app", b"blob 8")
        s.push_blob("trigger/app", b"blob 9")
        wait_for_checkpoint(s, 10)
        self.assertEqual(self.checkpoint_sizes(s), [0, 5, 10])
        s.stop()  # a last checkpoint only if something is left unsigned
        self.assertEqual(self.checkpoint_sizes(s), [0, 5, 10])


class ServingTest(LogTestCase):
    """Tiles, entry bundles and the JSON proof API, checked by an
    independent RFC 6962 implementation in Python (rfc6962.py)."""

    def get(self, server, path):
        r = server.request("GET", path)
        self.assertEqual(r.status, 200, (path, r))
        return r

    def test_tiles_cache_headers_and_proofs(self):
        s = self.server()
        for i in range(300):  # more than one full tile of entries
            s.push_blob("serve/app", b"entry %d" % i)
        wait_for_checkpoint(s, 300)
        cp = self.get(s, "/log/checkpoint")
        self.assertEqual(cp.header("Cache-Control"), "no-cache")
        origin, size, root = rfc6962.parse_checkpoint(cp.body.decode())
        self.assertGreaterEqual(size, 300)
        self.assertEqual(self.get(s, "/log/v1/checkpoint/latest").header("Cache-Control"), "no-cache")

        # Full tiles never change: immutable. Partial ones grow: not cached.
        partial = size - 256
        for path, immutable in (("/log/tile/0/000", True), ("/log/tile/entries/000", True),
                                (f"/log/tile/0/001.p/{partial}", False),
                                (f"/log/tile/entries/001.p/{partial}", False),
                                ("/log/tile/1/000.p/1", False), ("/log/tile/0/000.p/7", False)):
            with self.subTest(path=path):
                cache = self.get(s, path).header("Cache-Control")
                if immutable:
                    self.assertEqual(cache, "public, max-age=31536000, immutable")
                else:
                    self.assertNotIn("immutable", cache or "")
                    self.assertEqual(cache, "no-cache")
        self.assertEqual(s.request("GET", "/log/tile/0/001").status, 404)  # not full yet

        # The entries hash to the tiles and to the checkpoint's root.
        entries = (rfc6962.decode_entry_bundle(self.get(s, "/log/tile/entries/000").body)
                   + rfc6962.decode_entry_bundle(self.get(s, f"/log/tile/entries/001.p/{partial}").body))
        self.assertEqual(len(entries), size)
        self.assertEqual(json.loads(entries[0])["seq"], 1)
        leaves = [rfc6962.leaf_hash(e) for e in entries]
        self.assertEqual(rfc6962.decode_tile(self.get(s, "/log/tile/0/000").body), leaves[:256])
        self.assertEqual(rfc6962.decode_tile(self.get(s, f"/log/tile/0/001.p/{partial}").body), leaves[256:])
        self.assertEqual(rfc6962.decode_tile(self.get(s, "/log/tile/1/000.p/1").body),
                         [rfc6962.tree_head(leaves[:256])])
        self.assertEqual(rfc6962.tree_head(leaves), root)

        # Inclusion proofs: GET /log/v1/proof/inclusion?seq=&size=
        for seq in (1, 2, 3, 128, 256, 257, 299, size):
            with self.subTest(seq=seq):
                r = self.get(s, f"/log/v1/proof/inclusion?seq={seq}&size={size}")
                self.assertEqual(r.header("Content-Type"), "application/json")
                body = r.json()
                self.assertEqual((body["seq"], body["leaf_index"], body["size"]), (seq, seq - 1, size))
                proof = rfc6962.proof_hashes(body["proof"])
                self.assertTrue(rfc6962.verify_inclusion(seq - 1, size, leaves[seq - 1], proof, root))
                self.assertFalse(rfc6962.verify_inclusion(seq - 1, size, leaves[seq % size], proof, root))
                for bad in rfc6962.tampered(proof):
                    self.assertFalse(rfc6962.verify_inclusion(seq - 1, size, leaves[seq - 1], bad, root))
        # ... at an older size too, against that size's root.
        body = self.get(s, "/log/v1/proof/inclusion?seq=5&size=100").json()
        self.assertTrue(rfc6962.verify_inclusion(4, 100, leaves[4], rfc6962.proof_hashes(body["proof"]),
                                                 rfc6962.tree_head(leaves[:100])))

        # Consistency proofs: GET /log/v1/proof/consistency?old=&new=
        for old in (1, 2, 5, 100, 255, 256, 257, size - 1, size):
            with self.subTest(old=old):
                body = self.get(s, f"/log/v1/proof/consistency?old={old}&new={size}").json()
                self.assertEqual((body["old"], body["new"]), (old, size))
                proof = rfc6962.proof_hashes(body["proof"])
                old_root = rfc6962.tree_head(leaves[:old])
                self.assertTrue(rfc6962.verify_consistency(old, size, old_root, root, proof))
                if old < size:
                    self.assertFalse(rfc6962.verify_consistency(old, size, old_root[::-1], root, proof))
                    for bad in rfc6962.tampered(proof):
                        self.assertFalse(rfc6962.verify_consistency(old, size, old_root, root, bad))
        body = self.get(s, "/log/v1/proof/consistency?old=7&new=300").json()
        self.assertTrue(rfc6962.verify_consistency(7, 300, rfc6962.tree_head(leaves[:7]),
                                                   rfc6962.tree_head(leaves[:300]), rfc6962.proof_hashes(body["proof"])))

        # Bad requests get a JSON error, never a proof.
        for path in ("/log/v1/proof/inclusion?seq=0&size=5", f"/log/v1/proof/inclusion?seq=6&size=5",
                     "/log/v1/proof/inclusion?seq=1", "/log/v1/proof/inclusion?seq=x&size=5",
                     "/log/v1/proof/inclusion?seq=-1&size=5", "/log/v1/proof/consistency?old=6&new=5",
                     "/log/v1/proof/consistency?old=1", f"/log/v1/proof/consistency?old=1&new={size + 1000}",
                     f"/log/v1/proof/inclusion?seq=1&size={size + 1000}"):
            with self.subTest(path=path):
                r = s.request("GET", path)
                self.assertIn(r.status, (400, 404), r)
                self.assertIn("error", r.json())


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
        # The accepted cosignature is itself an event of the log.
        c = db(a)
        rows = c.execute("SELECT actor, auth, source, json_extract(detail, '$.size') FROM events "
                         "WHERE action = 'checkpoint.cosign'").fetchall()
        c.close()
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][0], "witness.test")
        self.assertRegex(rows[0][1], r"^cosignature:[0-9a-f]{8}$")
        self.assertTrue(rows[0][2].startswith("127.0.0.1:"), rows)
        self.assertEqual(rows[0][3], int(published.body.decode().split("\n")[1]))
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
