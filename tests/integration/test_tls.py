"""TLS and mutual TLS: `custody serve` with a certificate, and client
certificates required, requested or refused; real clients (curl, skopeo
with --cert-dir) over real handshakes. Certificates are made with openssl."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import IMAGES, Server


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
            "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d)


def issue(d, ca, name, ext, days="30"):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", days, "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)


def curl(*args):
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args],
                          capture_output=True, text=True, timeout=30)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="custody-pki-")
        make_ca(cls.pki, "ca")
        make_ca(cls.pki, "otherca")
        issue(cls.pki, "ca", "server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        issue(cls.pki, "ca", "alice", "extendedKeyUsage=clientAuth\n")
        issue(cls.pki, "otherca", "mallory", "extendedKeyUsage=clientAuth\n")
        issue(cls.pki, "ca", "serveronly", "extendedKeyUsage=serverAuth\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.pki, name)

    def serve(self, client_auth):
        cfg = (f'[server.tls]\ncert = "{self.path("server.crt")}"\nkey = "{self.path("server.key")}"\n'
               f'client_ca = "{self.path("ca.crt")}"\nclient_auth = "{client_auth}"\n')
        server = Server(config=cfg).start()
        self.addCleanup(server.cleanup)
        self.assertEqual(server.scheme, "https")
        return server, f"https://127.0.0.1:{server.port}"

    def client(self, name):
        return ["--cert", self.path(f"{name}.crt"), "--key", self.path(f"{name}.key")]

    def test_https_without_client_certificates(self):
        server, url = self.serve("none")
        self.assertEqual(curl("--cacert", self.path("ca.crt"), f"{url}/v2/").stdout, "200")
        # Plain HTTP to the TLS port gets no HTTP answer.
        self.assertEqual(curl(f"http://127.0.0.1:{server.port}/v2/").stdout, "000")
        # A client that does not trust the CA refuses the server.
        self.assertNotEqual(curl(f"{url}/v2/").returncode, 0)

    def test_required_client_certificate(self):
        _, url = self.serve("require")
        ca = ["--cacert", self.path("ca.crt")]
        self.assertEqual(curl(*ca, *self.client("alice"), f"{url}/v2/").stdout, "200")
        self.assertEqual(curl(*ca, f"{url}/v2/").stdout, "000")                      # no certificate
        self.assertEqual(curl(*ca, *self.client("mallory"), f"{url}/v2/").stdout, "000")  # another CA
        self.assertEqual(curl(*ca, *self.client("serveronly"), f"{url}/v2/").stdout, "000")  # wrong purpose

    def test_requested_client_certificate_is_optional(self):
        _, url = self.serve("request")
        ca = ["--cacert", self.path("ca.crt")]
        self.assertEqual(curl(*ca, f"{url}/v2/").stdout, "200")
        self.assertEqual(curl(*ca, *self.client("alice"), f"{url}/v2/").stdout, "200")
        self.assertEqual(curl(*ca, *self.client("mallory"), f"{url}/v2/").stdout, "000")

    def test_skopeo_push_and_pull_over_mutual_tls(self):
        server, _ = self.serve("require")
        certs = tempfile.mkdtemp(prefix="custody-certs-")
        self.addCleanup(shutil.rmtree, certs, True)
        shutil.copy(self.path("ca.crt"), os.path.join(certs, "ca.crt"))
        shutil.copy(self.path("alice.crt"), os.path.join(certs, "client.cert"))
        shutil.copy(self.path("alice.key"), os.path.join(certs, "client.key"))
        ref = f"docker://127.0.0.1:{server.port}/mtls/busybox:1"
        src = f"oci-archive:{os.path.join(IMAGES, 'busybox-tiny.oci.tar')}"
        r = subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-cert-dir", certs, src, ref],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(certs, "out")
        r = subprocess.run(["skopeo", "--insecure-policy", "copy", "--src-cert-dir", certs, ref, f"dir:{out}"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "manifest.json")))
        # Without the client certificate skopeo cannot even connect.
        bare = tempfile.mkdtemp(prefix="custody-certs-")
        self.addCleanup(shutil.rmtree, bare, True)
        shutil.copy(self.path("ca.crt"), os.path.join(bare, "ca.crt"))
        r = subprocess.run(["skopeo", "--insecure-policy", "inspect", "--raw", "--cert-dir", bare, ref],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)

    def test_bad_tls_config_is_refused_at_start(self):
        for cfg, message in [
            ('[server.tls]\ncert = "/nonexistent.crt"\nkey = "/nonexistent.key"\n', "TLS certificate"),
            (f'[server.tls]\ncert = "{self.path("server.crt")}"\n', "needs both cert and key"),
            (f'[server.tls]\ncert = "{self.path("server.crt")}"\nkey = "{self.path("alice.key")}"\n', "TLS key"),
            (f'[server.tls]\ncert = "{self.path("server.crt")}"\nkey = "{self.path("server.key")}"\n'
             'client_auth = "require"\n', "needs client_ca"),
        ]:
            with self.subTest(message=message):
                with self.assertRaises(RuntimeError) as e:
                    Server(config=cfg).start()
                self.assertIn(message, str(e.exception))


if __name__ == "__main__":
    unittest.main()
