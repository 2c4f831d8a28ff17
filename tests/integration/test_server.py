"""The HTTP server itself: keep-alive, limits, metrics, access log,
graceful shutdown and configuration errors."""
import json
import os
import signal
import socket
import subprocess
import time
import unittest

from harness import BIN, Server, ServerTestCase, sha256


def raw_request(port, data: bytes, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)


class ServerBehaviourTest(ServerTestCase):
    def test_keep_alive_reuses_the_connection(self):
        conn = self.server.connect()
        try:
            self.server.request("GET", "/v2/", conn=conn)
            first = conn.sock
            for _ in range(5):
                r = self.server.request("GET", "/v2/", conn=conn)
                self.assertEqual(r.status, 200)
            self.assertIs(conn.sock, first)
        finally:
            conn.close()

    def test_malformed_request_gets_400(self):
        reply = raw_request(self.server.port, b"\x16\x03\x01garbage\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)

    def test_oversized_headers_get_431(self):
        big = b"X-Big: " + b"a" * (70 * 1024) + b"\r\n"
        reply = raw_request(self.server.port, b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:100])

    def test_unknown_path_is_404(self):
        self.assertEqual(self.req("GET", "/nope").status, 404)
        r = self.req("GET", "/v2/a/b/c/unknown/x")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.error_code(), "NAME_UNKNOWN")

    def test_metrics_in_prometheus_text_format(self):
        self.server.push_image("metrics/app", "v1")
        self.req("GET", "/v2/metrics/app/manifests/v1")
        self.req("GET", "/v2/metrics/app/manifests/missing")
        # Metrics are recorded just after each response is sent.
        for _ in range(50):
            text = self.req("GET", "/metrics").body.decode()
            if 'route="manifest_get",method="GET",status="404"' in text:
                break
            time.sleep(0.05)
        self.assertIn('custody_http_requests_total{route="manifest_get",method="GET",status="200"} ', text)
        self.assertIn('custody_http_requests_total{route="manifest_get",method="GET",status="404"} ', text)
        self.assertIn('custody_http_request_duration_seconds_bucket{route="manifest_put",le="+Inf"} 1', text)
        self.assertIn("# TYPE custody_http_request_duration_seconds histogram", text)
        self.assertIn("custody_http_received_bytes_total ", text)
        self.assertIn("custody_http_sent_bytes_total ", text)
        self.assertIn("custody_repositories ", text)
        self.assertRegex(text, r"custody_blob_bytes [1-9]")
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name_value = line.rsplit(" ", 1)
                self.assertEqual(len(name_value), 2, line)
                float(name_value[1])

    def test_access_log_is_json_per_request(self):
        self.req("GET", "/v2/_catalog", headers={"User-Agent": "access-log-probe"})
        time.sleep(0.1)
        lines = [l for l in self.server.read_log().splitlines() if l.startswith("{")]
        entries = [json.loads(l) for l in lines]
        probe = [e for e in entries if e.get("user_agent") == "access-log-probe"]
        self.assertEqual(len(probe), 1)
        e = probe[0]
        self.assertEqual(e["method"], "GET")
        self.assertEqual(e["target"], "/v2/_catalog")
        self.assertEqual(e["route"], "catalog")
        self.assertEqual(e["status"], 200)
        for key in ("time", "remote", "bytes_in", "bytes_out", "duration_ms"):
            self.assertIn(key, e)


class ConnectionLimitTest(ServerTestCase):
    config = "[server]\nmax_connections = 2\n"

    def hold_connection(self):
        """Opens a keep-alive connection that the server is serving (a
        previous client's connection may still be winding down)."""
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", self.server.port))
            s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            if s.recv(65536).startswith(b"HTTP/1.1 200"):
                return s
            s.close()
            time.sleep(0.1)
        self.fail("could not open a served connection")

    def test_connections_over_the_limit_get_429(self):
        held = [self.hold_connection() for _ in range(2)]
        try:
            reply = raw_request(self.server.port, b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(reply.startswith(b"HTTP/1.1 429 "), reply)
            self.assertIn(b"TOO_MANY_REQUESTS", reply)
            self.assertIn(b"Retry-After: 1", reply)
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        self.assertEqual(self.req("GET", "/v2/").status, 200)
        self.assertRegex(self.req("GET", "/metrics").body.decode(), r"custody_http_rejected_connections_total [1-9]")


class GracefulShutdownTest(unittest.TestCase):
    def test_in_flight_upload_finishes_and_stays_resumable(self):
        server = Server().start()
        try:
            r = server.request("POST", "/v2/drain/app/blobs/uploads/")
            self.assertEqual(r.status, 202)
            location = r.header("Location")
            chunk = os.urandom(1 << 20)
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Range: 0-{len(chunk) - 1}\r\nContent-Length: {len(chunk)}\r\n\r\n".encode())
            s.sendall(chunk[:1000])
            idle = socket.create_connection(("127.0.0.1", server.port))  # an idle keep-alive client
            time.sleep(0.2)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(server.proc.poll(), "server must wait for the in-flight request")
            s.sendall(chunk[1000:])
            reply = s.recv(65536)
            self.assertTrue(reply.startswith(b"HTTP/1.1 202"), reply)
            self.assertIn(b"Range: 0-1048575", reply)
            self.assertIn(b"Connection: close", reply)
            s.close()
            self.assertEqual(server.proc.wait(timeout=10), 0)
            self.assertEqual(idle.recv(10), b"")  # idle connection was closed
            idle.close()
            server.log.close()
            # A new process on the same data continues the session.
            server.start()
            r = server.request("GET", location)
            self.assertEqual(r.status, 204)
            self.assertEqual(r.header("Range"), "0-1048575")
            rest = b"tail"
            r = server.request("PUT", f"{location}?digest={sha256(chunk + rest)}", body=rest)
            self.assertEqual(r.status, 201, r)
            r = server.request("GET", f"/v2/drain/app/blobs/{sha256(chunk + rest)}")
            self.assertEqual(r.body, chunk + rest)
        finally:
            server.cleanup()


class ConfigTest(unittest.TestCase):
    def run_serve(self, config_text):
        srv = Server(config=config_text)
        cfg = os.path.join(srv.data_dir, "bad.toml")
        with open(cfg, "w") as f:
            f.write(config_text)
        r = subprocess.run([BIN, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", srv.data_dir],
                           capture_output=True, text=True, timeout=10)
        srv.cleanup()
        return r

    def test_unknown_key_is_an_error(self):
        r = self.run_serve("[server]\nlisten_typo = \"x\"\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown key 'server.listen_typo'", r.stderr)

    def test_wrong_type_is_an_error(self):
        r = self.run_serve("[limits]\nmanifest_max_bytes = \"big\"\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("limits.manifest_max_bytes", r.stderr)

    def test_syntax_error_names_the_line(self):
        r = self.run_serve("[server]\nlisten = \n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line 2", r.stderr)

    def test_config_file_is_applied(self):
        srv = Server(config="[limits]\nmanifest_max_bytes = 100\n").start()
        try:
            r, _ = srv.push_manifest("cfg/app", "v1", b"{" + b" " * 200 + b"}")
            self.assertEqual(r.status, 413)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
