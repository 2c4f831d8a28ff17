"""An external CA: the server trusts a CA bundle it did not make, and maps a
field of each verified client certificate (CN, or the email in a chosen
domain) to an account. Certificates are made with openssl; requests go
through curl over real mutual TLS handshakes; the server is in token mode."""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from harness import Server
from test_tls import issue, make_ca


def curl(*args, data=None):
    """(status, body) of one curl request; status 0 when no HTTP answer came."""
    r = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], input=data, capture_output=True, timeout=30)
    body, _, status = r.stdout.rpartition(b"\n")
    return int(status or 0), body


class ExternalCaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="custody-extca-")
        make_ca(cls.pki, "corp")
        issue(cls.pki, "corp", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        issue(cls.pki, "corp", "carol", "extendedKeyUsage=clientAuth\n")
        issue(cls.pki, "corp", "nobody", "extendedKeyUsage=clientAuth\n")  # no such account
        issue(cls.pki, "corp", "anything", "extendedKeyUsage=clientAuth\nsubjectAltName=email:Dave@Corp.Example\n")
        issue(cls.pki, "corp", "outsider", "extendedKeyUsage=clientAuth\nsubjectAltName=email:dave@evil.example\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.pki, name)

    def serve(self, mapping, domain=""):
        cfg = (f'[server.tls]\ncert = "{self.path("server.crt")}"\nkey = "{self.path("server.key")}"\n'
               f'client_ca = "{self.path("corp.crt")}"\nclient_auth = "request"\n'
               f'[auth]\nmode = "token"\ncertificate_identity = "{mapping}"\n'
               f'certificate_email_domain = "{domain}"\n')
        server = Server(config=cfg).start()
        self.addCleanup(server.cleanup)
        secret = re.search(r"with secret (cst_[A-Za-z0-9_-]+)", server.read_log()).group(1)
        url = f"https://127.0.0.1:{server.port}"
        for name in ("carol", "dave"):
            status, body = curl("--cacert", self.path("corp.crt"), "-u", f"admin:{secret}", "-X", "POST",
                                "-H", "Content-Type: application/json", "--data-binary", "@-",
                                f"{url}/api/v1/users", data=json.dumps({"name": name}).encode())
            self.assertEqual(status, 201, body)
        return server, url

    def as_client(self, name):
        return ["--cacert", self.path("corp.crt"), "--cert", self.path(f"{name}.crt"), "--key", self.path(f"{name}.key")]

    def whoami(self, url, name):
        status, body = curl(*self.as_client(name), f"{url}/api/v1/whoami")
        return status, json.loads(body) if status == 200 else body

    def test_common_name_names_the_account(self):
        server, url = self.serve("cn")
        status, me = self.whoami(url, "carol")
        self.assertEqual(status, 200, me)
        self.assertEqual(me["name"], "carol")
        self.assertTrue(me["auth"].startswith("certificate:"), me)
        # The certificate alone authorizes a push into carol's namespace on /v2/.
        blob = b"pushed with a certificate"
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        status, body = curl(*self.as_client("carol"), "-X", "POST", "-H", "Content-Type: application/octet-stream",
                            "--data-binary", "@-", f"{url}/v2/carol/app/blobs/uploads/?digest={digest}", data=blob)
        self.assertEqual(status, 201, body)
        # Not into someone else's.
        status, body = curl(*self.as_client("carol"), "-X", "POST", f"{url}/v2/dave/app/blobs/uploads/")
        self.assertEqual(status, 403, body)
        self.assertEqual(json.loads(body)["errors"][0]["code"], "DENIED")
        # A valid certificate for no account, and no certificate at all, authenticate nobody.
        self.assertEqual(self.whoami(url, "nobody")[0], 401)
        status, body = curl(*self.as_client("nobody"), "-X", "POST", f"{url}/v2/carol/app/blobs/uploads/")
        self.assertEqual(status, 401, body)
        status, _ = curl("--cacert", self.path("corp.crt"), "-X", "POST", f"{url}/v2/carol/app/blobs/uploads/")
        self.assertEqual(status, 401)
        # The push is in the log with the certificate as how carol proved herself.
        db = sqlite3.connect(os.path.join(server.data_dir, "meta.db"))
        actor, auth = db.execute("SELECT actor, auth FROM events WHERE action = 'blob.push'").fetchone()
        db.close()
        self.assertEqual(actor, "carol")
        self.assertTrue(auth.startswith("certificate:"), auth)

    def test_email_in_the_configured_domain_names_the_account(self):
        _, url = self.serve("email", "corp.example")
        status, me = self.whoami(url, "anything")  # CN=anything, email Dave@Corp.Example
        self.assertEqual(status, 200, me)
        self.assertEqual(me["name"], "dave")
        self.assertEqual(self.whoami(url, "outsider")[0], 401)  # dave, but at another domain
        self.assertEqual(self.whoami(url, "carol")[0], 401)     # no email at all

    def test_revoked_certificate_is_refused_at_the_handshake(self):
        server, url = self.serve("cn")
        self.assertEqual(self.whoami(url, "carol")[0], 200)
        serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", self.path("carol.crt")],
                                capture_output=True, text=True, check=True).stdout.strip().split("=")[1]
        secret = re.search(r"with secret (cst_[A-Za-z0-9_-]+)", server.read_log()).group(1)
        status, body = curl("--cacert", self.path("corp.crt"), "-u", f"admin:{secret}", "-X", "POST",
                            "-H", "Content-Type: application/json", "--data-binary", "@-",
                            f"{url}/api/v1/pki/revocations", data=json.dumps({"serial": serial}).encode())
        self.assertEqual(status, 201, body)
        self.assertEqual(self.whoami(url, "carol")[0], 0)  # no HTTP answer: the handshake failed
        self.assertEqual(self.whoami(url, "anything")[0], 401)  # others still connect (CN=anything has no account)


if __name__ == "__main__":
    unittest.main()
