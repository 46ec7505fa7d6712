"""Dnsmasq: authoritative test DNS on loopback for outbound tests (see peers.py)."""
import os
import socket
import subprocess
import tempfile
import time

from peers_common import Peer, die_with_parent, free_port, read_text, register, unregister

DNSMASQ = "/usr/sbin/dnsmasq"


class Dnsmasq(Peer):
    """Authoritative DNS for test zones on 127.0.0.1:<port> (UDP and TCP).

    Names under `local_domains` without a record answer NXDOMAIN; a name with records but
    none of the asked type answers NODATA; names elsewhere answer REFUSED (no upstream).
    dnsmasq serves records from its configuration with TTL 0 unless `ttl` is given.

    Records are tuples, added with the methods below (each returns self, so they chain) or
    given as `zone_records`; while running, reload() restarts dnsmasq on the same port with
    the current records (it cannot re-read mx-host/txt-record on SIGHUP).
    """

    def __init__(self, zone_records=(), local_domains=("test",), ttl=None, log_queries=True):
        self.records = list(zone_records)
        self.local_domains = list(local_domains)
        self.ttl = ttl
        self.log_queries = log_queries
        self.base = tempfile.mkdtemp(prefix="mr-dnsmasq-")
        self.conf = os.path.join(self.base, "dnsmasq.conf")
        self.log_path = os.path.join(self.base, "dnsmasq.log")
        self.port = None
        self.proc = None

    def __repr__(self):
        return f"Dnsmasq(127.0.0.1:{self.port})"

    # --- records ---
    def mx(self, domain, host, pref=10):
        self.records.append(("mx", domain, host, pref))
        return self

    def null_mx(self, domain):
        """RFC 7505: "MX 0 ." — the domain accepts no mail."""
        self.records.append(("mx", domain, ".", 0))
        return self

    def host(self, name, *ips):
        """A and AAAA records (and the matching PTR records, as dnsmasq makes them)."""
        for ip in ips:
            self.records.append(("host", name, ip))
        return self

    def txt(self, name, value):
        """A TXT record of one logical string; over 255 octets it is served as several
        character-strings of 255 (as DKIM and SPF records are published), which a reader
        joins."""
        self.records.append(("txt", name, value))
        return self

    def ptr(self, ip, name):
        self.records.append(("ptr", ip, name))
        return self

    def cname(self, alias, target):
        """dnsmasq answers a CNAME only for a target it has a record for."""
        self.records.append(("cname", alias, target))
        return self

    @property
    def server(self):
        """What mailroom.toml's [dns] servers takes."""
        return f"127.0.0.1:{self.port}"

    # --- configuration ---
    @staticmethod
    def _quote(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def _record_line(self, record):
        kind, *args = record
        if kind == "mx":
            domain, host, pref = args
            return f"mx-host={domain},{host},{int(pref)}"
        if kind == "host":
            return f"host-record={args[0]},{args[1]}"
        if kind == "txt":
            name, value = args
            data = value.encode() if isinstance(value, str) else value
            chunks = [data[i:i + 255].decode("utf-8", "surrogateescape")
                      for i in range(0, len(data), 255)] or [""]
            return f"txt-record={name}," + ",".join(self._quote(c) for c in chunks)
        if kind == "ptr":
            ip, name = args
            if ":" in ip:
                raise ValueError("ptr(): IPv6 reverse names are not written here")
            rev = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
            return f"ptr-record={rev},{name}"
        if kind == "cname":
            return f"cname={args[0]},{args[1]}"
        raise ValueError(f"unknown record kind {kind!r}")

    def _write_config(self):
        lines = [
            f"port={self.port}",
            "listen-address=127.0.0.1",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            # As root dnsmasq would switch to `nobody`, which could not write the log here.
            "user=root",
            "group=root",
            f"pid-file={self.base}/dnsmasq.pid",
            f"log-facility={self.log_path}",
            "cache-size=0",
        ]
        if self.log_queries:
            lines.append("log-queries")
        if self.ttl is not None:
            lines.append(f"local-ttl={int(self.ttl)}")
        lines += [f"local=/{d}/" for d in self.local_domains]
        lines += [self._record_line(r) for r in self.records]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    # --- process ---
    def start(self, timeout=10):
        fixed = self.port is not None
        for _ in range(5):
            if not fixed:
                self.port = free_port(udp=True)
            self._write_config()
            self.stderr_path = os.path.join(self.base, "stderr.log")
            with open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(
                    [DNSMASQ, "--keep-in-foreground", f"--conf-file={self.conf}"],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    preexec_fn=die_with_parent)
            register(self)
            deadline = time.time() + timeout
            while time.time() < deadline and self.proc.poll() is None:
                if self._answers():
                    return self
                time.sleep(0.02)
            text = read_text(self.stderr_path) + self.log()
            self.stop()
            if "Address already in use" in text and not fixed:
                continue  # another test took the port between free_port() and the bind
            raise RuntimeError(f"dnsmasq did not start on {self.server}:\n{text[-3000:]}")
        raise RuntimeError("dnsmasq: no free port after 5 tries")

    def _answers(self):
        # A hand-made query (id 0x4d52, RD) for "ready.invalid" A: any answer at all means up.
        query = bytes.fromhex("4d52010000010000000000000572656164790769" "6e76616c69640000010001")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, ("127.0.0.1", self.port))
                return s.recv(512)[:2] == query[:2]
            except OSError:
                return False

    def reload(self, records=None):
        """Restarts dnsmasq on the same port with `records` (or the current list)."""
        if records is not None:
            self.records = list(records)
        if self.proc is None:
            return self.start()
        self.stop()
        return self.start()

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        unregister(self)

    def log(self):
        return read_text(self.log_path)
