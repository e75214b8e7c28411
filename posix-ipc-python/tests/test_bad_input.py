"""Inputs that crash or silently wrap in posix_ipc 1.3.2 raise a Python exception here, naming
the argument and the limit."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import pytest

import posix_ipc_rs as p


def queue(name: Callable[[str], str]) -> p.MessageQueue:
    return p.MessageQueue(name("q"), p.O_CREX, max_messages=2, max_message_size=16)


@pytest.mark.parametrize("args", [(5,), (), (None,), (1.5,), (object(),)])
def test_send_of_a_non_message_is_a_type_error(name: Callable[[str], str],
                                                args: tuple[Any, ...]) -> None:
    mq = queue(name)
    with pytest.raises(TypeError):
        mq.send(*args)
    assert mq.current_messages == 0


def test_send_takes_any_bytes_like_object(name: Callable[[str], str]) -> None:
    mq = queue(name)
    mq.send(bytearray(b"ab"))
    mq.send(memoryview(b"cd"))
    assert [mq.receive(0)[0] for _ in range(2)] == [b"ab", b"cd"]
    mq.send("é")
    assert mq.receive(0)[0] == "é".encode()


@pytest.mark.parametrize("cls", [p.Semaphore, p.SharedMemory, p.MessageQueue])
@pytest.mark.parametrize("bad", ["/a\0b", b"/a\0b", "\0"])
def test_a_nul_in_a_name_is_a_value_error(cls: Any, bad: Any) -> None:
    with pytest.raises(ValueError, match="NUL"):
        cls(bad, p.O_CREX)


@pytest.mark.parametrize("unlink", [p.unlink_semaphore, p.unlink_shared_memory,
                                    p.unlink_message_queue])
def test_unlink_functions_check_names(unlink: Callable[[Any], None]) -> None:
    with pytest.raises(ValueError, match="NUL"):
        unlink("/a\0b")
    with pytest.raises(TypeError):
        unlink(b"/bytes")
    with pytest.raises(TypeError):
        unlink(5)
    with pytest.raises(p.ExistentialError):
        unlink("/pit-py-never-made")


def test_deleting_block_is_refused(name: Callable[[str], str]) -> None:
    mq = queue(name)
    with pytest.raises((TypeError, AttributeError)):
        del mq.block
    assert mq.block is True


@pytest.mark.parametrize("value", [2**32, 2**32 + 5, -1, p.SEMAPHORE_VALUE_MAX + 1, 2**200])
def test_initial_value_out_of_range(name: Callable[[str], str], value: int) -> None:
    n = name("s")
    with pytest.raises((ValueError, OverflowError), match="SEMAPHORE_VALUE_MAX"):
        p.Semaphore(n, p.O_CREX, initial_value=value)
    with pytest.raises(p.ExistentialError):
        p.Semaphore(n)  # nothing was made


@pytest.mark.parametrize("size", [2**64, 2**63, -1, 2**100])
def test_size_out_of_range(name: Callable[[str], str], size: int) -> None:
    n = name("m")
    with pytest.raises((ValueError, OverflowError), match="size.*off_t"):
        p.SharedMemory(n, p.O_CREX, size=size)
    with pytest.raises(p.ExistentialError):
        p.SharedMemory(n)


@pytest.mark.parametrize("priority", [-1, p.QUEUE_PRIORITY_MAX + 1, 2**63, 2**100])
def test_priority_out_of_range(name: Callable[[str], str], priority: int) -> None:
    mq = queue(name)
    with pytest.raises((ValueError, OverflowError), match="QUEUE_PRIORITY_MAX"):
        mq.send(b"x", priority=priority)
    assert mq.current_messages == 0


@pytest.mark.parametrize(
    ("timeout", "error"),
    # posix_ipc documents a TypeError for a negative timeout; NaN, which it hands to the kernel
    # (ExistentialError from EINVAL), is a ValueError here.
    [(math.nan, ValueError), (-1, TypeError), (-0.5, TypeError), (-math.inf, TypeError)],
)
def test_negative_or_nan_timeouts(
    name: Callable[[str], str], timeout: float, error: type[Exception]
) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX, initial_value=1)
    mq = queue(name)
    for call in (lambda: sem.acquire(timeout), lambda: mq.send(b"x", timeout),
                 lambda: mq.receive(timeout)):
        with pytest.raises(error, match="non-negative"):
            call()
    assert sem.value == 1 and mq.current_messages == 0


@pytest.mark.parametrize("timeout", [1e300, 2.0**64])
def test_huge_timeouts_name_the_limit(name: Callable[[str], str], timeout: float) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX)
    with pytest.raises(OverflowError, match="longest wait"):
        sem.acquire(timeout)


@pytest.mark.parametrize("timeout", [2**63, 2**64, 10**400])
def test_int_timeouts_above_long_max_are_a_type_error_as_in_posix_ipc(
    name: Callable[[str], str], timeout: int
) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX)
    with pytest.raises(TypeError, match="LONG_MAX"):
        sem.acquire(timeout)


@pytest.mark.parametrize("timeout", ["1", b"1", [1], object()])
def test_timeouts_of_other_types(name: Callable[[str], str], timeout: Any) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX)
    with pytest.raises(TypeError, match="timeout"):
        sem.acquire(timeout)


def test_an_infinite_timeout_waits_like_none(name: Callable[[str], str]) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX, initial_value=1)
    sem.acquire(math.inf)
    assert sem.value == 0


@pytest.mark.parametrize("kwargs", [{"mode": -1}, {"mode": 0o10000}, {"flags": 2**40},
                                    {"flags": "x"}, {"mode": 1.5}])
def test_flags_and_mode_are_checked(name: Callable[[str], str], kwargs: dict[str, Any]) -> None:
    with pytest.raises((ValueError, OverflowError, TypeError)):
        p.Semaphore(name("s"), **{"flags": p.O_CREX, **kwargs})


def test_queue_sizes_beyond_the_kernel_limit_name_it(name: Callable[[str], str]) -> None:
    with open("/proc/sys/fs/mqueue/msg_max") as f:
        msg_max = int(f.read())
    with pytest.raises(ValueError, match="limit"):
        p.MessageQueue(name("q"), p.O_CREX, max_messages=100_000)
    if os.geteuid() != 0 or msg_max < 65536:
        try:
            p.MessageQueue(name("q"), p.O_CREX, max_messages=msg_max + 1).unlink()
        except ValueError as e:
            assert "msg_max" in str(e)
    with pytest.raises(ValueError, match="max_messages"):
        p.MessageQueue(name("q"), p.O_CREX, max_messages=-1)
    with pytest.raises(ValueError):
        p.MessageQueue(name("q"), p.O_CREX, max_message_size=0)


def test_a_message_over_the_maximum_is_a_value_error(name: Callable[[str], str]) -> None:
    mq = queue(name)
    with pytest.raises(ValueError, match="16"):
        mq.send(b"x" * 17)
    assert mq.current_messages == 0


def test_notification_arguments_are_checked(name: Callable[[str], str]) -> None:
    mq = queue(name)
    bad: list[Any] = ["x", (1,), (1, 2, 3), (None, 1), 1.5, 0, 65, 2**70]
    for value in bad:
        with pytest.raises((TypeError, ValueError, OverflowError)):
            mq.request_notification(value)
