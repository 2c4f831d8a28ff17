"""Starts a real `custody serve` on a free port for integration tests.

Tests talk to it over real sockets (http.client) and with real clients
(skopeo). Paths come from the environment ctest sets:
  CUSTODY_BIN     the custody binary
  CUSTODY_SHARED  the ../shared folder (read-only test inputs)
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("CUSTODY_BIN", os.path.join(os.path.dirname(__file__), "../../build/src/custody"))
SHARED = os.environ.get("CUSTODY_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
IMAGES = os.path.join(SHARED, "images")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        return self.json()["errors"][0]["code"]

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:300]!r}>"


class Server:
    """One custody process with its own data directory."""

    def __init__(self, data_dir=None, config=None, extra_args=()):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="custody-test-")
        self.config = config
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    def start(self):
        """Starts custody on a port the kernel picks (no races with other
        test processes) and waits until it answers."""
        args = [BIN, "serve", "--listen", "127.0.0.1:0", "--data", self.data_dir]
        # Tests of the registry itself run without authentication; tests of
        # identity and access bring their own [auth] section.
        config = self.config or ""
        if "[auth]" not in config:
            config += '\n[auth]\nmode = "open"\n'
        cfg = os.path.join(self.data_dir, "custody.toml")
        with open(cfg, "w") as f:
            f.write(config)
        args += ["--config", cfg]
        args += self.extra_args
        self.log = open(self.log_path, "ab")
        log_start = self.log.tell()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                message = f"custody exited with {self.proc.returncode}: {self.read_log()}"
                self.log.close()
                self.proc = None
                self.cleanup()
                raise RuntimeError(message)
            m = re.search(r"custody: serving (https?)://127\.0\.0\.1:(\d+)", self.read_log()[log_start:])
            if m:
                self.scheme, self.port = m.group(1), int(m.group(2))
                if self.scheme == "https" or self.request("GET", "/healthz").status == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError("custody did not become healthy: " + self.read_log())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            if own:
                conn.close()

    # Registry helpers used across tests.
    def push_blob(self, repo, data: bytes):
        d = sha256(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
                         headers={"Content-Type": "application/octet-stream"})
        assert r.status == 201, r
        return d

    def push_manifest(self, repo, ref, manifest, media_type="application/vnd.oci.image.manifest.v1+json"):
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        r = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                         headers={"Content-Type": media_type} if media_type else {})
        return r, sha256(body)

    def push_image(self, repo, tag, layers=(b"layer-one",), config=b'{"architecture":"amd64","os":"linux"}',
                   extra=None):
        """Pushes a small OCI image; returns (manifest bytes, manifest digest)."""
        cfg = self.push_blob(repo, config)
        descs = []
        for layer in layers:
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                          "digest": self.push_blob(repo, layer), "size": len(layer)})
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": len(config)},
             "layers": descs}
        if extra:
            m.update(extra)
        body = json.dumps(m).encode()
        r, d = self.push_manifest(repo, tag, body)
        assert r.status == 201, r
        return body, d


class ServerTestCase(unittest.TestCase):
    """A test class sharing one server across its tests."""

    config = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(config=cls.config).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def req(self, method, path, body=None, headers=None):
        return self.server.request(method, path, body=body, headers=headers)

    def assertError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        if r.body:
            self.assertEqual(r.error_code(), code, r)
