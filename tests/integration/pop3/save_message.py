"""MDA for fetchmail/getmail6 in the POP3 client tests: stores stdin, byte for byte, as the
next numbered file of the directory given as argument."""
import os
import sys

out_dir = sys.argv[1]
data = sys.stdin.buffer.read()
n = len(os.listdir(out_dir))
tmp = os.path.join(out_dir, ".tmp-%d" % os.getpid())
with open(tmp, "wb") as f:
    f.write(data)
os.rename(tmp, os.path.join(out_dir, "%06d.eml" % n))
