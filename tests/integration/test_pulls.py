"""Pull events: off by default; when on, batched into the custody log."""
import os
import sqlite3
import time
import unittest

from harness import Server


def actions(server):
    db = sqlite3.connect(f"file:{os.path.join(server.data_dir, 'meta.db')}?mode=ro", uri=True)
    try:
        return [r[0] for r in db.execute("SELECT action FROM events ORDER BY seq")]
    finally:
        db.close()


class PullEventsTest(unittest.TestCase):
    def pull_some(self, server):
        body, digest = server.push_image("pulls/app", "v1")
        for _ in range(3):
            self.assertEqual(server.request("GET", "/v2/pulls/app/manifests/v1").status, 200)
        self.assertEqual(server.request("HEAD", "/v2/pulls/app/manifests/v1").status, 200)
        self.assertEqual(server.request("GET", f"/v2/pulls/app/manifests/{digest}").status, 200)
        layer = __import__("json").loads(body)["layers"][0]["digest"]
        self.assertEqual(server.request("GET", f"/v2/pulls/app/blobs/{layer}").status, 200)
        self.assertEqual(server.request("GET", "/v2/pulls/app/manifests/missing").status, 404)
        return digest

    def test_pulls_are_not_recorded_by_default(self):
        server = Server().start()
        try:
            self.pull_some(server)
            time.sleep(0.3)
            self.assertFalse([a for a in actions(server) if a.endswith(".pull")])
        finally:
            server.cleanup()

    def test_pulls_are_recorded_in_batches_when_enabled(self):
        server = Server(config="[log]\nrecord_pulls = true\ncheckpoint_interval_ms = 100\n").start()
        try:
            digest = self.pull_some(server)
            for _ in range(50):
                pulls = [a for a in actions(server) if a.endswith(".pull")]
                if len(pulls) == 5:
                    break
                time.sleep(0.05)
            self.assertEqual(pulls.count("manifest.pull"), 4)  # 3 by tag, 1 by digest; HEAD is not a pull
            self.assertEqual(pulls.count("blob.pull"), 1)
            db = sqlite3.connect(f"file:{os.path.join(server.data_dir, 'meta.db')}?mode=ro", uri=True)
            rows = db.execute("SELECT tag, digest, source FROM events WHERE action = 'manifest.pull'").fetchall()
            db.close()
            self.assertEqual(sorted(r[0] for r in rows), ["", "v1", "v1", "v1"])
            self.assertTrue(all(r[1] == digest and r[2].startswith("127.0.0.1:") for r in rows))
            # Pulls queued at shutdown are flushed, not lost.
            self.assertEqual(server.request("GET", "/v2/pulls/app/manifests/v1").status, 200)
            server.stop()
            self.assertEqual(actions(server).count("manifest.pull"), 5)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
