#!/usr/bin/python3
"""IMAP logins per second on one mailroomd: bearer tokens (SASL OAUTHBEARER, RS256 and ES256
JWTs checked with a warm key cache) against passwords (LOGIN; the default argon2id hash that
`mailroomctl user add` stores, and {SSHA512} as Dovecot's benches use), in the same run, with
the same load generator (bench/imap/imap_load.cpp, mode `logins`: connect, one login command,
LOGOUT, over and over from --clients concurrent clients). Then the key refresh off the hot
path: the same OAUTHBEARER load while the provider's JWKS is re-fetched every second and
takes 0.5 s to answer, against a refresh interval of an hour; p99 login latency of both.

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/sso/login_bench.py \\
        --bin build/release/bin [--seconds 15] [--clients 16] [--users 200]

The identity provider is tests/integration/peers_oidc.py's TokenMinter (HTTP on loopback).
Plain-text logins on loopback are allowed (no TLS): the bench measures authentication, not
TLS handshakes. Prints one JSON line per measurement and a summary.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import Mailroom  # noqa: E402
from peers_oidc import TokenMinter  # noqa: E402


def sso_config(issuer, refresh_interval):
    return f"""
[sso]
allow_http = true
refresh_interval = "{refresh_interval}"
[[sso.issuer]]
issuer = "{issuer}"
audiences = ["mailroom"]
required_scope = "mail"
claim = "email"
"""


def oauthbearer_line(user, token):
    msg = f"n,a={user},\x01auth=Bearer {token}\x01\x01".encode()
    return "AUTHENTICATE OAUTHBEARER " + base64.b64encode(msg).decode()


def run_load(bin_dir, port, pid, lines, seconds, clients):
    with tempfile.NamedTemporaryFile("w", suffix=".auth", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        p = subprocess.run([os.path.join(bin_dir, "imap_load"), "logins", "--port", str(port),
                            "--auth-file", path, "--clients", str(clients), "--seconds",
                            str(seconds), "--pid", str(pid)],
                           capture_output=True, text=True, timeout=seconds + 120)
    finally:
        os.unlink(path)
    if p.returncode != 0 and not p.stdout.strip():
        raise RuntimeError(f"imap_load failed: {p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def start_server(a, idp, refresh_interval):
    os.environ["MAILROOM_BIN"] = os.path.abspath(a.bin)
    m = Mailroom(extra_config=sso_config(idp.issuer, refresh_interval),
                 auth_config="max_failures_per_ip = 1000000\n"
                             "max_failures_per_account = 100000")
    # The harness logs at debug level for tests; a bench logs what a production server does.
    with open(m.config_path) as f:
        text = f.read()
    with open(m.config_path, "w") as f:
        f.write(text.replace('level = "debug"', 'level = "info"'))
    m.seed_demo()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/release/bin")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--users", type=int, default=200)
    a = ap.parse_args()

    idp = TokenMinter().add_key("ec1", "ES256").start()
    results = {}
    m = start_server(a, idp, "1h")
    try:
        users = add_users(m, "user", a.users, scheme="argon2id")
        ssha = add_users(m, "ssha", a.users, scheme="ssha512")
        m.start()
        pid = m.proc.pid
        loads = {
            "password_argon2id": [f"LOGIN {u} pass{i}" for i, u in enumerate(users, 1)],
            "password_ssha512": [f"LOGIN {u} pass{i}" for i, u in enumerate(ssha, 1)],
            "oauthbearer_rs256": [oauthbearer_line(u, idp.mint(u.split("@")[0], kid="k1"))
                                  for u in users],
            "oauthbearer_es256": [oauthbearer_line(u, idp.mint(u.split("@")[0], kid="ec1"))
                                  for u in users],
        }
        # A short warm-up of each (first key use, caches, page faults).
        for name, lines in loads.items():
            run_load(a.bin, m.port("imap"), pid, lines, 2, a.clients)
        for name, lines in loads.items():
            r = run_load(a.bin, m.port("imap"), pid, lines, a.seconds, a.clients)
            r["load"] = name
            results[name] = r
            print(json.dumps(r), flush=True)
    finally:
        m.close()

    # Refresh off the hot path: the JWKS answers in 0.5 s and is fetched every second.
    idp.jwks_delay = 0.5
    m = start_server(a, idp, "1s")
    try:
        users = add_users(m, "user", a.users, scheme="ssha512")
        m.start()
        lines = [oauthbearer_line(u, idp.mint(u.split("@")[0], kid="k1")) for u in users]
        before = idp.jwks_requests
        run_load(a.bin, m.port("imap"), m.proc.pid, lines, 2, a.clients)
        r = run_load(a.bin, m.port("imap"), m.proc.pid, lines, a.seconds, a.clients)
        r["load"] = "oauthbearer_rs256_jwks_refetched_every_1s"
        r["jwks_fetches_during_run"] = idp.jwks_requests - before
        results[r["load"]] = r
        print(json.dumps(r), flush=True)
    finally:
        m.close()
        idp.close()

    base = results["password_argon2id"]["logins_per_s"]
    ssha_rate = results["password_ssha512"]["logins_per_s"]
    print("\nsummary (logins/s, p99 ms):")
    for name, r in results.items():
        print(f"  {name:45s} {r['logins_per_s']:8.1f}/s  p50 {r['p50_ms']:6.2f}  "
              f"p99 {r['p99_ms']:6.2f}  errors {r['errors']}  "
              f"x{r['logins_per_s'] / base:5.2f} of argon2id  "
              f"x{r['logins_per_s'] / ssha_rate:5.2f} of SSHA512")


def add_users(m, prefix, count, scheme):
    """prefix1..prefixN@example.com with passwords pass1..passN, in one `user import`; argon2id
    hashes come from `mailroomctl password hash`, as `user add --password` would make them."""
    lines = []
    for i in range(1, count + 1):
        if scheme == "ssha512":
            h = ssha512(f"pass{i}")
        else:
            h = m.ctl("password", "hash", input=f"pass{i}\n",
                      json_output=False).stdout.strip()
        lines.append(f"{prefix}{i}@example.com\t{h}")
    path = os.path.join(m.base, f"{prefix}.tsv")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    m.ctl("user", "import", "--file", path, json_output=False)
    return [f"{prefix}{i}@example.com" for i in range(1, count + 1)]


def ssha512(password, salt=b"mrbench1"):
    import hashlib
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


if __name__ == "__main__":
    main()
