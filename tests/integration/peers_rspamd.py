"""rspamd (Debian's 3.4) and the redis-server its Bayes classifier keeps what it learns in, on
free loopback ports with a private local configuration, for the spam tests (tests/integration/
filter). rspamd takes ~15 s to start (it compiles its regular expressions): start it once per
test module.

    with Rspamd() as r:
        r.url              # the normal worker: POST /checkv2
        r.controller_url   # the controller: /learnspam, /learnham, /stat
        r.learned()        # the controller's count of learned messages

The system configuration (/etc/rspamd) is used with $LOCAL_CONFDIR, $DBDIR, $RUNDIR and
$LOGDIR pointed into a temp dir, so nothing of the machine's rspamd is read or written. Offline:
DNS goes to a port nobody answers (RBLs and SPF time out fast), modules that only ask the
network or would greylist are off, and one test rule (MAILROOM_TEST_SPAMMY, 8 points for a
Subject holding "MAILROOM-SPAMMY") gives a mid score that depends on nothing else.
As root rspamd runs as _rspamd (it refuses root); the temp dir is given to that user.
"""
import json
import os
import pwd
import subprocess
import tempfile
import time
import urllib.request

from peers_common import Peer, die_with_parent, free_port, read_text, register, unregister

RSPAMD = "/usr/bin/rspamd"
REDIS = "/usr/bin/redis-server"

# Modules that only query the network (they would wait for DNS timeouts) or act on their own
# (greylisting answers "soft reject" for mid scores; ratelimit counts in redis).
OFF_MODULES = ("rbl", "fuzzy_check", "asn", "greylist", "ratelimit", "replies", "neural",
               "dcc", "mx_check", "url_redirector", "phishing", "reputation", "history_redis")

TEST_RULE = """\
rspamd_config.MAILROOM_TEST_SPAMMY = {
  callback = function(task)
    local s = task:get_header('Subject')
    return s ~= nil and string.find(s, 'MAILROOM-SPAMMY', 1, true) ~= nil
  end,
  score = 8.0,
  description = 'Mailroom test rule: a mid score on demand',
  group = 'mailroom_test',
}
"""


def available():
    return os.path.exists(RSPAMD) and os.path.exists(REDIS)


class Rspamd(Peer):
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="mr-rspamd-")
        self.local = os.path.join(self.base, "local")
        self.log_path = os.path.join(self.base, "log", "rspamd.log")
        self.proc = None
        self.redis = None
        self.ports = {}

    def __repr__(self):
        return f"Rspamd(normal={self.ports.get('normal')})"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.ports['normal']}"

    @property
    def controller_url(self):
        return f"http://127.0.0.1:{self.ports['controller']}"

    def _write(self, rel, text):
        path = os.path.join(self.local, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def _configure(self):
        for d in ("local/local.d", "db", "run", "log", "redis"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        p = self.ports
        self._write("local.d/worker-normal.inc", f'bind_socket = "127.0.0.1:{p["normal"]}";\n')
        self._write("local.d/worker-controller.inc",
                    f'bind_socket = "127.0.0.1:{p["controller"]}";\nsecure_ip = "127.0.0.1";\n')
        self._write("local.d/worker-proxy.inc", f'bind_socket = "127.0.0.1:{p["proxy"]}";\n')
        self._write("local.d/worker-fuzzy.inc", "enabled = false;\n")
        self._write("local.d/logging.inc",
                    f'type = "file";\nfilename = "{self.log_path}";\nlevel = "info";\n')
        self._write("local.d/redis.conf", f'servers = "127.0.0.1:{p["redis"]}";\n')
        # Bayes in redis, classifying from the first lesson (the default waits for 200).
        self._write("local.d/classifier-bayes.conf",
                    'backend = "redis";\nmin_learns = 1;\nautolearn = false;\n')
        self._write("local.d/options.inc",
                    'dns {\n  nameserver = ["127.0.0.1:9"];\n  timeout = 0.1s;\n'
                    '  retransmits = 1;\n}\n')
        for module in OFF_MODULES:
            self._write(f"local.d/{module}.conf", "enabled = false;\n")
        self._write("rspamd.local.lua", TEST_RULE)

    def start(self):
        self.ports = {name: free_port() for name in ("normal", "controller", "proxy", "redis")}
        self._configure()
        as_root = os.geteuid() == 0
        if as_root:
            user = pwd.getpwnam("_rspamd")
            for root, dirs, files in os.walk(self.base):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
            os.chown(self.base, user.pw_uid, user.pw_gid)
        redis_log = open(os.path.join(self.base, "redis.log"), "ab")
        self.redis = subprocess.Popen(
            [REDIS, "--port", str(self.ports["redis"]), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", os.path.join(self.base, "redis")],
            stdout=redis_log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        redis_log.close()
        cmd = [RSPAMD, "-f", "-c", "/etc/rspamd/rspamd.conf",
               f"--var=LOCAL_CONFDIR={self.local}", f"--var=DBDIR={self.base}/db",
               f"--var=RUNDIR={self.base}/run", f"--var=LOGDIR={self.base}/log"]
        if as_root:
            cmd[2:2] = ["-u", "_rspamd", "-g", "_rspamd"]
        out = open(os.path.join(self.base, "stdout.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent)
        out.close()
        register(self)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rspamd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self._get(self.url + "/ping").strip() == b"pong" and \
                        self._get(self.controller_url + "/ping").strip() == b"pong":
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("rspamd did not become ready:\n" + self.log()[-4000:])

    @staticmethod
    def _get(url, timeout=5):
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()

    def check(self, message, **headers):
        """POST /checkv2 directly (for comparisons in tests); the JSON answer."""
        req = urllib.request.Request(self.url + "/checkv2", data=message, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stat(self):
        return json.loads(self._get(self.controller_url + "/stat"))

    def learned(self):
        return self.stat()["learned"]

    def log(self):
        return read_text(self.log_path) + read_text(os.path.join(self.base, "stdout.log"))

    def stop(self):
        for name in ("proc", "redis"):
            proc = getattr(self, name)
            setattr(self, name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        unregister(self)
