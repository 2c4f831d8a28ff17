"""Helpers for the identity, RBAC and PKI tests (docs/auth.md): a server in
token mode with its enrolment secret, principals that fetch tokens the way
docker does, the admin API, JWTs made by hand (for forgeries), HTTPS with
client certificates, and readers of the custody log. Stdlib plus the
openssl command line only."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import sqlite3
import ssl
import subprocess
import tempfile
import time
import urllib.parse

from harness import BIN, Response, Server, sha256

TOKEN_CONFIG = '[auth]\nmode = "token"\n'
PASSWORDS_OFF_CONFIG = '[auth]\nmode = "token"\npasswords = "off"\n'
ENROLMENT = re.compile(r'custody: enrolment: created system administrator "admin" with secret (cst_[A-Za-z0-9_-]{43})')
SECRET = re.compile(r"^cst_[A-Za-z0-9_-]{43}$")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


# ---------------------------------------------------------------- servers

def start_server(config=TOKEN_CONFIG, data_dir=None, expect_enrolment=True):
    """Starts custody; in token mode `server.admin` is the enrolled system
    administrator (a Principal holding the one-time secret)."""
    assert "[auth]" in config, "always pass an [auth] section"
    server = Server(config=config, data_dir=data_dir).start()
    server.admin = None
    if expect_enrolment:
        deadline = time.time() + 10
        while time.time() < deadline:
            m = ENROLMENT.search(server.read_log())
            if m:
                break
            time.sleep(0.05)
        else:
            server.cleanup()
            raise AssertionError("no enrolment line in the server log")
        server.admin_secret = m.group(1)
        server.admin = Principal(server, "admin", m.group(1))
    return server


def tls_context(cafile, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def request(server, method, path, body=None, headers=None, context=None):
    """One request over a fresh connection; HTTPS when `context` is given
    (or server.tls_context is set)."""
    context = context or getattr(server, "tls_context", None)
    if context is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=60, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def error_code(r):
    """The error code of an OCI ({"errors":[...]}) or admin API
    ({"error":{...}}) error body."""
    j = r.json()
    if "errors" in j:
        return j["errors"][0]["code"]
    return j["error"]["code"]


def error_message(r):
    j = r.json()
    if "errors" in j:
        return j["errors"][0].get("message", "")
    return j["error"].get("message", "")


def parse_challenge(value):
    """'Bearer realm="x",service="y"' -> ("Bearer", {"realm": "x", ...})."""
    scheme, _, rest = value.partition(" ")
    params = dict(re.findall(r'([a-z_]+)="([^"]*)"', rest))
    return scheme, params


# ---------------------------------------------------------------- principals

def basic(name, secret):
    return "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()


def pull(repo):
    return f"repository:{repo}:pull"


def push(repo):
    return f"repository:{repo}:pull,push"


def delete(repo):
    return f"repository:{repo}:delete"


CATALOG = "registry:catalog:*"


class Principal:
    """An account (or anonymous, name None) that talks to the registry the
    way docker does: a token per scope from /auth/token, then Bearer."""

    def __init__(self, server, name=None, secret=None, context=None):
        self.server, self.name, self.secret, self.context = server, name, secret, context
        self.tokens = {}

    def __repr__(self):
        return f"<Principal {self.name or 'anonymous'}>"

    def auth_headers(self):
        return {"Authorization": basic(self.name, self.secret)} if self.name else {}

    def token_request(self, *scopes, offline=False, service="custody", headers=None):
        q = [("service", service)] + [("scope", s) for s in scopes]
        if offline:
            q.append(("offline_token", "true"))
        return request(self.server, "GET", "/auth/token?" + urllib.parse.urlencode(q),
                       headers={**self.auth_headers(), **(headers or {})}, context=self.context)

    def token(self, *scopes, cached=True):
        key = tuple(scopes)
        if cached and key in self.tokens:
            return self.tokens[key]
        r = self.token_request(*scopes)
        assert r.status == 200, f"{self}: token for {scopes}: {r}"
        self.tokens[key] = r.json()["token"]
        return self.tokens[key]

    def request(self, method, path, scopes=(), body=None, headers=None):
        if isinstance(scopes, str):
            scopes = (scopes,)
        h = {"Authorization": "Bearer " + self.token(*scopes), **(headers or {})}
        return request(self.server, method, path, body=body, headers=h, context=self.context)

    def api(self, method, path, body=None, headers=None):
        return request(self.server, method, "/api/v1" + path, body=body,
                       headers={**self.auth_headers(), **(headers or {})}, context=self.context)

    # Registry helpers (with the token a docker client would fetch).
    def push_blob(self, repo, data):
        d = sha256(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", push(repo), body=data,
                         headers={"Content-Type": "application/octet-stream"})
        return r, d

    def push_image(self, repo, tag, seed):
        """Pushes a config and a layer unique to `seed` and a manifest;
        returns (response of the last failing or the manifest PUT, digest)."""
        cfg = config_bytes(seed)
        layer = f"layer of {seed}".encode()
        for data in (cfg, layer):
            r, _ = self.push_blob(repo, data)
            if r.status != 201:
                return r, None
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(cfg),
                        "size": len(cfg)},
             "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer),
                         "size": len(layer)}]}
        body = json.dumps(m).encode()
        r = self.request("PUT", f"/v2/{repo}/manifests/{tag}", push(repo), body=body,
                         headers={"Content-Type": OCI_MANIFEST})
        return r, sha256(body)

    # Admin API helpers; each asserts success.
    def _ok(self, r, status, what):
        assert r.status == status, f"{self}: {what}: {r}"
        return r

    def create_user(self, name, password=None, system_admin=None):
        body = {"name": name}
        if password is not None:
            body["password"] = password
        if system_admin is not None:
            body["system_admin"] = system_admin
        self._ok(self.api("POST", "/users", body), 201, f"create user {name}")
        return Principal(self.server, name, password, self.context)

    def create_org(self, name, public=None, protected=None):
        body = {"name": name}
        if public is not None:
            body["public"] = public
        if protected is not None:
            body["protected"] = protected
        return self._ok(self.api("POST", "/orgs", body), 201, f"create org {name}")

    def create_team(self, org, team):
        return self._ok(self.api("POST", f"/orgs/{org}/teams", {"name": team}), 201, f"create team {org}/{team}")

    def add_member(self, org, team, account):
        return self._ok(self.api("PUT", f"/orgs/{org}/teams/{team}/members/{account}"), 204,
                        f"add {account} to {org}/{team}")

    def grant(self, org, subject, role, team=False, repository=None):
        self._ok(self.api("POST", f"/orgs/{org}/grants", grant_body(subject, role, team, repository)), 201,
                 f"grant {role} on {org} to {subject}")

    def create_robot(self, org, name, role=None, repository=None, expires_at=None):
        body = {"name": name}
        if role:
            body["access"] = [{"role": role, **({"repository": repository} if repository else {})}]
        if expires_at is not None:
            body["expires_at"] = expires_at
        r = self._ok(self.api("POST", f"/orgs/{org}/robots", body), 201, f"create robot {org}+{name}")
        j = r.json()
        assert j["name"] == f"robot${org}+{name}", j
        return Principal(self.server, j["name"], j["secret"], self.context)

    def set_repo(self, repo, **fields):
        r = self.api("PATCH", f"/repositories/{repo}", fields)
        assert r.status in (200, 204), f"{self}: PATCH repository {repo}: {r}"

    def set_org(self, org, **fields):
        r = self.api("PATCH", f"/orgs/{org}", fields)
        assert r.status in (200, 204), f"{self}: PATCH org {org}: {r}"


def config_bytes(seed):
    """The config blob Principal.push_image pushes for `seed`."""
    return json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()


def grant_body(subject, role, team=False, repository=None):
    body = {"subject": subject, "role": role}
    if team:
        body["team"] = True
    if repository:
        body["repository"] = repository
    return body


# ---------------------------------------------------------------- JWTs

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def decode_jwt(token):
    """(header, claims) of a compact JWS, unverified."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def granted(token, type_, name):
    """The actions a token's access claim grants on one resource."""
    out = []
    for entry in decode_jwt(token)[1]["access"]:
        if entry["type"] == type_ and entry["name"] == name:
            out += [a for a in entry["actions"] if a not in out]
    return out


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=True, timeout=60).stdout


def generate_key(path):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return path


def spki_der(key_path):
    return openssl("pkey", "-in", key_path, "-pubout", "-outform", "DER")


def public_pem(key_path) -> bytes:
    return openssl("pkey", "-in", key_path, "-pubout")


def libtrust_kid(key_path):
    b32 = base64.b32encode(hashlib.sha256(spki_der(key_path)).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def jwk(key_path):
    point = spki_der(key_path)[-65:]  # 0x04 || x || y
    assert point[0] == 4
    return {"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:]),
            "kid": libtrust_kid(key_path)}


def der_to_raw(der: bytes) -> bytes:
    """An ECDSA-Sig-Value (SEQUENCE of two INTEGERs) as JWS r || s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(32, b"\x00")
        i += 2 + n
    return out


def es256(key_path, message: bytes) -> bytes:
    return der_to_raw(openssl("dgst", "-sha256", "-sign", key_path, input=message))


def make_jwt(header, claims, key_path=None, hs256_secret=None, signature=None):
    """A compact JWS: ES256 with key_path, HS256 with hs256_secret, or the
    given raw signature bytes (b"" for alg none)."""
    signing_input = (b64json(header) + "." + b64json(claims)).encode()
    if key_path:
        signature = es256(key_path, signing_input)
    elif hs256_secret is not None:
        signature = hmac.new(hs256_secret, signing_input, hashlib.sha256).digest()
    return signing_input.decode() + "." + b64url(signature or b"")


def claims_like(token, **changes):
    """The claims of a real token with some replaced (None removes)."""
    claims = decode_jwt(token)[1]
    for k, v in changes.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return claims


# ---------------------------------------------------------------- the log

def events(server, action=None):
    """The custody log as dicts (columns of the events table)."""
    c = sqlite3.connect(os.path.join(server.data_dir, "meta.db"), timeout=10)
    c.row_factory = sqlite3.Row
    try:
        q = "SELECT * FROM events" + (" WHERE action = ?" if action else "") + " ORDER BY seq"
        return [dict(r) for r in c.execute(q, (action,) if action else ())]
    finally:
        c.close()


def last_seq(server):
    e = events(server)
    return e[-1]["seq"] if e else 0


def events_since(server, seq):
    return [e for e in events(server) if e["seq"] > seq]


def custody(*args, env=None, input=None, timeout=120):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, input=input,
                          env={**os.environ, **(env or {})})


def tempdir(prefix="custody-auth-"):
    return tempfile.mkdtemp(prefix=prefix)
