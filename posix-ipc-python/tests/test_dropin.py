"""Drop-in: the same input raises the same exception class as posix_ipc 1.3.2 (the messages
are ours: they say why). posix_ipc itself runs here, on the same names, for comparison."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

import posix_ipc_rs

KINDS = ["MessageQueue", "SharedMemory", "Semaphore"]


def names() -> list[str]:
    pid = os.getpid()
    # Names posix_ipc passes to the kernel unchecked, and ordinary ones (made, then removed).
    return ["/a/b", f"a{pid}", "", "/", "//", "/" + "x" * 300, f"no-slash-{pid}", f"/a b-{pid}"]


def outcome(module: Any, kind: str, name: str) -> str:
    kwargs = {"size": 4096} if kind == "SharedMemory" else {}
    try:
        made = getattr(module, kind)(name, module.O_CREAT | module.O_EXCL, **kwargs)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return type(e).__name__
    made.unlink()
    return "made"


@pytest.mark.parametrize("kind", KINDS)
def test_a_name_raises_what_posix_ipc_raises(kind: str) -> None:
    posix_ipc = pytest.importorskip("posix_ipc")
    differ = []
    for name in names():
        theirs, ours = outcome(posix_ipc, kind, name), outcome(posix_ipc_rs, kind, name)
        if theirs != ours:
            differ.append((name[:20], theirs, ours))
    assert differ == [], f"{kind}: (name, posix_ipc, posix_ipc_rs) that differ: {differ}"


def test_unlinking_a_queue_name_raises_what_posix_ipc_raises() -> None:
    posix_ipc = pytest.importorskip("posix_ipc")
    for name in ["/a/b", "/", "//", f"no-slash-{os.getpid()}", f"/none-{os.getpid()}"]:
        classes = []
        for module in (posix_ipc, posix_ipc_rs):
            with pytest.raises(Exception) as raised:  # noqa: PT011 - compared below
                module.unlink_message_queue(name)
            classes.append(type(raised.value).__name__)
        assert classes[0] == classes[1], (name, classes)


def test_our_messages_say_why() -> None:
    with pytest.raises(posix_ipc_rs.PermissionsError, match="slash after its first"):
        posix_ipc_rs.MessageQueue("/a/b", posix_ipc_rs.O_CREAT)
    with pytest.raises(ValueError, match="does not start with a slash"):
        posix_ipc_rs.MessageQueue("no-slash", posix_ipc_rs.O_CREAT)
    with pytest.raises(posix_ipc_rs.ExistentialError, match="names no queue"):
        posix_ipc_rs.MessageQueue("/", posix_ipc_rs.O_CREAT)
    # A NUL in a name crashes posix_ipc 1.3.2 (SIGSEGV); here it is a ValueError.
    with pytest.raises(ValueError, match="NUL"):
        posix_ipc_rs.MessageQueue("/x\0y", posix_ipc_rs.O_CREAT)


def test_a_segment_larger_than_dev_shm_is_created_as_posix_ipc_does(
    name: Callable[[str], str],
) -> None:
    # 64 GiB: more than this machine's /dev/shm; posix_ipc creates it (sparse), and so do we.
    big = 64 << 30
    free = os.statvfs("/dev/shm").f_bavail * os.statvfs("/dev/shm").f_frsize
    if free >= big:
        pytest.skip(f"/dev/shm has {free} bytes free, more than the {big} this test needs")
    shm = posix_ipc_rs.SharedMemory(name("big"), posix_ipc_rs.O_CREX, size=big)
    assert shm.size == big
    shm.close_fd()
    # Reserving the pages is asked for: a clear OSError (ENOSPC) naming the space left, and
    # nothing left behind.
    n = name("big-reserved")
    with pytest.raises(OSError, match="bytes are left") as full:
        posix_ipc_rs.SharedMemory(n, posix_ipc_rs.O_CREX, size=big, reserve=True)
    assert full.value.errno == 28
    with pytest.raises(posix_ipc_rs.ExistentialError):
        posix_ipc_rs.SharedMemory(n)


@pytest.mark.parametrize("timeout", [-1, -0.5, 2**63, 2**64, "1", True, 0, 0.01, [1]])
def test_a_timeout_raises_what_posix_ipc_raises(timeout: Any, name: Callable[[str], str]) -> None:
    # The forms posix_ipc documents. NaN, 1e20 and inf, which posix_ipc gets wrong (NaN and
    # inf are ExistentialError, 1e20 fails at once), are in the README's table of differences.
    posix_ipc = pytest.importorskip("posix_ipc")
    classes = []
    for module in (posix_ipc, posix_ipc_rs):
        sem = module.Semaphore(name(f"to-{module.__name__}"), module.O_CREX, initial_value=0)
        try:
            sem.acquire(timeout)
            classes.append("acquired")
        except Exception as e:  # noqa: BLE001 - the class is what is compared
            classes.append(type(e).__name__)
        finally:
            sem.unlink()
    assert classes[0] == classes[1], (timeout, classes)
