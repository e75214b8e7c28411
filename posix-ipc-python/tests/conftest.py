"""Shared fixtures: unique names that are removed after each test, pass or fail."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest

import posix_ipc_rs

_counter = itertools.count()

#: Every name our tests use starts with this (the workspace's leftover check looks for it).
PREFIX = f"/pit-py-{os.getpid()}-"


def unique(tag: str) -> str:
    """A name no other test or test run shares."""
    return f"{PREFIX}{tag}-{next(_counter)}"


def remove_all(name: str) -> None:
    """Removes whatever object of any kind has this name."""
    for unlink in (posix_ipc_rs.unlink_semaphore, posix_ipc_rs.unlink_shared_memory,
                   posix_ipc_rs.unlink_message_queue):
        try:
            unlink(name)
        except (posix_ipc_rs.ExistentialError, ValueError):
            pass


@pytest.fixture
def name() -> Iterator[Callable[[str], str]]:
    """``name(tag)`` gives a fresh unique name; all of them are removed after the test."""
    made: list[str] = []

    def make(tag: str = "obj") -> str:
        n = unique(tag)
        made.append(n)
        return n

    yield make
    for n in made:
        remove_all(n)
        # The typed layer's companion segment of a queue, if one was made.
        remove_all(n + ".pipc-q")


def ours_left() -> list[str]:
    """Objects of this test run still in /dev/shm or the queue namespace."""
    body = PREFIX[1:]
    left = [n for n in os.listdir("/dev/shm") if n.startswith(body) or n.startswith("sem." + body)]
    if os.path.ismount("/dev/mqueue"):
        left += ["mqueue:" + n for n in os.listdir("/dev/mqueue") if n.startswith(body)]
    return left


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = ours_left()
    if left:
        print(f"\nobjects left behind by the Python tests: {left}")
        session.exitstatus = 1
