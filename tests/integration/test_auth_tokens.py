"""Docker token authentication (docs/auth.md): the token endpoint, the
challenges on /v2/, forged and broken tokens, passwords-off mode, refused
accounts, and secrets kept out of the logs. A real server in token mode."""
import os
import re
import shutil
import time
import unittest
import urllib.parse
import uuid

import auth_helpers as ah
from auth_helpers import Principal, basic, decode_jwt, granted, pull, push, request

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
KID = re.compile(r"^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$")


def form(server, fields, headers=None):
    return request(server, "POST", "/auth/token", body=urllib.parse.urlencode(fields).encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


class AuthTestCase(unittest.TestCase):
    config = ah.TOKEN_CONFIG

    @classmethod
    def setUpClass(cls):
        cls.server = ah.start_server(cls.config)
        cls.admin = cls.server.admin

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def assertRefusedCredentials(self, r):
        """Wrong credentials at the token endpoint (docs/auth.md)."""
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header("WWW-Authenticate"), 'Basic realm="custody"', r)

    def assertChallenge(self, r, error=None, scope=None):
        self.assertEqual(r.status, 401, r)
        self.assertEqual(ah.error_code(r), "UNAUTHORIZED", r)
        scheme, params = ah.parse_challenge(r.header("WWW-Authenticate") or "")
        self.assertEqual(scheme, "Bearer", r)
        self.assertEqual(params.get("realm"), f"http://{self.server.address}/auth/token", r)
        self.assertEqual(params.get("service"), "custody", r)
        if scope is not None:
            self.assertEqual(params.get("scope"), scope, r)
        self.assertEqual(params.get("error"), error, r)


class TokenEndpointTest(AuthTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin.create_org("acme")
        cls.alice = cls.admin.create_user("alice", "alice-pass-0123")
        cls.admin.create_user("carol", "carol-pass-0123")
        cls.admin.create_user("dave", "dave-pass-0123")
        cls.admin.grant("acme", "alice", "read")
        r, cls.digest = cls.admin.push_image("acme/app", "v1", "acme")
        assert r.status == 201, r

    def test_get_with_basic_issues_es256_jwt(self):
        r = self.alice.token_request(pull("acme/app"))
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j["token"], j["access_token"])
        self.assertEqual(j["expires_in"], 300)
        self.assertRegex(j["issued_at"], RFC3339)
        self.assertNotIn("refresh_token", j)
        header, claims = decode_jwt(j["token"])
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(header["typ"], "JWT")
        self.assertRegex(header["kid"], KID)
        self.assertEqual(header["kid"], ah.libtrust_kid(os.path.join(self.server.data_dir, "token.key")))
        self.assertEqual((claims["iss"], claims["sub"], claims["aud"]), ("custody", "alice", "custody"))
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        self.assertLessEqual(claims["nbf"], claims["iat"])
        self.assertLessEqual(abs(claims["iat"] - time.time()), 30)
        self.assertTrue(claims["jti"])
        self.assertEqual(claims["access"], [{"type": "repository", "name": "acme/app", "actions": ["pull"]}])
        # Two tokens never share a jti.
        self.assertNotEqual(decode_jwt(self.alice.token(pull("acme/app"), cached=False))[1]["jti"], claims["jti"])
        r = request(self.server, "GET", "/v2/acme/app/manifests/v1",
                    headers={"Authorization": "Bearer " + j["token"], "Accept": ah.OCI_MANIFEST})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Docker-Content-Digest"), self.digest)

    def test_asking_for_more_grants_less(self):
        t = self.alice.token("repository:acme/app:pull,push,delete", "repository:acme/other:pull",
                             "repository:dave/app:pull,push", ah.CATALOG)
        self.assertEqual(granted(t, "repository", "acme/app"), ["pull"])
        self.assertEqual(granted(t, "repository", "acme/other"), ["pull"])  # a namespace grant
        self.assertEqual(granted(t, "repository", "dave/app"), [])
        self.assertEqual(granted(t, "registry", "catalog"), [])
        self.assertEqual(granted(self.alice.token("repository:acme/app:frobnicate"), "repository", "acme/app"), [])
        # Every user administers its own namespace.
        t = self.alice.token("repository:alice/app:pull,push,delete")
        self.assertEqual(sorted(granted(t, "repository", "alice/app")), ["delete", "pull", "push"])
        t = self.admin.token("repository:acme/app:pull,push,delete", ah.CATALOG)
        self.assertEqual(sorted(granted(t, "repository", "acme/app")), ["delete", "pull", "push"])
        self.assertEqual(granted(t, "registry", "catalog"), ["*"])

    def test_anonymous_token(self):
        anonymous = Principal(self.server)
        r = anonymous.token_request(pull("acme/app"), offline=True)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("refresh_token", r.json())
        t = r.json()["token"]
        self.assertEqual(decode_jwt(t)[1]["sub"], "")
        self.assertEqual(granted(t, "repository", "acme/app"), [])
        auth = {"Authorization": "Bearer " + t}
        self.assertEqual(request(self.server, "GET", "/v2/", headers=auth).status, 200)
        self.assertChallenge(request(self.server, "GET", "/v2/acme/app/manifests/v1", headers=auth),
                             scope=pull("acme/app"))

    def test_offline_token_and_refresh_grant(self):
        r = self.alice.token_request(pull("acme/app"), offline=True)
        self.assertEqual(r.status, 200, r)
        refresh = r.json()["refresh_token"]
        self.assertNotEqual(refresh, r.json()["token"])
        r = form(self.server, {"grant_type": "refresh_token", "refresh_token": refresh, "service": "custody",
                               "scope": "repository:acme/app:pull,push", "client_id": "tests",
                               "access_type": "offline"})
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j.get("refresh_token", refresh), refresh)
        self.assertEqual(j["expires_in"], 300)
        self.assertEqual(decode_jwt(j["access_token"])[1]["sub"], "alice")
        self.assertEqual(granted(j["access_token"], "repository", "acme/app"), ["pull"])
        r = request(self.server, "GET", "/v2/acme/app/tags/list",
                    headers={"Authorization": "Bearer " + j["access_token"]})
        self.assertEqual(r.status, 200, r)
        # A refresh token is not an access token, nor an access token a refresh token.
        r = request(self.server, "GET", "/v2/acme/app/tags/list", headers={"Authorization": "Bearer " + refresh})
        self.assertChallenge(r, error="invalid_token", scope=pull("acme/app"))
        for bad in (j["access_token"], refresh[:-4] + "AAAA", "garbage"):
            r = form(self.server, {"grant_type": "refresh_token", "refresh_token": bad, "service": "custody",
                                   "scope": pull("acme/app"), "client_id": "tests"})
            self.assertEqual(r.status, 401, r)

    def test_password_grant(self):
        fields = {"grant_type": "password", "username": "alice", "password": "alice-pass-0123",
                  "service": "custody", "scope": "repository:acme/app:pull,push", "client_id": "tests"}
        r = form(self.server, fields)
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertNotIn("refresh_token", j)
        self.assertEqual(j["expires_in"], 300)
        self.assertRegex(j["issued_at"], RFC3339)
        self.assertIn("scope", j)
        self.assertEqual(granted(j["access_token"], "repository", "acme/app"), ["pull"])
        r = form(self.server, {**fields, "access_type": "offline"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["refresh_token"])
        r = form(self.server, {**fields, "username": "carol", "password": "not-carols"})
        self.assertRefusedCredentials(r)

    def test_wrong_service_or_malformed_scope_is_400(self):
        self.assertEqual(self.alice.token_request(pull("acme/app"), service="elsewhere").status, 400)
        for scope in ("repository:acme/app", "repository:ACME/app:pull", "repository:localhost:5000/app:pull",
                      "nonsense", "registry:other:*", "repository:acme/app:"):
            with self.subTest(scope=scope):
                self.assertEqual(self.alice.token_request(scope).status, 400)

    def test_bad_credentials_are_401_basic(self):
        for name, secret in (("carol", "wrong"), ("nobody-here", "whatever"), ("carol", "")):
            with self.subTest(name=name):
                r = Principal(self.server, name, secret).token_request(pull("acme/app"))
                self.assertRefusedCredentials(r)
        r = request(self.server, "GET", "/auth/token?service=custody", headers={"Authorization": "Basic !!!"})
        self.assertEqual(r.status, 401, r)

    def test_failed_logins_are_throttled_per_account(self):
        wrong = Principal(self.server, "dave", "wrong-password")
        for i in range(5):
            self.assertRefusedCredentials(wrong.token_request(pull("acme/app")))
        for who in (wrong, Principal(self.server, "dave", "dave-pass-0123")):
            r = who.token_request(pull("acme/app"))
            self.assertEqual(r.status, 429, r)
            self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        # Only that account: alice still gets her token.
        self.assertEqual(self.alice.token_request(pull("acme/app")).status, 200)

    def test_challenges(self):
        r = request(self.server, "GET", "/v2/")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header("WWW-Authenticate"),
                         f'Bearer realm="http://{self.server.address}/auth/token",service="custody"')
        self.assertEqual(ah.error_code(r), "UNAUTHORIZED")
        r = request(self.server, "GET", "/v2/acme/app/manifests/v1")
        self.assertEqual(r.header("WWW-Authenticate"),
                         f'Bearer realm="http://{self.server.address}/auth/token",service="custody",'
                         f'scope="repository:acme/app:pull"')
        self.assertChallenge(r, scope="repository:acme/app:pull")
        self.assertChallenge(request(self.server, "POST", "/v2/acme/app/blobs/uploads/"),
                             scope="repository:acme/app:pull,push")
        self.assertChallenge(request(self.server, "PUT", "/v2/acme/app/manifests/v2", body=b"{}"),
                             scope="repository:acme/app:pull,push")
        self.assertChallenge(request(self.server, "GET", "/v2/_catalog"), scope="registry:catalog:*")
        # The token endpoint works behind a proxy too: realm follows Host.
        r = request(self.server, "GET", "/v2/", headers={"Host": "registry.example:443"})
        self.assertEqual(ah.parse_challenge(r.header("WWW-Authenticate"))[1]["realm"],
                         "http://registry.example:443/auth/token")
        # A valid token without the action the account holds: insufficient_scope.
        r = self.admin.request("POST", "/v2/acme/app/blobs/uploads/", pull("acme/app"))
        self.assertChallenge(r, error="insufficient_scope", scope="repository:acme/app:pull,push")
        # The account does not hold it: 403.
        r = self.alice.request("POST", "/v2/acme/app/blobs/uploads/", push("acme/app"))
        self.assertEqual((r.status, ah.error_code(r)), (403, "DENIED"), r)
        # A token on /v2/ itself.
        r = request(self.server, "GET", "/v2/", headers={"Authorization": "Bearer " + self.alice.token()})
        self.assertEqual(r.status, 200, r)


class ConfiguredNamesTest(AuthTestCase):
    config = ('[auth]\nmode = "token"\nrealm = "https://auth.example/token"\nservice = "registry.example"\n'
              'issuer = "corp-issuer"\ntoken_ttl_seconds = 60\n')

    def test_realm_service_issuer_and_ttl_come_from_the_config(self):
        r = request(self.server, "GET", "/v2/")
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="https://auth.example/token",service="registry.example"')
        self.assertEqual(self.admin.token_request(pull("x/app")).status, 400)  # service=custody
        r = self.admin.token_request(pull("x/app"), service="registry.example")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["expires_in"], 60)
        claims = decode_jwt(r.json()["token"])[1]
        self.assertEqual((claims["iss"], claims["aud"], claims["exp"] - claims["iat"]),
                         ("corp-issuer", "registry.example", 60))
        r = request(self.server, "GET", "/v2/", headers={"Authorization": "Bearer " + r.json()["token"]})
        self.assertEqual(r.status, 200, r)


class ThrottleTest(AuthTestCase):
    def test_guessing_is_throttled_per_account_and_per_address(self):
        self.admin.create_org("th")
        robot = self.admin.create_robot("th", "ci", role="read")
        self.admin.create_user("hank", "hank-pass-0123")
        # Guessing a robot secret straight on /v2/ counts against the robot.
        for _ in range(5):
            r = request(self.server, "GET", "/v2/th/app/tags/list",
                        headers={"Authorization": basic(robot.name, "cst_" + "A" * 43)})
            self.assertEqual(r.status, 401, r)
        r = Principal(self.server, robot.name, "a-guessed-password").token_request(pull("th/app"))
        self.assertEqual(r.status, 429, r)
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        # The robot's real secret still works: secrets cannot be guessed, and
        # failures under its name must not be a way to lock it out.
        self.assertEqual(robot.token_request(pull("th/app")).status, 200)
        # 20 failures from one address, spread over accounts, stop everyone there.
        for i in range(15):
            self.assertRefusedCredentials(Principal(self.server, f"ghost{i}", "guess").token_request())
        r = Principal(self.server, "hank", "hank-pass-0123").token_request(pull("th/app"))
        self.assertEqual(r.status, 429, r)
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)


class ForgedTokenTest(AuthTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = ah.tempdir()
        cls.key = os.path.join(cls.server.data_dir, "token.key")
        cls.attacker = ah.generate_key(os.path.join(cls.tmp, "attacker.pem"))
        cls.admin.create_org("forge")
        r, cls.digest = cls.admin.push_image("forge/app", "v1", "forge")
        assert r.status == 201, r
        cls.real = cls.admin.token("repository:forge/app:pull,push,delete")
        cls.header = decode_jwt(cls.real)[0]

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def mint(self, header=None, key=None, **claims):
        claims.setdefault("jti", uuid.uuid4().hex)
        return ah.make_jwt(header or self.header, ah.claims_like(self.real, **claims), key_path=key or self.key)

    def use(self, token, delete=True):
        """Pull, push and (unless told not to) delete with a token; returns
        the responses."""
        auth = {"Authorization": "Bearer " + token}
        rs = [
            request(self.server, "GET", "/v2/forge/app/manifests/v1", headers={**auth, "Accept": ah.OCI_MANIFEST}),
            request(self.server, "PUT", "/v2/forge/app/manifests/forged", body=b"{}",
                    headers={**auth, "Content-Type": ah.OCI_MANIFEST}),
            request(self.server, "POST", "/v2/forge/app/blobs/uploads/", headers=auth),
        ]
        if delete:
            rs.append(request(self.server, "DELETE", f"/v2/forge/app/manifests/{self.digest}", headers=auth))
        return rs

    def test_own_minted_token_is_accepted(self):
        # The control: a token made here with the server's key and its claims
        # works, so the refusals below are for the reason each one names.
        statuses = [r.status for r in self.use(self.mint(), delete=False)]
        self.assertEqual(statuses, [200, 400, 202])
        self.assertEqual(self.header["kid"], ah.libtrust_kid(self.key))

    def test_forged_and_broken_tokens_are_401(self):
        now = int(time.time())
        pub = ah.public_pem(self.key)
        h = self.header
        attacker_kid = ah.libtrust_kid(self.attacker)
        signing_input, _, signature = self.real.rpartition(".")
        payload = ah.claims_like(self.real, access=[{"type": "repository", "name": "forge/app", "actions": ["pull"]}])
        pull_only = self.admin.token(pull("forge/app"))
        tampered_claims = ah.claims_like(pull_only, access=[
            {"type": "repository", "name": "forge/app", "actions": ["pull", "push", "delete"]}])
        forgeries = {
            "alg none": ah.make_jwt({"alg": "none", "typ": "JWT"}, ah.claims_like(self.real), signature=b""),
            "alg none with kid": ah.make_jwt({**h, "alg": "none"}, ah.claims_like(self.real), signature=b""),
            "alg none, real signature": ah.make_jwt({**h, "alg": "none"}, ah.claims_like(self.real),
                                                    signature=ah.b64url_decode(signature)),
            "HS256 with the public key": ah.make_jwt({**h, "alg": "HS256"}, ah.claims_like(self.real),
                                                     hs256_secret=pub),
            "HS256 with the public key, no newline": ah.make_jwt({**h, "alg": "HS256"}, ah.claims_like(self.real),
                                                                 hs256_secret=pub.strip()),
            "ES384 header": self.mint(header={**h, "alg": "ES384"}),
            "unknown kid": self.mint(header={**h, "kid": attacker_kid}, key=self.attacker),
            "server kid, attacker key": self.mint(key=self.attacker),
            "embedded jwk": self.mint(header={**h, "kid": attacker_kid, "jwk": ah.jwk(self.attacker)},
                                      key=self.attacker),
            "embedded jwk, server kid": self.mint(header={**h, "jwk": ah.jwk(self.attacker)}, key=self.attacker),
            "jku": self.mint(header={**h, "kid": attacker_kid, "jku": "http://127.0.0.1:1/jwks"},
                             key=self.attacker),
            "expired": self.mint(iat=now - 7200, nbf=now - 7200, exp=now - 3600),
            "not yet valid": self.mint(iat=now, nbf=now + 3600, exp=now + 7200),
            "wrong audience": self.mint(aud="another-registry"),
            "audience list without us": self.mint(aud=["another-registry", "third"]),
            "wrong issuer": self.mint(iss="evil"),
            "no exp": self.mint(exp=None),
            "tampered access, original signature": ah.make_jwt(decode_jwt(pull_only)[0], tampered_claims,
                                                               signature=ah.b64url_decode(pull_only.split(".")[2])),
            "tampered sub, original signature": signing_input.split(".")[0] + "." +
                ah.b64json(ah.claims_like(self.real, sub="alice")) + "." + signature,
            "truncated signature": self.real[:-10],
            "no signature": signing_input + ".",
            "garbage": "not.a.jwt",
            "payload only": ah.b64json(payload),
        }
        before = [e["seq"] for e in ah.events(self.server) if not e["action"].startswith("auth.")]
        for name, token in forgeries.items():
            with self.subTest(forgery=name):
                for r in self.use(token):
                    self.assertChallenge(r, error="invalid_token")
        # A valid token for another repository (the account holds the action).
        other = self.admin.token("repository:forge/other:pull,push,delete")
        for r, scope in zip(self.use(other), ["pull", "pull,push", "pull,push", "delete"]):
            self.assertChallenge(r, error="insufficient_scope", scope=f"repository:forge/app:{scope}")
        # Nothing changed: no new registry events, the tag and manifest are there.
        after = [e["seq"] for e in ah.events(self.server) if not e["action"].startswith("auth.")]
        self.assertEqual(after, before)
        r = self.admin.request("GET", "/v2/forge/app/tags/list", pull("forge/app"))
        self.assertEqual(r.json()["tags"], ["v1"])
        r = self.admin.request("HEAD", f"/v2/forge/app/manifests/{self.digest}", pull("forge/app"))
        self.assertEqual(r.status, 200)


class AccountStateTest(AuthTestCase):
    """Disabled users, revoked and expired robots: refused everywhere."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin.create_org("ci")
        r, _ = cls.admin.push_image("ci/app", "v1", "ci")
        assert r.status == 201, r

    def robot_direct(self, robot):
        return request(self.server, "GET", "/v2/ci/app/tags/list",
                       headers={"Authorization": basic(robot.name, robot.secret)})

    def bearer(self, token):
        return request(self.server, "GET", "/v2/ci/app/tags/list", headers={"Authorization": "Bearer " + token})

    def test_disabled_user(self):
        erin = self.admin.create_user("erin", "erin-pass-0123")
        self.admin.grant("ci", "erin", "read")
        refresh = erin.token_request(pull("ci/app"), offline=True).json()["refresh_token"]
        self.assertEqual(erin.request("GET", "/v2/ci/app/tags/list", pull("ci/app")).status, 200)
        r = self.admin.api("PATCH", "/users/erin", {"disabled": True})
        self.assertIn(r.status, (200, 204), r)
        self.assertRefusedCredentials(erin.token_request(pull("ci/app")))
        self.assertEqual(erin.api("GET", "/whoami").status, 401)
        r = form(self.server, {"grant_type": "refresh_token", "refresh_token": refresh, "service": "custody",
                               "scope": pull("ci/app"), "client_id": "tests"})
        self.assertEqual(r.status, 401, r)
        r = self.admin.api("PATCH", "/users/erin", {"disabled": False})
        self.assertIn(r.status, (200, 204), r)
        self.assertEqual(erin.token_request(pull("ci/app")).status, 200)

    def test_revoked_robot(self):
        robot = self.admin.create_robot("ci", "deployer", role="write")
        t = robot.token(push("ci/app"))
        self.assertEqual(sorted(granted(t, "repository", "ci/app")), ["pull", "push"])
        self.assertEqual(self.robot_direct(robot).status, 200)
        self.assertEqual(self.admin.api("DELETE", "/orgs/ci/robots/deployer").status, 204)
        self.assertEqual(self.robot_direct(robot).status, 401)
        self.assertRefusedCredentials(robot.token_request(pull("ci/app")))

    def test_expired_robot(self):
        robot = self.admin.create_robot("ci", "shortlived", role="read", expires_at=int(time.time()) + 3)
        self.assertEqual(robot.token_request(pull("ci/app")).status, 200)
        self.assertEqual(self.robot_direct(robot).status, 200)
        time.sleep(4.5)
        self.assertEqual(self.robot_direct(robot).status, 401)
        self.assertRefusedCredentials(robot.token_request(pull("ci/app")))

    def test_tokens_issued_before_are_refused_after(self):
        # "A revoked, expired or disabled account is refused everywhere":
        # also with a token it was given before.
        fred = self.admin.create_user("fred", "fred-pass-0123")
        self.admin.grant("ci", "fred", "read")
        revoked = self.admin.create_robot("ci", "gone", role="read")
        expiring = self.admin.create_robot("ci", "brief", role="read", expires_at=int(time.time()) + 3)
        tokens = {p.name: p.token(pull("ci/app")) for p in (fred, revoked, expiring)}
        for name, t in tokens.items():
            self.assertEqual(self.bearer(t).status, 200, name)
        self.assertIn(self.admin.api("PATCH", "/users/fred", {"disabled": True}).status, (200, 204))
        self.assertEqual(self.admin.api("DELETE", "/orgs/ci/robots/gone").status, 204)
        time.sleep(4.5)
        for name, t in tokens.items():
            with self.subTest(account=name):
                self.assertChallenge(self.bearer(t), error="invalid_token", scope=pull("ci/app"))


class PasswordsOffTest(AuthTestCase):
    """Accounts made with passwords on, then the server restarted with
    `passwords = "off"`: only secrets (and certificates) authenticate."""

    @classmethod
    def setUpClass(cls):
        cls.dir = ah.tempdir()
        first = ah.start_server(ah.TOKEN_CONFIG, data_dir=cls.dir)
        first.admin.create_org("off")
        first.admin.create_user("frank", "frank-pass-0123")
        first.admin.grant("off", "frank", "write")
        cls.robot = first.admin.create_robot("off", "ci", role="write")
        r, _ = first.admin.push_image("off/app", "v1", "off")
        assert r.status == 201, r
        assert Principal(first, "frank", "frank-pass-0123").token_request(pull("off/app")).status == 200
        first.stop()
        cls.server = ah.start_server(ah.PASSWORDS_OFF_CONFIG, data_dir=cls.dir, expect_enrolment=False)
        cls.admin = Principal(cls.server, "admin", first.admin_secret)
        cls.robot.server = cls.server

    def test_enrolment_happens_once(self):
        self.assertEqual(len(ah.ENROLMENT.findall(self.server.read_log())), 1)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_correct_password_is_refused(self):
        frank = Principal(self.server, "frank", "frank-pass-0123")
        self.assertRefusedCredentials(frank.token_request(pull("off/app")))
        r = form(self.server, {"grant_type": "password", "username": "frank", "password": "frank-pass-0123",
                               "service": "custody", "scope": pull("off/app"), "client_id": "tests"})
        self.assertRefusedCredentials(r)
        r = request(self.server, "GET", "/v2/off/app/tags/list", headers=frank.auth_headers())
        self.assertEqual(r.status, 401, r)
        self.assertEqual(frank.api("GET", "/whoami").status, 401)

    def test_secrets_still_work(self):
        t = self.robot.token(push("off/app"))
        self.assertEqual(sorted(granted(t, "repository", "off/app")), ["pull", "push"])
        r = request(self.server, "GET", "/v2/off/app/tags/list", headers=self.robot.auth_headers())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.admin.token_request(pull("off/app")).status, 200)
        r = self.admin.api("GET", "/whoami")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["name"], r.json()["system_admin"]), ("admin", True))


class SecretsNotLoggedTest(AuthTestCase):
    def test_no_secret_in_access_log_events_or_database(self):
        s, admin = self.server, self.admin
        admin.create_org("sec")
        password, wrong = "Gr33n-Horse-Battery-77", "Wr0ng-Guess-Password-99"
        grace = admin.create_user("grace", password)
        admin.grant("sec", "grace", "write")
        robot = admin.create_robot("sec", "ci", role="write")
        Principal(s, "grace", wrong).token_request(pull("sec/app"))
        Principal(s, robot.name, "cst_" + "A" * 43).token_request(pull("sec/app"))
        r = grace.token_request(push("sec/app"), offline=True)
        access, refresh = r.json()["token"], r.json()["refresh_token"]
        r = form(s, {"grant_type": "refresh_token", "refresh_token": refresh, "service": "custody",
                     "scope": push("sec/app"), "client_id": "tests"})
        refreshed = r.json()["access_token"]
        r = form(s, {"grant_type": "password", "username": "grace", "password": password, "service": "custody",
                     "scope": pull("sec/app"), "client_id": "tests"})
        by_password = r.json()["access_token"]
        self.assertEqual(grace.push_image("sec/app", "v1", "sec")[0].status, 201)
        self.assertEqual(robot.push_image("sec/app", "v2", "sec2")[0].status, 201)
        request(s, "GET", "/v2/sec/app/tags/list", headers=robot.auth_headers())
        admin.api("PATCH", "/users/grace", {"password": "An0ther-Password-55"})
        grace.api("GET", "/whoami")
        s.stop()

        secrets = {"admin secret": s.admin_secret, "robot secret": robot.secret, "password": password,
                   "wrong password": wrong, "new password": "An0ther-Password-55", "access token": access,
                   "refresh token": refresh, "refreshed token": refreshed, "password-grant token": by_password,
                   "token signature": access.split(".")[2],
                   "basic credentials": basic("grace", password).split()[1],
                   "robot basic credentials": basic(robot.name, robot.secret).split()[1]}
        for token in grace.tokens.values():
            secrets[f"token {token[-12:]}"] = token
        log = "\n".join(line for line in s.read_log().splitlines() if not line.startswith("custody: enrolment:"))
        self.assertIn('"/v2/sec/app/tags/list"', log.replace("\\/", "/"))  # the access log is there
        evs = ah.events(s)
        self.assertTrue(any(e["action"] == "manifest.push" for e in evs))
        dump = "\n".join(repr(e) for e in evs)
        db = b""
        for name in ("meta.db", "meta.db-wal"):
            p = os.path.join(s.data_dir, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    db += f.read()
        for what, secret in secrets.items():
            with self.subTest(secret=what):
                self.assertNotIn(secret, log)
                self.assertNotIn(secret, dump)
                if "token" not in what:
                    self.assertNotIn(secret.encode(), db)


if __name__ == "__main__":
    unittest.main()
