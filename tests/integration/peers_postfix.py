"""PostfixPeer: a real Postfix 3.7 as the remote MX of outbound tests (see peers.py).

Postfix facts this relies on (Debian's 3.7, as root):
- `inet_interfaces` must name addresses an interface has: 127.0.0.2 is routed to lo but not
  assigned, so it stays 127.0.0.1 while master.cf's explicit ip:port listeners bind 127.0.0.x.
- Postfix re-reads a configuration or table file changed within the last second, 300 ms at a
  time, in every command and daemon: files are written dated a minute back (_write_settled).
- virtual(8) refuses $1 substitution in regexp/pcre mailbox maps, so there is one Maildir
  for all recipients and each copy carries Delivered-To: <recipient>.
- Commands print errors only to a terminal (else to the log, which has no writer before
  master runs): `postfix check` runs with a pseudo-terminal as stderr.
- master changes its credentials at start, which clears PR_SET_PDEATHSIG: a Guard process
  stops it should this process die.
- On reload, idle smtpd processes exit at once; a session already open keeps the old map.
"""
import os
import pty
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from peers_common import Guard, Peer, free_port, read_text, register, tls_files, \
    unregister, wait_greeting

POSTFIX = "/usr/sbin/postfix"
POSTFIX_DAEMONS = "/usr/lib/postfix/sbin"

MAIN_CF = """\
# A Mailroom test peer (tests/integration/peers.py): the remote MX for {domains}.
compatibility_level = 3.6
config_directory = {base}/etc
queue_directory = {base}/spool
data_directory = {base}/lib
command_directory = /usr/sbin
daemon_directory = {daemons}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = {syslog_name}
maillog_file = {base}/log/postfix.log
maillog_file_prefixes = {base}/log

inet_interfaces = {interfaces}
inet_protocols = {protocols}
myhostname = {hostname}
mydomain = {hostname}
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
# Never resolve or send anything: the peer only receives. Bounces it makes go nowhere.
default_transport = error:this test peer sends no mail
relay_transport = error:this test peer sends no mail
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP
smtputf8_enable = {smtputf8}
message_size_limit = {message_size_limit}
virtual_mailbox_limit = 0

smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# set_access() rewrites this file and reloads.
smtpd_recipient_restrictions = check_recipient_access texthash:{base}/etc/access, permit

# Every recipient of these domains is delivered into the one Maildir <base>/mail/all/, each
# copy with "Delivered-To: <recipient>" on top. (A Maildir per address would need a map with
# $1 substitution, which virtual(8) refuses for security.)
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {base}/mail
virtual_mailbox_maps = static:all/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}

smtpd_tls_security_level = {tls_level}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
"""

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{listeners}
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_instances = iter(range(1, 1 << 30))


class PostfixPeer(Peer):
    """A real Postfix 3.7 under a temp dir, the remote MX for `domains`.

    listen: [(ip, port[, {main.cf parameter: value}])...]; a port of None means the one free
    port this peer picks, shared by every listener given None, so 127.0.0.2, 127.0.0.3, ...
    on one port act as several MX hosts. The dict becomes "-o name=value" for that listener,
    e.g. {"smtpd_discard_ehlo_keywords": "8bitmime"} for a peer without 8BITMIME.

    Every recipient in `domains` is accepted and delivered (by the `virtual` agent) into the
    Maildir <base>/mail/all/ (messages(address) picks by Delivered-To), unless the access map
    (`access`, set_access()) says otherwise: {"x@b.test": "450 4.2.0 try later",
    "y@b.test": "550 5.1.1 no such user"}. smtpd keeps the code and enhanced code and words
    the rest itself: "450 4.2.0 <x@b.test>: Recipient address rejected: try later".

    tls: STARTTLS offered (smtpd_tls_security_level = may) with the harness's test
    certificate, or one for `tls_names`; the Received: header names the TLS version and
    cipher a client used. smtputf8, message_size_limit: the main.cf parameters. main_cf:
    more main.cf parameters. The process runs as root; mail is written as `mail_user`.
    stop() then start() again keeps the queue, the mail and the ports.
    """

    def __init__(self, domains, listen=None, tls=True, smtputf8=True,
                 message_size_limit=10240000, hostname=None, access=None, main_cf=None,
                 mail_user="nobody", tls_names=None):
        self.domains = [domains] if isinstance(domains, str) else list(domains)
        self.tls = tls
        self.smtputf8 = smtputf8
        self.message_size_limit = message_size_limit
        self.hostname = hostname or f"mx.{self.domains[0]}"
        self.access = dict(access or {})
        self.main_cf = dict(main_cf or {})  # extra main.cf parameters
        self.mail_user = mail_user
        self.tls_names = tls_names
        self.syslog_name = f"postfix-peer{next(_instances)}-{os.getpid()}"
        self.base = tempfile.mkdtemp(prefix="mr-postfix-")
        self.etc = os.path.join(self.base, "etc")
        self.maildir_base = os.path.join(self.base, "mail")
        self.log_path = os.path.join(self.base, "log", "postfix.log")
        self.proc = None
        entries = [tuple(e) for e in (listen or [("127.0.0.1", None)])]
        shared = [ip for ip, port, *_ in entries if port is None]
        port = free_port(tuple(shared)) if shared else None
        self.listeners = [(ip, p if p is not None else port, (opts[0] if opts else {}))
                          for ip, p, *opts in entries]

    def __repr__(self):
        return f"PostfixPeer({self.hostname} on {self.addresses})"

    @property
    def port(self):
        """The port of the first listener (all of them, when the ports were chosen here)."""
        return self.listeners[0][1]

    @property
    def addresses(self):
        return [(ip, port) for ip, port, _ in self.listeners]

    # --- configuration ---
    def _write_config(self):
        ips = sorted({ip for ip, _, _ in self.listeners})
        self.ca, self.cert, self.key = tls_files(os.path.join(self.base, "tls"), self.tls_names)
        pw = pwd.getpwnam(self.mail_user)
        values = dict(
            base=self.base, daemons=POSTFIX_DAEMONS, syslog_name=self.syslog_name,
            # Postfix refuses an inet_interfaces address that no interface has (127.0.0.2 is
            # routed to lo, not assigned); master.cf's explicit ip:port binds it regardless.
            interfaces="127.0.0.1" + (", [::1]" if any(":" in ip for ip in ips) else ""),
            protocols="all" if any(":" in ip for ip in ips) else "ipv4",
            hostname=self.hostname, domains=", ".join(self.domains),
            smtputf8="yes" if self.smtputf8 else "no",
            message_size_limit=self.message_size_limit or 0,
            uid=pw.pw_uid, gid=pw.pw_gid, tls_level="may" if self.tls else "none",
            cert=self.cert, key=self.key)
        main = MAIN_CF.format(**values)
        main += "".join(f"{k} = {v}\n" for k, v in self.main_cf.items())
        lines = []
        for ip, port, opts in self.listeners:
            endpoint = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
            lines.append(f"{endpoint} inet n - n - - smtpd")
            for k, v in opts.items():
                if any(c.isspace() for c in str(v)):  # master.cf: "-o { name = value }"
                    lines.append(f"  -o {{ {k} = {v} }}")
                else:
                    lines.append(f"  -o {k}={v}")
        _write_settled(os.path.join(self.etc, "main.cf"), main)
        _write_settled(os.path.join(self.etc, "master.cf"),
                       MASTER_CF.format(listeners="\n".join(lines)))
        self._write_access()

    def _write_access(self):
        _write_settled(os.path.join(self.etc, "access"),
                       "".join(f"{key} {action}\n" for key, action in self.access.items()))

    def postfix(self, *args, check=True):
        """Runs `postfix -c <etc> ARGS`; returns the CompletedProcess."""
        # Postfix commands print their errors only to a terminal (else only to the log, which
        # has no writer before master runs): stderr is a pseudo-terminal here.
        master_fd, slave_fd = pty.openpty()
        try:
            p = subprocess.run([POSTFIX, "-c", self.etc, *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=slave_fd, timeout=60)
            os.close(slave_fd)
            slave_fd = None
            err = b""
            while True:
                try:
                    chunk = os.read(master_fd, 4096)
                except OSError:  # EIO: the writer side is closed and drained
                    break
                if not chunk:
                    break
                err += chunk
        finally:
            if slave_fd is not None:
                os.close(slave_fd)
            os.close(master_fd)
        p.stderr = err.decode("utf-8", "replace").replace("\r\n", "\n")
        p.stdout = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed ({p.returncode}): "
                               f"{p.stdout}{p.stderr}\n{self.log()[-3000:]}")
        return p

    # --- process ---
    def start(self, timeout=20):
        # Unprivileged Postfix processes traverse these; the delivery user writes mail/.
        os.chmod(self.base, 0o755)
        for d in ("etc", "spool", "lib", "mail", "log"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        shutil.chown(os.path.join(self.base, "lib"), "postfix")
        shutil.chown(self.maildir_base, self.mail_user)
        self._write_config()
        # `postfix check` also creates the queue directories with their owners and modes.
        p = self.postfix("check")
        if p.stdout.strip() or p.stderr.strip():
            raise RuntimeError(f"postfix check complained:\n{p.stdout}{p.stderr}")
        # master itself rather than `postfix start` (which forks it into the background):
        # as our child it can be waited for; a Guard stops it should this process die.
        with open(os.path.join(self.base, "log", "master.stderr"), "ab") as err:
            self.proc = subprocess.Popen(
                [os.path.join(POSTFIX_DAEMONS, "master"), "-c", self.etc],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        self.guard = Guard(self.proc.pid, self.etc)
        register(self)
        deadline = time.time() + timeout
        for ip, port, _ in self.listeners:
            if not wait_greeting(ip, port, deadline) or self.proc.poll() is not None:
                self.stop()
                err = read_text(os.path.join(self.base, "log", "master.stderr"))
                raise RuntimeError(f"postfix did not answer on {ip}:{port}: {err}\n"
                                   f"{self.log()[-3000:]}")
        return self

    def _children(self):
        """PIDs in master's process group (master leads it: setsid)."""
        pids = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) != self.proc.pid:
                try:
                    if os.getpgid(int(name)) == self.proc.pid:
                        pids.append(int(name))
                except ProcessLookupError:
                    pass
        return pids

    def stop(self, timeout=10):
        """`postfix stop` (SIGTERM to master, which passes it on to its children), then waits
        for master and every child to exit; SIGTERM/SIGKILL by PID should that not do it."""
        proc = self.proc
        if proc is None:
            unregister(self)
            return
        children = self._children()
        if proc.poll() is None:
            if self.postfix("stop", check=False).returncode != 0:
                proc.terminate()  # e.g. master had not written its PID file yet
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        deadline = time.time() + timeout
        for pid in children:
            while _alive(pid) and time.time() < deadline:
                time.sleep(0.02)
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.guard.release()
        self.proc = None
        unregister(self)

    # --- the access map ---
    def set_access(self, access):
        """Replaces the recipient access map ({key: action}: an address, domain or
        "localpart@" to e.g. "450 4.2.0 try later" / "550 5.1.1 no such user" / "OK") and
        reloads Postfix. Returns when a new SMTP session sees the new map: the reload is in
        the log and an RCPT probe of each changed address answers as the new action says."""
        old, self.access = self.access, dict(access)
        self._write_access()
        if self.proc is None:
            return
        reloads = self.log().count("reload -- version")
        self.postfix("reload")
        deadline = time.time() + 20
        while self.log().count("reload -- version") <= reloads:
            if time.time() > deadline:
                raise RuntimeError("postfix reload did not show in the log:\n" + self.log())
            time.sleep(0.02)
        changed = {k for k in set(old) | set(self.access) if old.get(k) != self.access.get(k)}
        for key in changed:
            want = _expected_code(self.access.get(key))
            if "@" not in key or key.endswith("@") or want is None:
                continue
            while self.probe(key) != want:
                if time.time() > deadline:
                    raise RuntimeError(f"RCPT {key} does not answer {want} after the reload")
                time.sleep(0.05)

    def probe(self, recipient):
        """The reply code to RCPT TO:<recipient> in a session of its own (no message)."""
        ip, port, _ = self.listeners[0]
        with socket.create_connection((ip, port), timeout=10) as s:
            f = s.makefile("rb")

            def reply():
                while True:
                    line = f.readline()
                    if not line or line[3:4] != b"-":
                        return int(line[:3] or 0)
            reply()
            for cmd in ("EHLO probe.invalid", "MAIL FROM:<probe@peers.invalid>",
                        f"RCPT TO:<{recipient}>"):
                s.sendall(cmd.encode() + b"\r\n")
                code = reply()
            s.sendall(b"QUIT\r\n")
            return code

    # --- what arrived ---
    def deliveries(self):
        """[(recipient, message bytes)] of every delivered copy, oldest first. The recipient
        is Delivered-To as Postfix wrote it (the address lowercased); the bytes are the file
        as stored, with Postfix's Return-Path and Delivered-To on top."""
        found = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir_base, "all", sub)
            for fn in os.listdir(d) if os.path.isdir(d) else []:
                full = os.path.join(d, fn)
                try:
                    found.append((os.stat(full).st_mtime_ns, fn, full))
                except FileNotFoundError:  # moved from new/ to cur/ meanwhile
                    pass
        out = []
        for _, _, full in sorted(found):
            with open(full, "rb") as f:
                data = f.read()
            m = re.search(rb"^Delivered-To: *([^\r\n]*)", data.split(b"\n\n", 1)[0], re.M)
            out.append((m.group(1).decode("utf-8", "replace") if m else "", data))
        return out

    def messages(self, address=None):
        """Delivered messages (bytes), oldest first; only the copies for `address`
        (case-insensitive) if given."""
        want = address.lower() if address is not None else None
        return [data for rcpt, data in self.deliveries()
                if want is None or rcpt.lower() == want]

    def wait_for(self, count, address=None, timeout=30):
        """Waits until at least `count` messages (of `address`) are delivered; returns them."""
        deadline = time.time() + timeout
        while True:
            got = self.messages(address)
            if len(got) >= count:
                return got
            if time.time() > deadline:
                raise AssertionError(f"{self!r}: {len(got)} of {count} messages for "
                                     f"{address or 'anyone'} after {timeout} s\n"
                                     f"{self.log()[-4000:]}")
            time.sleep(0.05)

    def log(self):
        return read_text(self.log_path)


def _write_settled(path, text):
    """Writes a Postfix configuration or table file (atomically) dated a minute back: Postfix
    re-reads a file changed within the last second, 300 ms at a time, until it has settled
    (six rounds for main.cf alone, in every Postfix command and daemon)."""
    with open(path + ".new", "w") as f:
        f.write(text)
    past = time.time() - 60
    os.utime(path + ".new", (past, past))
    os.rename(path + ".new", path)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (parent not yet reaped it) is as good as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _expected_code(action):
    """The RCPT reply code smtpd gives for an access map action; None if not predictable."""
    if action is None:
        return 250
    m = re.match(r"\s*([245]\d\d)\b", action)
    if m:
        return int(m.group(1))
    word = action.split()[0].upper() if action.split() else ""
    return {"OK": 250, "DUNNO": 250, "PERMIT": 250, "REJECT": 554, "DEFER": 450,
            "DEFER_IF_PERMIT": 450, "DISCARD": 250, "HOLD": 250}.get(word)
