"""Runs posix_ipc 1.3.2's demos 1 to 4, unchanged, on posix_ipc_rs, and pairs demo1's Python halves
with the Rust shm_ping_pong example and with demo1's C programs.

    python run_posix_ipc_demos.py --sdist posix_ipc-1.3.2.tar.gz [--shm-ping-pong PATH]

The demos come from posix_ipc's source distribution, unpacked into a temporary folder. Every
Python process (the demo's own children too: demo4's parent starts ``python child.py``) gets
``sys.modules['posix_ipc'] = posix_ipc_rs`` from a ``sitecustomize`` on ``PYTHONPATH``, which also
records, at exit, which module each script really used; the runner checks that every script ran on
posix_ipc_rs. Only the demos' configuration is adapted: demo1 and demo2 read their object names
from ``params.txt`` and demo3 from ``utils.py``'s ``QUEUE_NAME``, which get names unique to this
run. demo1's C premise and conclusion are built from the sdist with gcc.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO

import posix_ipc_rs

SITECUSTOMIZE = """
import atexit, os, sys
import posix_ipc_rs
sys.modules["posix_ipc"] = posix_ipc_rs

def _record():
    with open(os.environ["POSIX_IPC_DEMO_LOG"], "a") as log:
        used = sys.modules.get("posix_ipc")
        log.write(f"{os.path.basename(sys.argv[0])} {getattr(used, '__name__', None)}\\n")

atexit.register(_record)
"""

LIMIT = 120


class Runner:
    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.work = work
        alias = work / "alias"
        alias.mkdir()
        (alias / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.log = work / "used.log"
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = str(alias)
        self.env["POSIX_IPC_DEMO_LOG"] = str(self.log)
        # demo4's parent starts `python child.py`: the same interpreter, found on PATH.
        bindir = work / "bin"
        bindir.mkdir()
        # A wrapper, not a symlink: a venv's interpreter started through a symlink elsewhere
        # would not find its pyvenv.cfg, and so neither posix_ipc_rs.
        wrapper = bindir / "python"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        wrapper.chmod(0o755)
        self.env["PATH"] = f"{bindir}{os.pathsep}{self.env['PATH']}"
        self.tag = f"pit-py-demo-{os.getpid()}"
        self.results: list[str] = []
        self.outputs: dict[int, IO[str]] = {}

    def demo(self, n: int, params: str | None = None) -> Path:
        folder = self.work / f"demo{n}-{len(self.results)}"
        shutil.copytree(self.root / "demos" / f"demo{n}", folder)
        if params is not None:
            (folder / "params.txt").write_text(params)
        return folder

    def start(self, folder: Path, cmd: list[str], stdin: str | None = None) -> subprocess.Popen[str]:
        """Starts a side; its output goes to a file (the demos print a line per iteration, and a
        pipe nobody reads until the end would fill up and stop them)."""
        if cmd[0].endswith(".py"):
            cmd = [sys.executable, *cmd]
        out = open(folder / f"out-{len(self.outputs)}.txt", "w+")
        proc = subprocess.Popen(cmd, cwd=folder, env=self.env, text=True,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        self.outputs[proc.pid] = out
        return proc

    def output(self, proc: subprocess.Popen[str]) -> str:
        out = self.outputs[proc.pid]
        out.flush()
        out.seek(0)
        return out.read()

    def finish(self, what: str, *procs: subprocess.Popen[str], inputs: tuple[str | None, ...] = ()
               ) -> list[str]:
        outs = []
        try:
            for i, proc in enumerate(procs):
                data = inputs[i] if i < len(inputs) else None
                proc.communicate(data, timeout=LIMIT)
                outs.append(self.output(proc))
                if proc.returncode != 0:
                    raise SystemExit(f"{what}: {proc.args!r} failed ({proc.returncode}):\n{outs[-1]}")
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
        return outs

    def wait_for(self, what: str, paths: list[str], proc: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 20
        while not all(os.path.exists(p) for p in paths):
            if proc.poll() is not None:
                raise SystemExit(f"{what}: the creating side exited first:\n{self.output(proc)}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: {paths} never appeared")
            time.sleep(0.005)

    def ok(self, line: str) -> None:
        print("ok:", line, flush=True)
        self.results.append(line)


def demo1_params(shm: str, sem: str) -> str:
    return (f"ITERATIONS=1000\nLIVE_DANGEROUSLY=0\nSEMAPHORE_NAME={sem}\n"
            f"SHARED_MEMORY_NAME={shm}\nPERMISSIONS=0600\nSHM_SIZE=4096\n")


def build_c(folder: Path) -> None:
    for prog in ("premise", "conclusion"):
        subprocess.run(["gcc", "-Wall", "-o", prog, f"{prog}.c", "md5.c", "utils.c", "-lrt",
                        "-lpthread"], cwd=folder, check=True, capture_output=True)


def run_demo1(r: Runner, shm_ping_pong: str | None) -> None:
    pairings: list[tuple[str, list[str], list[str]]] = [
        ("premise.py + conclusion.py", ["premise.py"], ["conclusion.py"]),
        ("premise.py + C conclusion", ["premise.py"], ["./conclusion"]),
        ("C premise + conclusion.py", ["./premise"], ["conclusion.py"]),
    ]
    if shm_ping_pong:
        pairings += [
            ("premise.py + Rust shm_ping_pong", ["premise.py"],
             [shm_ping_pong, "--role", "conclusion", "--shm", "{shm}", "--sem", "{sem}"]),
            ("Rust shm_ping_pong + conclusion.py",
             [shm_ping_pong, "--no-spawn", "--shm", "{shm}", "--sem", "{sem}"], ["conclusion.py"]),
        ]
    for i, (what, first, second) in enumerate(pairings):
        shm, sem = f"/{r.tag}-shm-{i}", f"/{r.tag}-sem-{i}"
        folder = r.demo(1, demo1_params(shm, sem))
        if any(c.startswith("./") for c in first + second):
            build_c(folder)
        def fill(cmd: list[str]) -> list[str]:
            return [c.format(shm=shm, sem=sem) for c in cmd]

        premise = r.start(folder, fill(first))
        r.wait_for(what, ["/dev/shm" + shm, "/dev/shm/sem." + sem[1:]], premise)
        conclusion = r.start(folder, fill(second))
        outs = r.finish(f"demo1 {what}", premise, conclusion)
        assert any("1000 iterations" in o for o in outs), outs
        assert not os.path.exists("/dev/shm" + shm), f"demo1 {what}: the segment was left"
        r.ok(f"demo1 {what}: 1000 iterations, md5 chain verified")


def run_demo2(r: Runner) -> None:
    queue = f"/{r.tag}-mq"
    folder = r.demo(2, f"ITERATIONS=1000\nMESSAGE_QUEUE_NAME={queue}\n")
    premise = r.start(folder, ["premise.py"])
    deadline = time.monotonic() + 20
    while True:
        try:
            posix_ipc_rs.MessageQueue(queue).close()
            break
        except posix_ipc_rs.ExistentialError:
            if premise.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("demo2: premise.py never created its queue")
            time.sleep(0.005)
    conclusion = r.start(folder, ["conclusion.py"])
    outs = r.finish("demo2", premise, conclusion)
    assert all("1000 iterations" in o for o in outs), outs
    r.ok("demo2 premise.py + conclusion.py: 1000 iterations, md5 chain verified")


def run_demo3(r: Runner) -> None:
    for i, (script, typed) in enumerate([("one_shot_signal.py", ["hello"]),
                                         ("one_shot_thread.py", ["hello"]),
                                         ("repeating_signal.py", ["one", "two", ""]),
                                         ("repeating_thread.py", ["one", "two", ""])]):
        folder = r.demo(3)
        queue = f"/{r.tag}-demo3-{i}"
        utils = folder / "utils.py"
        utils.write_text(utils.read_text().replace('"/my_message_queue"', repr(queue)))
        proc = r.start(folder, [script], stdin="")
        data = "\n".join(typed) + "\n"
        if script.startswith("repeating_thread"):
            # The notification is printed by another thread: feed one line at a time and wait
            # for its "Ding!", so that the blank line ends the demo only after all arrived.
            assert proc.stdin is not None
            for k, line in enumerate(typed):
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                deadline = time.monotonic() + 20
                while line and self_dings(r, proc) <= k:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"demo3 {script}: no notification for {line!r}:\n"
                                         f"{r.output(proc)}")
                    time.sleep(0.005)
            text = r.finish(f"demo3 {script}", proc)[0]
        else:
            text = r.finish(f"demo3 {script}", proc, inputs=(data,))[0]
        expected = [t for t in typed if t]
        for t in expected:
            assert f"received: b'{t}'" in text, (script, text)
        r.ok(f"demo3 {script}: {len(expected)} notification(s) received")


def self_dings(r: Runner, proc: subprocess.Popen[str]) -> int:
    return r.output(proc).count("Ding!")


def run_demo4(r: Runner) -> None:
    folder = r.demo(4)
    out = r.finish("demo4", r.start(folder, ["parent.py"]))[0]
    assert "Parent: destroying the semaphore." in out, out
    # The child may still be exiting when the parent is done: wait for its record.
    deadline = time.monotonic() + 20
    while "child.py " not in r.log.read_text():
        if time.monotonic() > deadline:
            raise SystemExit("demo4: child.py never ran (or never exited)")
        time.sleep(0.01)
    r.ok("demo4 parent.py + child.py: the semaphore passed through a with block and back")


def remove_ours(tag: str) -> None:
    """Removes every object of this run (names start with the run's tag), also after a
    failure: the demos remove theirs only when they finish."""
    for entry in os.listdir("/dev/shm"):
        if entry.startswith(tag):
            posix_ipc_rs.unlink_shared_memory("/" + entry)
        elif entry.startswith("sem." + tag):
            posix_ipc_rs.unlink_semaphore("/" + entry[4:])
    if os.path.ismount("/dev/mqueue"):
        for entry in os.listdir("/dev/mqueue"):
            if entry.startswith(tag):
                posix_ipc_rs.unlink_message_queue("/" + entry)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdist", required=True)
    parser.add_argument("--shm-ping-pong", help="the Rust shm_ping_pong example")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posix-ipc-demos-") as tmp:
        with tarfile.open(options.sdist) as tar:
            members = [m for m in tar.getmembers() if "/demos/" in m.name]
            tar.extractall(tmp, members=members)
        (root,) = [Path(tmp) / d for d in os.listdir(tmp) if (Path(tmp) / d / "demos").is_dir()]
        work = Path(tmp) / "work"
        work.mkdir()
        r = Runner(root, work)
        try:
            run_demo1(r, options.shm_ping_pong)
            run_demo2(r)
            run_demo3(r)
            run_demo4(r)
        finally:
            remove_ours(r.tag)
        used = r.log.read_text().split("\n")
        scripts = [line for line in used if line]
        wrong = [line for line in scripts if not line.endswith(" posix_ipc_rs")]
        print(f"Python processes run: {len(scripts)}; on posix_ipc_rs: "
              f"{len(scripts) - len(wrong)}")
        if wrong or not scripts:
            print("PROBLEM: not on posix_ipc_rs:", wrong)
            return 1
    print(f"demos passed: {len(r.results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
