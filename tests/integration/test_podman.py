"""podman logs in unchanged (docs/auth.md): `podman login` stores the
credentials, push and pull go through the token flow, a robot's secret
works the same, and after `podman logout` a private image is refused.
podman runs with its own storage, so the machine's images are untouched."""
import os
import shutil
import subprocess
import tempfile
import unittest

from auth_helpers import start_server
from harness import IMAGES


class PodmanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server()
        cls.admin = cls.server.admin
        cls.admin.create_org("acme")
        cls.robot = cls.admin.create_robot("acme", "ci", role="write")
        cls.dir = tempfile.mkdtemp(prefix="custody-podman-")
        auth = os.path.join(cls.dir, "auth.json")
        with open(auth, "w") as f:
            f.write("{}")  # podman wants the file to exist
        cls.env = {**os.environ, "REGISTRY_AUTH_FILE": auth, "HOME": cls.dir}

    @classmethod
    def tearDownClass(cls):
        cls.podman("rmi", "-af", check=False)
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def podman(cls, *args, stdin=None, check=True):
        storage = ["--root", os.path.join(cls.dir, "root"), "--runroot", os.path.join(cls.dir, "run"),
                   "--storage-driver", "vfs"]
        r = subprocess.run(["podman", *storage, *args], input=stdin, capture_output=True, text=True, timeout=300,
                           env=cls.env)
        if check and r.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {r.stderr}")
        return r

    def login(self, user, secret):
        self.podman("login", "--tls-verify=false", "-u", user, "--password-stdin", self.server.address, stdin=secret)

    def test_login_push_pull_logout(self):
        self.podman("pull", "-q", f"oci-archive:{os.path.join(IMAGES, 'busybox-tiny.oci.tar')}")
        ref = f"{self.server.address}/acme/app:1"
        self.podman("tag", "localhost/busybox:latest", ref)
        # Not logged in: the push is refused.
        r = self.podman("push", "-q", "--tls-verify=false", ref, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unauthorized", r.stderr.lower() + r.stdout.lower())
        # A robot's secret, as CI would use it.
        self.login(self.robot.name, self.robot.secret)
        self.podman("push", "-q", "--tls-verify=false", ref)
        self.podman("rmi", "-f", ref)
        self.podman("pull", "-q", "--tls-verify=false", ref)
        inspect = self.podman("image", "inspect", ref).stdout
        self.assertIn("acme/app", inspect)
        # After logout the private image is out of reach.
        self.podman("logout", self.server.address)
        self.podman("rmi", "-f", ref)
        r = self.podman("pull", "-q", "--tls-verify=false", ref, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unauthorized", r.stderr.lower())

    def test_wrong_secret_fails_login(self):
        r = self.podman("login", "--tls-verify=false", "-u", self.robot.name, "--password-stdin", self.server.address,
                        stdin="cst_" + "A" * 43, check=False)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
