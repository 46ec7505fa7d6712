"""Runs Python test modules for ctest and turns what unittest lets pass into failures:

- A sanitizer report from any process the tests started (mailroomd, mailroomctl, the drivers):
  ctest gives each test ASAN_OPTIONS/UBSAN_OPTIONS with log_path under
  $MAILROOM_SANITIZER_DIR, so every report lands in a file there whoever started the process
  and wherever its stderr went; any such file fails the test.
- Skips: unittest exits 0 when tests skip. Here a file whose tests all skip exits 77 (ctest
  shows "Skipped", not "Passed"), and under CI (CI=true, or MAILROOM_TEST_STRICT=1) any skip
  that is not on ALLOWED_SKIPS below fails the test. Every skip is written to
  $MAILROOM_TEST_REPORT_DIR/<test>.skips for the summary scripts/run-tests prints.
- Time: the test's wall seconds and the CPU seconds of this process and of every process it
  waited for (mailroomd, mailroomctl, slapd, the clients) go to
  $MAILROOM_TEST_REPORT_DIR/<test>.times ("wall cpu"); scripts/run-tests lists the slowest.
  Wall far above CPU is a test that waits (a sleep, a timer, a service's start-up).

    python3 tests/run_pytests.py MODULE [MODULE ...]   (from the test's working directory)
"""
import glob
import os
import re
import resource
import shutil
import sys
import time
import unittest

# Skips that may happen under CI, each with why. Keep this list short and commented: a skip
# here is a test that CI does not run.
# Each pattern is matched against "<ctest name>:<test id>".
ALLOWED_SKIPS = {
    # imap_driver has no directory and so no quotas; the same test runs against mailroomd in
    # integration.imap_state, where this skip is not allowed.
    r"^integration\.imap_state_driver:.*TestQuotaRoot\.test_account_with_quota$":
        "quotas come from the directory",
}

MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
           "AddressSanitizer:DEADLYSIGNAL", "ERROR: UndefinedBehaviorSanitizer")


def strict():
    return os.environ.get("CI", "").lower() == "true" or \
        os.environ.get("MAILROOM_TEST_STRICT") == "1"


def sanitizer_reports(directory):
    """(path, text) of every report file in `directory`."""
    out = []
    if not directory or not os.path.isdir(directory):
        return out
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                out.append((path, f.read()))
    return out


def allowed(name, test_id):
    return any(re.search(pattern, f"{name}:{test_id}") for pattern in ALLOWED_SKIPS)


def cpu_seconds():
    """User + system CPU of this process and of the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv):
    started = time.monotonic()
    modules = argv[1:]
    if not modules:
        print("usage: run_pytests.py MODULE [MODULE ...]", file=sys.stderr)
        return 2
    name = os.environ.get("MAILROOM_TEST_NAME", "+".join(modules))
    san_dir = os.environ.get("MAILROOM_SANITIZER_DIR", "")
    if san_dir:
        shutil.rmtree(san_dir, ignore_errors=True)
        os.makedirs(san_dir, exist_ok=True)
    sys.path.insert(0, os.getcwd())

    suite = unittest.defaultTestLoader.loadTestsFromNames(modules)
    result = unittest.TextTestRunner(verbosity=2).run(suite)

    code = 0 if result.wasSuccessful() else 1
    skips = [(t.id(), reason) for t, reason in result.skipped]
    report_dir = os.environ.get("MAILROOM_TEST_REPORT_DIR", "")
    if report_dir:
        os.makedirs(report_dir, exist_ok=True)
        with open(os.path.join(report_dir, name + ".skips"), "w") as f:
            for test_id, reason in skips:
                f.write(f"{test_id}: {reason}\n")
    wall, cpu = time.monotonic() - started, cpu_seconds()
    print(f"time: {wall:.1f} s wall, {cpu:.1f} s CPU (this test and the processes it waited for)")
    if report_dir:
        with open(os.path.join(report_dir, name + ".times"), "w") as f:
            f.write(f"{wall:.2f} {cpu:.2f}\n")
    for test_id, reason in skips:
        tag = "allowed" if allowed(name, test_id) else "NOT ALLOWED under CI" if strict() else ""
        print(f"SKIPPED {test_id}: {reason} {('(' + tag + ')') if tag else ''}")

    reports = sanitizer_reports(san_dir)
    for path, text in reports:
        # The error line and the frames nearest to it come first; a report's tail is the
        # thread's start-up frames. Long template names make a report tens of kB.
        shown = text if len(text) <= 9000 else text[:7000] + "\n[...]\n" + text[-2000:]
        print(f"\n==== sanitizer report {path} ====\n{shown}")
    if reports:
        print(f"FAILED: {len(reports)} sanitizer report(s) from processes of this test")
        code = 1

    if code == 0 and strict():
        refused = [t for t, _ in skips if not allowed(name, t)]
        if refused:
            print(f"FAILED: {len(refused)} test(s) skipped under CI and not on the "
                  f"allow-list in tests/run_pytests.py")
            code = 1
    if code == 0 and result.testsRun > 0 and len(skips) == result.testsRun:
        print("every test of this file skipped")
        code = 77
    if result.testsRun == 0:
        print("FAILED: no test ran")
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
