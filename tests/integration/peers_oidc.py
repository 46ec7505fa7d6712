"""Identity providers for the single sign-on tests, on loopback:

- Glewlwyd: the real OpenID Connect provider from Debian (package glewlwyd 2.7), with a
  throwaway SQLite database, an RSA signing key, users and a client created through its admin
  API. It issues RS256 JWT access tokens (password grant) and answers introspection.
- TokenMinter: an issuer of our own (discovery + JWKS over HTTP, keys made with Debian's
  python3-cryptography, tokens with python3-jwt) for what a real provider will not hand out:
  expired tokens, other audiences, alg "none", HS256 keyed with the public key, a rotated
  key, and a provider that goes away.
"""
import atexit
import base64
import gzip
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from peers_common import Peer, die_with_parent, free_port, read_text, register, unregister

GLEWLWYD = "/usr/bin/glewlwyd"
GLEWLWYD_SCHEMA = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz"
GLEWLWYD_WEBAPP = "/usr/share/glewlwyd/webapp"
GLEWLWYD_WEBAPP_CONFIG = "/etc/glewlwyd/config-2.7.json/config.json"


def b64url_uint(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(private_key, kid, alg):
    """The JWK (RFC 7517) of `private_key`'s public half."""
    pub = private_key.public_key()
    if isinstance(private_key, rsa.RSAPrivateKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": alg,
                "n": b64url_uint(n.n), "e": b64url_uint(n.e)}
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        n = pub.public_numbers()
        size = 32 if n.curve.name == "secp256r1" else 48
        return {"kty": "EC", "kid": kid, "use": "sig", "alg": alg,
                "crv": "P-256" if size == 32 else "P-384",
                "x": b64url(n.x.to_bytes(size, "big")), "y": b64url(n.y.to_bytes(size, "big"))}
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "kid": kid, "use": "sig", "alg": "EdDSA", "crv": "Ed25519",
            "x": b64url(raw)}


class TokenMinter(Peer):
    """An OIDC issuer at http://127.0.0.1:<port> serving discovery and a JWKS of its current
    keys, and minting tokens directly (no login). Keys: add_key(kid, alg) makes one (RS256,
    PS256, ES256, ES384 or EdDSA); publish= controls whether the JWKS shows it (a rotation is
    add_key + publish). stop() takes the provider away; start() brings it back on the same
    port. `jwks_requests` counts JWKS fetches."""

    def __init__(self, tls=None):
        """tls: (certificate file, key file) to serve HTTPS instead of HTTP."""
        self.base = tempfile.mkdtemp(prefix="mr-minter-")
        # stop() may be followed by start(): the files go when the test process ends.
        atexit.register(shutil.rmtree, self.base, True)
        self.port = free_port()
        self.tls = tls
        self.issuer = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        # RFC 7662: opaque tokens it knows (token -> claims) and the client allowed to ask.
        self.opaque = {}
        self.introspection_client = ("mailroom", "introspection-secret")
        self.introspections = 0
        self.keys = {}        # kid -> (private key, alg)
        self.published = []   # kids in the JWKS
        self.jwks_requests = 0
        self.jwks_delay = 0.0  # seconds the JWKS answer takes (a slow provider)
        self.server = None
        self.thread = None
        self.add_key("k1", "RS256")

    def __repr__(self):
        return f"TokenMinter({self.issuer})"

    def add_key(self, kid, alg, publish=True):
        if alg in ("RS256", "PS256"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "ES384":
            key = ec.generate_private_key(ec.SECP384R1())
        else:
            key = ed25519.Ed25519PrivateKey.generate()
        self.keys[kid] = (key, alg)
        if publish:
            self.published.append(kid)
        return self

    def unpublish(self, kid):
        self.published.remove(kid)

    def jwks(self):
        return {"keys": [public_jwk(self.keys[k][0], k, self.keys[k][1]) for k in self.published]}

    def mint_opaque(self, user="alice", **claims):
        """An opaque access token that only introspection can read."""
        token = uuid.uuid4().hex + uuid.uuid4().hex
        c = self.claims(user, **claims)
        self.opaque[token] = c
        return token

    def public_pem(self, kid="k1"):
        return self.keys[kid][0].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def claims(self, user="alice", **extra):
        now = int(time.time())
        c = {"iss": self.issuer, "sub": f"id-{user}", "aud": "mailroom",
             "email": f"{user}@example.com", "preferred_username": user,
             "scope": "openid email mail", "iat": now, "nbf": now, "exp": now + 600,
             "jti": uuid.uuid4().hex}
        c.update(extra)
        return {k: v for k, v in c.items() if v is not None}

    def mint(self, user="alice", kid="k1", alg=None, headers=None, **claims):
        """A signed token for `user` (claims override the defaults; None removes one)."""
        key, key_alg = self.keys[kid]
        return jwt.encode(self.claims(user, **claims), key, algorithm=alg or key_alg,
                          headers={"kid": kid, "typ": "at+jwt", **(headers or {})})

    def mint_raw(self, header, claims, signature=b""):
        """A token assembled by hand (alg "none", forged HMAC, ...)."""
        h = b64url(json.dumps(header).encode())
        p = b64url(json.dumps(claims).encode())
        return f"{h}.{p}.{b64url(signature)}"

    def start(self):
        minter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": minter.issuer, "jwks_uri": minter.issuer + "/jwks",
                            "token_endpoint": minter.issuer + "/token",
                            "introspection_endpoint": minter.issuer + "/introspect",
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"]}
                elif self.path == "/jwks":
                    minter.jwks_requests += 1
                    time.sleep(minter.jwks_delay)
                    body = minter.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                if self.path != "/introspect":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                user, secret = minter.introspection_client
                expected = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_error(401)
                    return
                minter.introspections += 1
                claims = minter.opaque.get(form.get("token", [""])[0])
                body = {"active": True, **claims} if claims and \
                    claims.get("exp", 0) > time.time() else {"active": False}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Glewlwyd(Peer):
    """Glewlwyd 2.7 on http://127.0.0.1:<port>, its OIDC plugin at issuer <url>/api/oidc.

    Users: `users` maps name -> password (emails name@example.com). Client `mailclient` /
    `clientsecret` may use the password grant; access tokens are RS256 JWTs carrying
    preferred_username and email, with aud = the client id.
    """

    def __init__(self, users=None, base=None, port=None):
        """base/port: a directory kept across runs and a fixed port (make demo-sso); by
        default a temp directory and a free port."""
        self.users = users or {"alice": "alicepw", "bob": "bobpw"}
        self.base = base or tempfile.mkdtemp(prefix="mr-glewlwyd-")
        if not base:  # a throwaway directory goes when the test process ends
            atexit.register(shutil.rmtree, self.base, True)
        os.makedirs(self.base, exist_ok=True)
        self.port = port
        self.proc = None
        self.guard = None
        self.cookies = None
        self.log_path = os.path.join(self.base, "glewlwyd.log")

    def __repr__(self):
        return f"Glewlwyd(127.0.0.1:{self.port})"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self):
        return self.url + "/api/oidc"

    def log(self):
        return read_text(self.log_path)

    def _write_config(self):
        db = os.path.join(self.base, "glewlwyd.db")
        if not os.path.exists(db):
            with gzip.open(GLEWLWYD_SCHEMA, "rt") as f:
                schema = f.read()
            con = sqlite3.connect(db)
            con.executescript(schema)
            con.close()
        web = os.path.join(self.base, "webapp")
        if not os.path.exists(os.path.join(web, "login.html")):
            # The login and consent pages (the web sign-in tests drive them in a browser).
            # Debian's webapp/config.json is a symbolic link to a *directory* and the built-in
            # static server follows no links: copy dereferenced, then the real config.json.
            shutil.copytree(GLEWLWYD_WEBAPP, web, symlinks=False, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("config.json"))
            shutil.copy(GLEWLWYD_WEBAPP_CONFIG, os.path.join(web, "config.json"))
        # Without these the login page is served as application/octet-stream (a download).
        mime_types = ",".join(
            f'{{ extension = "{e}" mime_type = "{t}" }}' for e, t in (
                (".html", "text/html"), (".css", "text/css"), (".js", "application/javascript"),
                (".json", "application/json"), (".png", "image/png"), (".jpg", "image/jpeg"),
                (".svg", "image/svg+xml"), (".woff", "font/woff"), (".woff2", "font/woff2"),
                (".ttf", "font/ttf"), (".ico", "image/x-icon")))
        conf = os.path.join(self.base, "glewlwyd.conf")
        with open(conf, "w") as f:
            f.write(f"""port={self.port}
bind_address="127.0.0.1"
external_url="{self.url}"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="WARNING"
cookie_secure=0
session_expiration=2419200
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
max_post_size=16778240
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
use_secure_connection=false
secure_connection_key_file="/etc/glewlwyd/cert.key"
secure_connection_pem_file="/etc/glewlwyd/cert.pem"
secure_connection_ca_file="/etc/glewlwyd/ca.crt"
hash_algorithm = "SHA512"
database = {{ type = "sqlite3" path = "{db}" }};
static_files_path="{web}/"
static_files_mime_types = ({mime_types})
""")
        return conf

    def _api(self, method, path, body=None, cookies=True):
        req = urllib.request.Request(self.url + "/api" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        if cookies and self.cookies:
            req.add_header("Cookie", self.cookies)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                cookie = r.headers.get("Set-Cookie")
                return r.status, r.read(), cookie
        except urllib.error.HTTPError as e:
            return e.code, e.read(), None

    def start(self):
        fresh = not os.path.exists(os.path.join(self.base, "glewlwyd.db"))
        if self.port is None:
            self.port = free_port()
        conf = self._write_config()
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([GLEWLWYD, "-c", conf], stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        logf.close()
        register(self)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"glewlwyd exited: {self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/config", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"glewlwyd did not start: {self.log()[-3000:]}")
        if fresh:
            self._configure()
        return self

    def _must(self, method, path, body):
        status, out, _ = self._api(method, path, body)
        if status != 200:
            raise RuntimeError(f"glewlwyd {method} {path}: {status} {out[:300]!r}")

    def _configure(self):
        status, out, cookie = self._api("POST", "/auth/", {"username": "admin",
                                                             "password": "password"},
                                        cookies=False)
        if status != 200 or not cookie:
            raise RuntimeError(f"glewlwyd admin login: {status} {out[:300]!r}")
        self.cookies = cookie.split(";", 1)[0]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self._must("POST", "/mod/plugin/", {
            "module": "oidc", "name": "oidc", "display_name": "OIDC", "enabled": True,
            "parameters": {
                "iss": self.issuer, "jwt-type": "rsa", "jwt-key-size": "256", "key": pem,
                "cert": pub, "access-token-duration": 3600, "refresh-token-duration": 86400,
                "code-duration": 600, "refresh-token-rolling": True, "allow-non-oidc": True,
                "auth-type-code-enabled": True, "auth-type-token-enabled": False,
                "auth-type-id-token-enabled": True, "auth-type-none-enabled": False,
                "auth-type-password-enabled": True, "auth-type-client-enabled": True,
                "auth-type-refresh-enabled": True, "auth-type-device-enabled": False,
                "subject-type": "public", "scope": [], "claims": [],
                "name-claim": "mandatory", "email-claim": "mandatory",
                "scope-claim": "mandatory",
                "additional-parameters": [
                    {"user-parameter": "username", "token-parameter": "preferred_username"},
                    {"user-parameter": "email", "token-parameter": "email"}],
                "jwks-show": True, "introspection-revocation-allowed": True,
                "introspection-revocation-auth-scope": [],
                "introspection-revocation-allow-target-client": True,
                "pkce-allowed": True, "request-parameter-allow": False}})
        self._must("POST", "/scope/", {"name": "mail", "display_name": "Mail",
                                      "description": "IMAP, POP3 and SMTP with bearer tokens",
                                      "password_required": True, "password_max_age": 0,
                                      "scheme": {}})
        for name, password in self.users.items():
            self._must("POST", "/user/", {"username": name, "name": name.title(),
                                          "email": f"{name}@example.com", "password": password,
                                          "scope": ["openid", "mail", "g_profile"],
                                          "enabled": True})
        # A client_secret: a hashed client "password" does not verify with SQLite here.
        self._must("POST", "/client/", {
            "client_id": "mailclient", "name": "Mail client", "confidential": True,
            "client_secret": "clientsecret",
            "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
            "redirect_uri": ["http://127.0.0.1:1/cb"],
            "authorization_type": ["code", "password", "client_credentials", "refresh_token"],
            "scope": ["openid", "mail"], "enabled": True})

    def add_client(self, client_id, secret, redirect_uris, scopes=("openid", "mail")):
        """A confidential client of the authorization code flow (the web client's company
        sign-in registers itself like this at a real provider)."""
        self._must("POST", "/client/", {
            "client_id": client_id, "name": client_id, "confidential": True,
            "client_secret": secret,
            "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
            "redirect_uri": list(redirect_uris), "authorization_type": ["code"],
            "scope": list(scopes), "enabled": True})

    def token(self, user, password, scope="openid mail"):
        """An access token by the RFC 6749 password grant, or raises."""
        data = urllib.parse.urlencode({"grant_type": "password", "username": user,
                                       "password": password, "scope": scope}).encode()
        req = urllib.request.Request(self.issuer + "/token", data=data, method="POST")
        req.add_header("Authorization", "Basic " + base64.b64encode(
            b"mailclient:clientsecret").decode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["access_token"]

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            unregister(self)
