"""The built-in PKI (docs/auth.md): `custody pki init` makes the CA and the
server certificate, `custody pki bundle` issues client bundles that skopeo
uses over mutual TLS with no other credentials, revocation refuses the
handshake, and /pki/crl serves a DER CRL that openssl reads."""
import http.client
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import unittest

import auth_helpers as ah
from auth_helpers import request
from harness import IMAGES
from test_tls import issue, make_ca


def skopeo(*args, env=None):
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def serial_of(cert):
    out = ah.openssl("x509", "-in", cert, "-noout", "-serial").decode().strip()
    return out.split("=", 1)[1]


def norm(serial):
    return serial.replace(":", "").upper().lstrip("0")


class PkiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = ah.tempdir("custody-pki-")
        cls.pki = os.path.join(cls.dir, "pki")
        cls.ca = os.path.join(cls.pki, "ca.crt")
        r = ah.custody("pki", "init", "--data", cls.dir, "--host", "127.0.0.1", "--host", "localhost")
        assert r.returncode == 0, r
        cls.init_output = r.stdout + r.stderr
        cfg = (ah.TOKEN_CONFIG + f'[server.tls]\ncert = "{cls.pki}/server.crt"\nkey = "{cls.pki}/server.key"\n'
               f'client_ca = "{cls.pki}/ca.crt"\nclient_auth = "request"\n')
        cls.server = s = ah.start_server(cfg, data_dir=cls.dir)
        assert s.scheme == "https"
        s.tls_context = ah.tls_context(cls.ca)
        cls.env = {"REGISTRY_AUTH_FILE": os.path.join(cls.dir, "auth.json"), "HOME": cls.dir}
        names = ("alice", "bob", "carl", "dora")
        for name in names:
            s.admin.create_user(name)
        cls.bundles = {name: cls.bundle(name) for name in names}

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def bundle(cls, name):
        out = os.path.join(cls.dir, f"bundle-{name}")
        r = ah.custody("pki", "bundle", name, "--data", cls.dir, "--registry", cls.server.address, "--out", out)
        assert r.returncode == 0, r
        return out

    def certs_d(self, name):
        return os.path.join(self.bundles[name], "certs.d", self.server.address)

    def as_(self, name):
        b = self.bundles[name]
        return ah.tls_context(self.ca, os.path.join(b, "client.cert"), os.path.join(b, "client.key"))

    def handshake_refused(self, name):
        try:
            r = request(self.server, "GET", "/v2/", context=self.as_(name))
        except (ssl.SSLError, OSError, http.client.HTTPException):
            return True
        self.fail(f"{name}'s certificate was accepted: {r}")

    def ref(self, repo):
        return f"docker://{self.server.address}/{repo}"

    def test_init_made_ca_and_server_certificate(self):
        for f in ("ca.key", "ca.crt", "server.key", "server.crt"):
            self.assertTrue(os.path.exists(os.path.join(self.pki, f)), f)
        for f in ("ca.key", "server.key"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.pki, f)).st_mode) & 0o077, 0, f)
        self.assertIn("[server.tls]", self.init_output)
        self.assertIn("client_auth", self.init_output)
        text = ah.openssl("x509", "-in", os.path.join(self.pki, "server.crt"), "-noout", "-text").decode()
        self.assertIn("IP Address:127.0.0.1", text)
        self.assertIn("DNS:localhost", text)
        ca = ah.openssl("x509", "-in", self.ca, "-noout", "-text").decode()
        self.assertIn("CA:TRUE", ca)
        self.assertIn("prime256v1", ca)
        r = subprocess.run(["openssl", "verify", "-CAfile", self.ca, os.path.join(self.pki, "server.crt")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # A client that trusts only this CA talks to the server; the realm is https.
        r = request(self.server, "GET", "/v2/")
        self.assertEqual(r.status, 401)
        self.assertEqual(ah.parse_challenge(r.header("WWW-Authenticate"))[1]["realm"],
                         f"https://{self.server.address}/auth/token")

    def test_init_without_hosts_covers_the_configured_and_local_names(self):
        data = tempfile.mkdtemp(prefix="custody-pki-defaults-")
        self.addCleanup(shutil.rmtree, data, True)
        cfg = os.path.join(data, "custody.toml")
        with open(cfg, "w") as f:
            f.write(f'[server]\nlisten = "192.0.2.7:5000"\n[storage]\ndata_dir = "{data}"\n')
        r = subprocess.run([ah.BIN, "pki", "init", "--config", cfg], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = ah.openssl("x509", "-in", os.path.join(data, "pki", "server.crt"), "-noout", "-text").decode()
        for name in ("IP Address:192.0.2.7", "IP Address:127.0.0.1", "DNS:localhost", f"DNS:{socket.gethostname()}"):
            self.assertIn(name, text)
        # A bad name fails before anything is written: no half-made CA.
        bare = tempfile.mkdtemp(prefix="custody-pki-bad-")
        self.addCleanup(shutil.rmtree, bare, True)
        r = subprocess.run([ah.BIN, "pki", "init", "--data", bare, "--host", "bad host!"], capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad host!", r.stderr)
        self.assertEqual(os.listdir(os.path.join(bare, "pki")), [])
        # A second init keeps the CA rather than silently replacing it.
        r = subprocess.run([ah.BIN, "pki", "init", "--config", cfg], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--force", r.stderr)

    def test_bundle_layout(self):
        b = self.bundles["alice"]
        for f in ("client.key", "client.cert", "ca.crt", "env.sh"):
            self.assertTrue(os.path.exists(os.path.join(b, f)), f)
        self.assertEqual(sorted(os.listdir(self.certs_d("alice"))), ["ca.crt", "client.cert", "client.key"])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(b, "client.key")).st_mode) & 0o077, 0)
        text = ah.openssl("x509", "-in", os.path.join(b, "client.cert"), "-noout", "-text").decode()
        self.assertIn("URI:custody://principal/alice", text)
        self.assertRegex(text, r"Subject:.*CN ?= ?alice")
        self.assertIn("TLS Web Client Authentication", text)
        r = subprocess.run(["openssl", "verify", "-CAfile", self.ca, os.path.join(b, "client.cert")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The certificate alone authenticates, on the admin API too.
        r = request(self.server, "GET", "/api/v1/whoami", context=self.as_("alice"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["name"], r.json()["kind"]), ("alice", "user"))
        r = request(self.server, "GET", "/v2/", context=self.as_("alice"))
        self.assertEqual(r.status, 200, r)

    def test_sourcing_env_sh_configures_the_command_line(self):
        # What a bundle's env.sh exports is all the CLI needs: registry
        # (host:port), CA, and the client certificate.
        b = self.bundles["alice"]
        env = subprocess.run(["bash", "-c", f". {b}/env.sh && env"], capture_output=True, text=True, check=True).stdout
        exported = dict(line.split("=", 1) for line in env.splitlines() if line.startswith("CUSTODY_"))
        run_env = {**os.environ, **exported, "HOME": self.dir}
        run_env.pop("CUSTODY_USER", None)
        r = subprocess.run([ah.BIN, "whoami"], capture_output=True, text=True, timeout=60, env=run_env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"name": "alice"', r.stdout)
        self.assertIn('"auth": "certificate:', r.stdout)
        key = ah.custody("log", "key", "--data", self.dir).stdout.strip()
        r = subprocess.run([ah.BIN, "log", "verify", "--key", key, "--state", os.path.join(self.dir, "state")],
                           capture_output=True, text=True, timeout=60, env=run_env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_skopeo_over_mutual_tls_acts_as_the_bundle_owner(self):
        src = f"oci-archive:{os.path.join(IMAGES, 'busybox-tiny.oci.tar')}"
        r = skopeo("copy", "--dest-cert-dir", self.certs_d("alice"), src, self.ref("alice/busybox:1"), env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        pushes = [e for e in ah.events(self.server, "manifest.push") if e["repository"] == "alice/busybox"]
        self.assertEqual([e["actor"] for e in pushes], ["alice"])
        out = os.path.join(self.dir, "pulled")
        r = skopeo("copy", "--src-cert-dir", self.certs_d("alice"), self.ref("alice/busybox:1"), f"dir:{out}",
                   env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "manifest.json")))
        # Someone else's certificate is someone else: dora may not read alice/busybox.
        r = request(self.server, "GET", "/v2/alice/busybox/tags/list", context=self.as_("dora"))
        self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)
        # Trusting the CA but without a client certificate: anonymous, refused.
        bare = os.path.join(self.dir, "bare")
        os.makedirs(bare, exist_ok=True)
        shutil.copy(self.ca, os.path.join(bare, "ca.crt"))
        r = skopeo("copy", "--dest-cert-dir", bare, src, self.ref("alice/anonymous:1"), env=self.env)
        self.assertNotEqual(r.returncode, 0)
        r = skopeo("inspect", "--raw", "--cert-dir", bare, self.ref("alice/busybox:1"), env=self.env)
        self.assertNotEqual(r.returncode, 0)

    def test_revocation_refuses_the_handshake_and_lists_the_serial_in_the_crl(self):
        for name in ("bob", "carl"):
            self.assertEqual(request(self.server, "GET", "/v2/", context=self.as_(name)).status, 200)
        bob = serial_of(os.path.join(self.bundles["bob"], "client.cert"))
        carl = serial_of(os.path.join(self.bundles["carl"], "client.cert"))
        # bob through the command line, carl through the API.
        r = ah.custody("pki", "revoke", bob, "--registry", f"https://{self.server.address}", "--user", "admin",
                       "--cacert", self.ca, env={"CUSTODY_SECRET": self.server.admin_secret})
        self.assertEqual(r.returncode, 0, r)
        r = self.server.admin.api("POST", "/pki/revocations", {"serial": carl, "reason": "key lost"})
        self.assertEqual(r.status, 201, r)
        self.assertTrue(self.handshake_refused("bob"))
        self.assertTrue(self.handshake_refused("carl"))
        r = skopeo("inspect", "--raw", "--cert-dir", self.certs_d("bob"), self.ref("alice/busybox:1"), env=self.env)
        self.assertNotEqual(r.returncode, 0)
        # alice is untouched.
        self.assertEqual(request(self.server, "GET", "/v2/", context=self.as_("alice")).status, 200)
        r = self.server.admin.api("GET", "/pki/revocations")
        self.assertEqual(r.status, 200, r)
        self.assertTrue({norm(bob), norm(carl)} <= {norm(x) for x in r.json()["revoked"]}, r)
        # The CRL, unauthenticated, DER, signed by the CA, lists both.
        r = request(self.server, "GET", "/pki/crl")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/pkix-crl")
        crl = os.path.join(self.dir, "crl.der")
        with open(crl, "wb") as f:
            f.write(r.body)
        text = ah.openssl("crl", "-inform", "DER", "-in", crl, "-noout", "-text").decode()
        listed = {norm(s) for s in re.findall(r"Serial Number: ([0-9A-Fa-f:]+)", text)}
        self.assertTrue({norm(bob), norm(carl)} <= listed, text)
        self.assertNotIn(norm(serial_of(os.path.join(self.bundles["alice"], "client.cert"))), listed)
        v = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", self.ca, "-noout"],
                           capture_output=True, text=True)
        self.assertIn("verify OK", v.stdout + v.stderr)
        # Each revocation is in the custody log.
        text = repr(ah.events(self.server)).upper()
        self.assertIn(norm(bob), text)
        self.assertIn(norm(carl), text)


class ExternalCaTest(unittest.TestCase):
    """An external CA (made with openssl): its certificates name accounts by
    CN or by SAN email, as `certificate_identity` says."""

    @classmethod
    def setUpClass(cls):
        cls.d = d = ah.tempdir("custody-extca-")
        make_ca(d, "corpca")
        issue(d, "corpca", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        client = "extendedKeyUsage=clientAuth\n"
        issue(d, "corpca", "erin", client)                                       # CN=erin
        issue(d, "corpca", "mail", client + "subjectAltName=email:Erin@corp.example\n")
        issue(d, "corpca", "othermail", client + "subjectAltName=email:erin@elsewhere.example\n")
        issue(d, "corpca", "stranger", client)                                   # CN=stranger: no such account

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d, ignore_errors=True)

    def serve(self, identity):
        d = self.d
        cfg = (f'[auth]\nmode = "token"\ncertificate_identity = "{identity}"\n'
               'certificate_email_domain = "corp.example"\n'
               f'[server.tls]\ncert = "{d}/server.crt"\nkey = "{d}/server.key"\n'
               f'client_ca = "{d}/corpca.crt"\nclient_auth = "request"\n')
        s = ah.start_server(cfg)
        self.addCleanup(s.cleanup)
        s.tls_context = ah.tls_context(f"{d}/corpca.crt")
        s.admin.create_user("erin")
        return s

    def whoami(self, s, name):
        ctx = ah.tls_context(f"{self.d}/corpca.crt", f"{self.d}/{name}.crt", f"{self.d}/{name}.key")
        return request(s, "GET", "/api/v1/whoami", context=ctx)

    def test_common_name(self):
        s = self.serve("cn")
        r = self.whoami(s, "erin")
        self.assertEqual((r.status, r.json()["name"]), (200, "erin"), r)
        self.assertEqual(self.whoami(s, "stranger").status, 401)
        self.assertEqual(self.whoami(s, "mail").status, 401)  # CN=mail: no such account

    def test_email_in_the_configured_domain(self):
        s = self.serve("email")
        r = self.whoami(s, "mail")
        self.assertEqual((r.status, r.json()["name"]), (200, "erin"), r)
        self.assertEqual(self.whoami(s, "othermail").status, 401)
        self.assertEqual(self.whoami(s, "erin").status, 401)  # no email at all


if __name__ == "__main__":
    unittest.main()
