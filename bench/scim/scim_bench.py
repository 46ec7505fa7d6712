#!/usr/bin/python3
"""SCIM 2.0 at scale (issue 17): the lookup Entra ID and Okta make before every create,
`GET /scim/v2/Users?filter=userName eq "..."`, over a directory of ACCOUNTS accounts (p50 /
p99 over LOOKUPS random users, one keep-alive connection), and bulk creation of CREATES users
through `POST /scim/v2/Users` (users/s, CLIENTS keep-alive connections in parallel; no
password, as the clients provision SSO users, so no argon2 cost per user).

    /usr/bin/python3 bench/scim/scim_bench.py --bin build/release/bin \
        [--accounts 200000] [--lookups 2000] [--creates 10000] [--clients 4]

The accounts are seeded with `mailroomctl user import` (bench/directory/gen_accounts.py);
mailroomd runs with one plain HTTP listener on loopback, from the integration harness.
A scan filter (`userName co "..."`, no index) is timed too, a few times, as the contrast.
"""
import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "api"))


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--accounts", type=int, default=200000)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--creates", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--scans", type=int, default=3, help="scan filters to time (0: none)")
    args = ap.parse_args()
    os.environ["MAILROOM_BIN"] = os.path.abspath(args.bin)
    from api_common import admin_token, api_server  # noqa: E402

    m = api_server()
    try:
        imp = os.path.join(m.base, "accounts.tsv")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "directory", "gen_accounts.py"),
                        str(args.accounts), "example.com", "--out", imp], check=True)
        t0 = time.perf_counter()
        # not m.ctl(): its 120 s timeout is for tests; a debug build imports slower
        subprocess.run([os.path.join(args.bin, "mailroomctl"), "--config", m.config_path, "user",
                        "import", "--file", imp, "--create-domains"], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"seeded {args.accounts} accounts in {time.perf_counter() - t0:.1f} s")
        token = admin_token(m)
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
        port = m.port("http")

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        lat = []
        for _ in range(args.lookups):
            user = f"user{random.randrange(args.accounts):06d}@example.com"
            path = "/scim/v2/Users?filter=" + urllib.parse.quote(f'userName eq "{user}"', safe="")
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            lat.append(time.perf_counter() - t)
            assert r.status == 200 and json.loads(body)["totalResults"] == 1, body[:200]
        print(f"GET /Users?filter=userName eq (indexed), {args.accounts} accounts, "
              f"{args.lookups} lookups: p50 {percentile(lat, 50) * 1000:.2f} ms, "
              f"p99 {percentile(lat, 99) * 1000:.2f} ms, mean {statistics.mean(lat) * 1000:.2f} ms")
        scan = []
        conn.timeout = 900
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        for _ in range(args.scans):
            path = "/scim/v2/Users?count=10&filter=" + urllib.parse.quote('userName co "99999"',
                                                                          safe="")
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            scan.append(time.perf_counter() - t)
        print(f"GET /Users?filter=userName co (scan of {args.accounts}): "
              f"{statistics.median(scan):.2f} s" if scan else "skipped")
        conn.close()

        per = args.creates // args.clients
        errors = []

        def create(k):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for i in range(per):
                name = f"scim{k:02d}x{i:06d}@example.com"
                body = json.dumps({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name, "externalId": f"ext-{k}-{i}", "active": True,
                    "displayName": f"SCIM user {k}/{i}",
                    "emails": [{"value": name, "type": "work", "primary": True}],
                    "name": {"givenName": "Bench", "familyName": f"{k}-{i}"}})
                c.request("POST", "/scim/v2/Users", body=body, headers=headers)
                r = c.getresponse()
                r.read()
                if r.status != 201:
                    errors.append(r.status)
            c.close()

        threads = [threading.Thread(target=create, args=(k,)) for k in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.perf_counter() - t0
        total = per * args.clients
        print(f"POST /Users: {total} users with {args.clients} clients in {dt:.1f} s = "
              f"{total / dt:.0f} users/s (errors: {len(errors)})")
    finally:
        m.close()


if __name__ == "__main__":
    main()
