"""Upload sessions that survive a restart of the real server, and a server
killed in the middle of a chunk."""
import os
import signal
import socket
import time
import unittest

from harness import Server, sha256
from upload_helpers import MiB


class RestartTest(unittest.TestCase):
    def test_session_survives_restart(self):
        data = os.urandom(3 * MiB + 12345)
        first = Server().start()
        try:
            r = first.request("POST", "/v2/restart/app/blobs/uploads/")
            self.assertEqual(r.status, 202, r)
            loc = r.header("Location")
            cut = 2 * MiB + 7
            r = first.request("PATCH", loc, body=data[:cut], headers={"Content-Range": f"0-{cut - 1}"})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.header("Range"), f"0-{cut - 1}")
        finally:
            self.assertEqual(first.stop(), 0)
        second = Server(data_dir=first.data_dir).start()
        try:
            r = second.request("GET", loc)
            self.assertEqual(r.status, 204, r)
            self.assertEqual(r.header("Range"), f"0-{cut - 1}")
            r = second.request("PATCH", loc, body=data[cut:cut + MiB],
                               headers={"Content-Range": f"{cut}-{cut + MiB - 1}"})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.header("Range"), f"0-{cut + MiB - 1}")
            d = sha256(data)
            r = second.request("PUT", f"{loc}?digest={d}", body=data[cut + MiB:])
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.header("Docker-Content-Digest"), d)
            r = second.request("GET", f"/v2/restart/app/blobs/{d}")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(sha256(r.body), d)
            self.assertEqual(r.body, data)
        finally:
            second.stop()
            first.cleanup()


    def test_killed_mid_chunk_keeps_last_complete_chunk(self):
        data = os.urandom(4 * MiB)
        end = 3 * MiB  # the chunk in flight when the server dies is [done, end)
        first = Server().start()
        second = None
        socks = []
        try:
            sessions = []
            for done in (0, MiB):  # an empty session, and one with a complete chunk
                r = first.request("POST", "/v2/restart/crash/blobs/uploads/")
                loc = r.header("Location")
                if done:
                    r = first.request("PATCH", loc, body=data[:done], headers={"Content-Range": f"0-{done - 1}"})
                    self.assertEqual(r.status, 202, r)
                sessions.append((loc, done))
            for loc, done in sessions:
                s = socket.create_connection(("127.0.0.1", first.port), timeout=10)
                socks.append(s)
                s.sendall((f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Range: {done}-{end - 1}\r\n"
                           f"Content-Length: {end - done}\r\n\r\n").encode() + data[done:done + 3 * MiB // 2])
                # Wait until the server has written part of the chunk.
                path = os.path.join(first.data_dir, "uploads", loc.rsplit("/", 1)[1], "data")
                deadline = time.time() + 10
                while os.path.getsize(path) <= done and time.time() < deadline:
                    time.sleep(0.01)
                self.assertGreater(os.path.getsize(path), done)
            first.stop(signal.SIGKILL)
            second = Server(data_dir=first.data_dir).start()
            d = sha256(data)
            for loc, done in sessions:
                r = second.request("GET", loc)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.header("Range"), f"0-{max(done - 1, 0)}")
                r = second.request("PATCH", loc, body=data[done:end], headers={"Content-Range": f"{done}-{end - 1}"})
                self.assertEqual(r.status, 202, r)
                r = second.request("PUT", f"{loc}?digest={d}", body=data[end:])
                self.assertEqual(r.status, 201, r)
            r = second.request("GET", f"/v2/restart/crash/blobs/{d}")
            self.assertEqual(r.body, data)
        finally:
            for s in socks:
                s.close()
            if second:
                second.stop()
            first.cleanup()


if __name__ == "__main__":
    unittest.main()
