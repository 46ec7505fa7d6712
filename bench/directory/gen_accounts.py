#!/usr/bin/python3
"""Writes an import file for `mailroomctl user import --file F --create-domains` (used by
bench/directory/startup.sh): N accounts user<NNNNNN>@<domain> whose password is "pass",
{SSHA512} hashes salted per user, display names and a 1 GiB quota.

    gen_accounts.py [N] [domain] [--domains K] [--out FILE]     (defaults 200000 example.com)

With --domains K > 1 the accounts are spread over d0.<domain> ... d<K-1>.<domain>.
Format (one account per line, tab-separated), as `user import` reads it:
    address <TAB> {SSHA512}hash <TAB> display name <TAB> quota
{SSHA512} is cheap to create in bulk (200,000 in about a second); real deployments keep
{ARGON2ID}, which costs ~20 ms per user to create.
"""
import argparse
import base64
import hashlib
import os
import sys


def ssha512(password: bytes) -> str:
    salt = os.urandom(8)
    return "{SSHA512}" + base64.b64encode(hashlib.sha512(password + salt).digest() + salt).decode()


def main() -> int:
    ap = argparse.ArgumentParser(description="accounts for mailroomctl user import")
    ap.add_argument("count", nargs="?", type=int, default=200000, help="number of accounts")
    ap.add_argument("domain", nargs="?", default="example.com", help="mail domain")
    ap.add_argument("--domains", type=int, default=1, help="spread over K sub-domains d<k>.<domain>")
    ap.add_argument("--password", default="pass", help='password of every account ("pass")')
    ap.add_argument("--quota", default="1G", help="quota per account (0 = unlimited)")
    ap.add_argument("--out", default="-", help="output file ('-' = stdout)")
    args = ap.parse_args()
    if args.count < 0 or args.domains < 1:
        ap.error("count must be >= 0 and --domains >= 1")
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    pw = args.password.encode()
    try:
        for i in range(args.count):
            domain = args.domain if args.domains == 1 else f"d{i % args.domains}.{args.domain}"
            out.write(f"user{i:06d}@{domain}\t{ssha512(pw)}\tUser {i}\t{args.quota}\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
