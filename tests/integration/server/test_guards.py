"""The test harness's guards can fail (issue 23): an injected leak in mailroomd fails the test
through the harness (exit status after SIGTERM) and, independently, through
tests/run_pytests.py (the sanitizer report directory); a skipped test is reported as skipped,
and fails under CI. The TLS 1.1 guard has its positive control in test_server.py."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import ROOT, Mailroom

RUNNER = os.path.join(ROOT, "tests", "run_pytests.py")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guard_fixtures")


def run_fixture(case, module, **env):
    """Runs a fixture module through the runner, with its own sanitizer and report dirs
    (removed when `case` ends)."""
    scratch = tempfile.mkdtemp(prefix="mailroom-guard-")
    case.addCleanup(shutil.rmtree, scratch, True)
    e = dict(os.environ)
    e.update({"MAILROOM_SANITIZER_DIR": os.path.join(scratch, "san"),
              "MAILROOM_TEST_REPORT_DIR": os.path.join(scratch, "reports"),
              "MAILROOM_TEST_NAME": module,
              "ASAN_OPTIONS": f"detect_leaks=1:abort_on_error=1:log_path={scratch}/san/asan",
              "UBSAN_OPTIONS": f"halt_on_error=1:log_path={scratch}/san/ubsan",
              "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "tests", "integration"),
                                             FIXTURES])})
    e.pop("CI", None)
    e.pop("MAILROOM_TEST_STRICT", None)
    e.update(env)
    p = subprocess.run([sys.executable, RUNNER, module], cwd=FIXTURES, env=e,
                       capture_output=True, text=True, timeout=300)
    return p, scratch


class GuardsTest(unittest.TestCase):
    def test_injected_leak_fails_the_harness_stop(self):
        san = tempfile.mkdtemp(prefix="mailroom-guard-san-")
        self.addCleanup(shutil.rmtree, san, True)
        m = Mailroom(listeners={"smtp": ("smtp", "none")})
        # Both: with Clang's runtime the last-parsed log_path (UBSan's) names the report file.
        env = dict(os.environ, MAILROOM_TEST_INJECT_LEAK="1",
                   ASAN_OPTIONS=f"detect_leaks=1:abort_on_error=1:log_path={san}/asan",
                   UBSAN_OPTIONS=f"halt_on_error=1:log_path={san}/ubsan")
        m.start(env=env)
        with self.assertRaises(AssertionError) as e:
            m.stop()
        self.assertIn("after SIGTERM", str(e.exception))
        reports = glob.glob(os.path.join(san, "*san.*"))
        self.assertTrue(reports)
        with open(reports[0]) as f:
            self.assertIn("ERROR: LeakSanitizer", f.read())
        m.close()

    def test_same_start_without_the_leak_passes(self):
        """The control: the same server, stopped the same way, is clean."""
        m = Mailroom(listeners={"smtp": ("smtp", "none")})
        m.start()
        self.assertEqual(m.stop(), 0)
        m.close()

    def test_runner_fails_on_a_report_the_harness_did_not_see(self):
        p, scratch = run_fixture(self, "leaky_test")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("sanitizer report", p.stdout)
        self.assertIn("LeakSanitizer", p.stdout)

    def test_skips_are_reported_and_fail_under_ci(self):
        p, scratch = run_fixture(self, "skipping_test")
        self.assertEqual(p.returncode, 77, p.stdout + p.stderr)  # ctest: "Skipped"
        with open(os.path.join(scratch, "reports", "skipping_test.skips")) as f:
            self.assertIn("a tool this machine lacks", f.read())
        p, _ = run_fixture(self, "skipping_test", CI="true")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("not on the allow-list", p.stdout)


if __name__ == "__main__":
    unittest.main()
