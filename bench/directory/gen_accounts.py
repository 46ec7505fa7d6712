#!/usr/bin/env python3
"""Writes an import file for `mailroomctl user import --file F --create-domains`:
N accounts userNNNNNN@<domain> with {SSHA512} hashes of "pass" (salted per user), display
names, and a 1 GiB quota. Usage: gen_accounts.py N [domain] > accounts.tsv"""
import base64
import hashlib
import os
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
domain = sys.argv[2] if len(sys.argv) > 2 else "example.com"
out = sys.stdout
for i in range(n):
    salt = os.urandom(8)
    digest = hashlib.sha512(b"pass" + salt).digest()
    h = "{SSHA512}" + base64.b64encode(digest + salt).decode()
    out.write(f"user{i:06d}@{domain}\t{h}\tUser {i}\t1G\n")
