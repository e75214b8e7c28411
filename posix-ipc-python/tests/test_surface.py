"""posix_ipc's surface, compared name by name with the C module (installed beside ours)."""

from __future__ import annotations

import contextlib
import inspect
import mmap
import os
from collections.abc import Callable

import posix_ipc
import pytest

import posix_ipc_rs

CLASSES = ("Semaphore", "SharedMemory", "MessageQueue")


def public(module: object) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_")}


def test_every_public_name_of_posix_ipc_exists() -> None:
    missing = public(posix_ipc) - public(posix_ipc_rs)
    assert not missing, f"posix_ipc names missing from posix_ipc_rs: {sorted(missing)}"
    for dunder in ("__version__", "__author__", "__license__", "__copyright__"):
        assert isinstance(getattr(posix_ipc_rs, dunder), str)


def test_constants_have_posix_ipcs_values() -> None:
    for n in sorted(public(posix_ipc)):
        value = getattr(posix_ipc, n)
        if isinstance(value, (int, str)) and not isinstance(value, type):
            assert getattr(posix_ipc_rs, n) == value, n
    assert posix_ipc_rs.O_RDONLY == os.O_RDONLY
    assert posix_ipc_rs.O_WRONLY == os.O_WRONLY
    assert posix_ipc_rs.O_RDWR == os.O_RDWR
    assert posix_ipc_rs.O_NONBLOCK == os.O_NONBLOCK


def test_exception_hierarchy() -> None:
    assert issubclass(posix_ipc_rs.Error, Exception)
    for n in (
        "SignalError",
        "PermissionsError",
        "ExistentialError",
        "BusyError",
        "DisconnectedError",
    ):
        assert issubclass(getattr(posix_ipc_rs, n), posix_ipc_rs.Error)


def test_methods_and_properties_of_each_class() -> None:
    for cls in CLASSES:
        theirs = public(getattr(posix_ipc, cls))
        ours = public(getattr(posix_ipc_rs, cls))
        assert theirs <= ours, f"{cls} lacks {sorted(theirs - ours)}"
        assert "close" in ours and "__enter__" in dir(getattr(posix_ipc_rs, cls))


@pytest.mark.parametrize(
    ("cls", "signature"),
    [
        ("Semaphore", "(name, flags=0, mode=384, initial_value=0)"),
        # posix_ipc's, then our one keyword more (after them, so positional calls are the same).
        ("SharedMemory", "(name, flags=0, mode=384, size=0, read_only=False, reserve=False)"),
        ("MessageQueue", "(name, flags=0, mode=384, max_messages=10, "
                         "max_message_size=8192, read=True, write=True)"),
    ],
)
def test_constructor_signatures(cls: str, signature: str) -> None:
    assert str(inspect.signature(getattr(posix_ipc_rs, cls))) == signature


def test_keyword_arguments_as_in_posix_ipc(name: Callable[[str], str]) -> None:
    sem = posix_ipc_rs.Semaphore(name=name("s"), flags=posix_ipc_rs.O_CREX, mode=0o640,
                                 initial_value=3)
    assert (sem.value, sem.mode, sem.flags) == (3, 0o640, posix_ipc_rs.O_CREX)
    sem.acquire(timeout=0)
    shm = posix_ipc_rs.SharedMemory(name=name("m"), flags=posix_ipc_rs.O_CREX, mode=0o600,
                                    size=4096, read_only=False)
    assert shm.size == 4096
    shm.close_fd()
    mq = posix_ipc_rs.MessageQueue(name=name("q"), flags=posix_ipc_rs.O_CREX, mode=0o600,
                                   max_messages=2, max_message_size=16, read=True, write=True)
    mq.send(message=b"x", timeout=0, priority=3)
    assert mq.receive(timeout=0) == (b"x", 3)


def test_read_only_properties_refuse_assignment(name: Callable[[str], str]) -> None:
    sem = posix_ipc_rs.Semaphore(name("s"), posix_ipc_rs.O_CREX)
    shm = posix_ipc_rs.SharedMemory(name("m"), posix_ipc_rs.O_CREX, size=16)
    mq = posix_ipc_rs.MessageQueue(name("q"), posix_ipc_rs.O_CREX, max_messages=1,
                                   max_message_size=8)
    for obj, props in ((sem, ("name", "mode", "value", "flags")),
                       (shm, ("name", "fd", "mode", "size", "flags")),
                       (mq, ("name", "mode", "max_messages", "max_message_size", "mqd",
                             "current_messages", "flags"))):
        for prop in props:
            with pytest.raises((TypeError, AttributeError)):
                setattr(obj, prop, 1)
    mq.block = False
    assert mq.block is False
    with pytest.raises((TypeError, AttributeError)):
        del mq.block
    shm.close_fd()


def test_repr_and_str(name: Callable[[str], str]) -> None:
    n = name("r")
    sem = posix_ipc_rs.Semaphore(n, posix_ipc_rs.O_CREX)
    assert str(sem) == n
    assert repr(sem) == f'posix_ipc_rs.Semaphore("{n}", mode=0o600)'
    mq = posix_ipc_rs.MessageQueue(n, posix_ipc_rs.O_CREX, max_messages=1, max_message_size=8)
    assert repr(mq) == (f'posix_ipc_rs.MessageQueue("{n}", mode=0o600, max_messages=1, '
                        f'max_message_size=8, read=True, write=True)')


def test_names_are_kept_as_given(name: Callable[[str], str]) -> None:
    n = name("g")
    sem = posix_ipc_rs.Semaphore(n[1:], posix_ipc_rs.O_CREX)
    assert sem.name == n[1:]
    # The same object as the slash form, as with the C module.
    assert posix_ipc_rs.Semaphore(n).value == 0
    assert posix_ipc.Semaphore(n).value == 0
    random = posix_ipc_rs.Semaphore(None, posix_ipc_rs.O_CREX)
    try:
        assert random.name.startswith("/")
    finally:
        random.unlink()


def test_bytes_names_come_back_as_str(name: Callable[[str], str]) -> None:
    n = name("b")
    sem = posix_ipc_rs.Semaphore(n.encode(), posix_ipc_rs.O_CREX)
    assert sem.name == n


def test_close_on_all_three_classes(name: Callable[[str], str]) -> None:
    sem = posix_ipc_rs.Semaphore(name("s"), posix_ipc_rs.O_CREX)
    sem.close()
    with pytest.raises(posix_ipc_rs.ExistentialError, match="closed"):
        sem.value
    with pytest.raises(posix_ipc_rs.ExistentialError):
        sem.acquire(0)
    assert sem.name

    shm = posix_ipc_rs.SharedMemory(name("m"), posix_ipc_rs.O_CREX, size=8)
    shm.close()
    assert shm.fd == -1
    with pytest.raises(posix_ipc_rs.ExistentialError):
        shm.size
    shm.close()  # repeatable, as close_fd
    shm.unlink()

    mq = posix_ipc_rs.MessageQueue(name("q"), posix_ipc_rs.O_CREX, max_messages=1,
                                   max_message_size=8)
    mq.close()
    assert mq.mqd == -1
    with pytest.raises(posix_ipc_rs.ExistentialError):
        mq.send(b"x")
    mq.unlink()


def test_context_managers(name: Callable[[str], str]) -> None:
    # Semaphore keeps posix_ipc's meaning: acquire on entry, release on exit.
    sem = posix_ipc_rs.Semaphore(name("s"), posix_ipc_rs.O_CREX, initial_value=1)
    with sem as entered:
        assert entered is sem and sem.value == 0
    assert sem.value == 1
    with contextlib.closing(sem):
        pass
    with pytest.raises(posix_ipc_rs.ExistentialError):
        sem.value

    with posix_ipc_rs.SharedMemory(name("m"), posix_ipc_rs.O_CREX, size=4096) as shm:
        with mmap.mmap(shm.fd, shm.size) as m:
            m[:5] = b"hello"
    assert shm.fd == -1
    with posix_ipc_rs.SharedMemory(shm.name) as again:
        with mmap.mmap(again.fileno(), 0) as m:
            assert m[:5] == b"hello"

    with posix_ipc_rs.MessageQueue(name("q"), posix_ipc_rs.O_CREX, max_messages=1,
                                   max_message_size=8) as mq:
        mq.send(b"x")
    assert mq.mqd == -1


def test_access_mode_and_flags(name: Callable[[str], str]) -> None:
    n = name("q")
    mq = posix_ipc_rs.MessageQueue(n, posix_ipc_rs.O_CREX | posix_ipc_rs.O_NONBLOCK,
                                   mode=0o640, max_messages=1, max_message_size=8)
    assert mq.flags == posix_ipc_rs.O_CREX | posix_ipc_rs.O_NONBLOCK
    assert mq.block is False and mq.mode == 0o640
    assert os.stat("/dev/mqueue" + n).st_mode & 0o777 == 0o640 if os.path.ismount(
        "/dev/mqueue") else True
    reader = posix_ipc_rs.MessageQueue(n, write=False)
    writer = posix_ipc_rs.MessageQueue(n, read=False)
    with pytest.raises(posix_ipc_rs.PermissionsError):
        reader.send(b"x")
    with pytest.raises(posix_ipc_rs.PermissionsError):
        writer.receive()
    writer.send(b"x")
    assert reader.receive() == (b"x", 0)
    shm = posix_ipc_rs.SharedMemory(name("m"), posix_ipc_rs.O_CREX, mode=0o604, size=8)
    assert os.fstat(shm.fd).st_mode & 0o777 == 0o604 & ~current_umask()
    ro = posix_ipc_rs.SharedMemory(shm.name, read_only=True)
    assert ro.read_only and ro.flags == 0
    with mmap.mmap(ro.fd, 8, prot=mmap.PROT_READ) as m, pytest.raises(TypeError):
        m[0:1] = b"x"
    ro.close()
    shm.close()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_failed_resize_keeps_the_segment(name: Callable[[str], str]) -> None:
    n = name("m")
    made = posix_ipc_rs.SharedMemory(n, posix_ipc_rs.O_CREX, size=4096)
    with pytest.raises((ValueError, OverflowError), match="size"):
        posix_ipc_rs.SharedMemory(n, size=-1)
    assert posix_ipc_rs.SharedMemory(n).size == 4096
    made.close()


def test_interop_with_the_c_module(name: Callable[[str], str]) -> None:
    n = name("q")
    ours = posix_ipc_rs.MessageQueue(n, posix_ipc_rs.O_CREX, max_messages=2, max_message_size=32)
    theirs = posix_ipc.MessageQueue(n)
    theirs.send(b"from C", priority=5)
    assert ours.receive(0) == (b"from C", 5)
    ours.send("from Rust")
    assert theirs.receive(0) == (b"from Rust", 0)
    theirs.close()
