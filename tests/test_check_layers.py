"""scripts/check-layers fails on an upward include and on Boost.Beast in a header."""
import os
import subprocess
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                      "check-layers")


def tree(files):
    root = tempfile.mkdtemp()
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    return root


def run(root):
    return subprocess.run(["/usr/bin/python3", SCRIPT, root], capture_output=True, text=True)


class CheckLayers(unittest.TestCase):
    def test_downward_includes_pass(self):
        p = run(tree({"src/store/a.cpp": '#include "src/core/status.h"\n#include "src/mime/x.h"\n',
                      "auth/b.cpp": '#include "src/core/status.h"\n'}))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("check-layers: ok", p.stdout)

    def test_store_including_auth_fails(self):
        p = run(tree({"src/store/a.cpp": '#include "auth/directory.h"\n'}))
        self.assertEqual(p.returncode, 1)
        self.assertIn("src/store/a.cpp:1: store must not include auth/directory.h", p.stdout)

    def test_core_including_a_front_end_fails(self):
        p = run(tree({"src/core/a.h": '// x\n#include "src/ctl/ctl.h"\n'}))
        self.assertEqual(p.returncode, 1)
        self.assertIn("src/core/a.h:2: core must not include src/ctl/ctl.h", p.stdout)

    def test_db_sits_above_core_only(self):
        p = run(tree({"src/store/a.cpp": '#include "src/db/sqlite.h"\n',
                      "auth/local/b.cpp": '#include "src/db/sqlite.h"\n',
                      "src/db/c.cpp": '#include "src/core/status.h"\n'}))
        self.assertEqual(p.returncode, 0, p.stdout)
        p = run(tree({"src/core/a.cpp": '#include "src/db/sqlite.h"\n',
                      "src/imap/b.cpp": '#include "src/db/sqlite.h"\n',
                      "src/db/c.cpp": '#include "auth/directory.h"\n'}))
        self.assertEqual(p.returncode, 1)
        self.assertIn("src/core/a.cpp:1: core must not include src/db/sqlite.h", p.stdout)
        self.assertIn("src/imap/b.cpp:1: imap must not include src/db/sqlite.h", p.stdout)
        self.assertIn("src/db/c.cpp:1: db must not include auth/directory.h", p.stdout)

    def test_beast_in_a_header_fails(self):
        p = run(tree({"src/net/a.h": "#include <boost/beast/http.hpp>\n",
                      "src/net/a.cpp": "#include <boost/beast/http.hpp>\n"}))
        self.assertEqual(p.returncode, 1)
        self.assertIn("src/net/a.h:1: heavy header in a header", p.stdout)
        self.assertNotIn("a.cpp", p.stdout)


if __name__ == "__main__":
    unittest.main()
