"""Runs posix_ipc 1.3.2's own test suite, unchanged, against posix_ipc_rs.

    python run_posix_ipc_suite.py [--module posix_ipc_rs] [--sdist posix_ipc-1.3.2.tar.gz]

The suite is not in this repository: it is read from posix_ipc's source distribution (given, or
fetched with ``pip download --no-deps --no-binary :all: posix-ipc==1.3.2``), unpacked into a
temporary folder, and discovered there with ``sys.modules['posix_ipc']`` set to the module under
test. Afterwards the runner checks that every test module really imported that module, and removes
what the suite itself leaves behind (its ``test_ftruncate_increase`` never unlinks its segment):
only names that appeared during the run and have the suite's shape (lowercase letters only).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unittest
from types import ModuleType

EXPECTED_TESTS = 93
SUITE_NAME = re.compile(r"^(sem\.)?[a-z]+$")


def fetch_sdist(folder: str) -> str:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", ":all:", "posix-ipc==1.3.2", "-d", folder],
        check=True,
    )
    (name,) = [n for n in os.listdir(folder) if n.endswith(".tar.gz")]
    return os.path.join(folder, name)


def listing() -> set[str]:
    names = {"shm:" + n for n in os.listdir("/dev/shm")}
    if os.path.ismount("/dev/mqueue"):
        names |= {"mq:" + n for n in os.listdir("/dev/mqueue")}
    return names


def remove_leftovers(before: set[str], module: ModuleType) -> list[str]:
    removed = []
    for entry in sorted(listing() - before):
        kind, name = entry.split(":", 1)
        if not SUITE_NAME.match(name):
            continue
        try:
            if kind == "mq":
                module.unlink_message_queue("/" + name)
            elif name.startswith("sem."):
                module.unlink_semaphore("/" + name[4:])
            else:
                module.unlink_shared_memory("/" + name)
            removed.append(entry)
        except module.ExistentialError:
            pass
    return removed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default="posix_ipc_rs")
    parser.add_argument("--sdist", help="posix_ipc-1.3.2.tar.gz (fetched if not given)")
    options = parser.parse_args()

    module = importlib.import_module(options.module)
    with tempfile.TemporaryDirectory(prefix="posix-ipc-suite-") as tmp:
        sdist = options.sdist or fetch_sdist(tmp)
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and "/tests/" in m.name and m.name.endswith(".py")]
            tar.extractall(tmp, members=members)
        (root,) = [os.path.join(tmp, d) for d in os.listdir(tmp)
                   if os.path.isdir(os.path.join(tmp, d, "tests"))]

        # The one change: `import posix_ipc` in the suite resolves to the module under test.
        sys.modules["posix_ipc"] = module
        sys.path.insert(0, root)
        before = listing()
        suite = unittest.defaultTestLoader.discover(
            os.path.join(root, "tests"), top_level_dir=root)
        print(f"posix_ipc's suite from {os.path.basename(sdist)}, "
              f"posix_ipc resolved to {module.__name__} ({module.__file__})", flush=True)
        result = unittest.TextTestRunner(verbosity=1, stream=sys.stdout).run(suite)

        loaded = [name for name in sys.modules if name.startswith("tests.test_")]
        through = [name for name in loaded
                   if getattr(sys.modules[name], "posix_ipc", None) is module]
        removed = remove_leftovers(before, module)

    print(f"test modules loaded: {len(loaded)}, of which imported {module.__name__} as "
          f"posix_ipc: {len(through)}")
    if removed:
        print(f"removed what the suite left behind: {', '.join(removed)}")
    problems = []
    if not loaded or len(through) != len(loaded):
        problems.append("some test module did not import the module under test")
    if result.testsRun != EXPECTED_TESTS:
        problems.append(f"ran {result.testsRun} tests, expected {EXPECTED_TESTS}")
    if result.skipped:
        problems.append(f"{len(result.skipped)} skipped")
    for problem in problems:
        print("PROBLEM:", problem)
    return 0 if result.wasSuccessful() and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
