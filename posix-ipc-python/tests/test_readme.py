"""Every ```python block of posix-ipc-python/README.md (the PyPI page) runs, and leaves nothing behind.

Each block runs in a fresh namespace. An HTML comment on the line before a block changes that:

- ``<!-- test: module NAME -->``: the block is a module the later blocks import as ``NAME``
  (it is run too, as that module, before each block after it);
- ``<!-- test: skip REASON -->``: the block is not run (keep these rare, and say why).

README examples name their objects with ``os.getpid()`` and remove them; an object with this
process's id in its name that is still there after a block fails the test.
"""

from __future__ import annotations

import os
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

_BLOCK = re.compile(
    r"(?:^<!--\s*test:\s*(?P<directive>[^>]*?)\s*-->\n)?^```python\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    directive: str

    @property
    def module(self) -> str | None:
        words = self.directive.split()
        return words[1] if len(words) == 2 and words[0] == "module" else None

    @property
    def skip(self) -> str | None:
        if self.directive.startswith("skip"):
            return self.directive[len("skip"):].strip() or "no reason given"
        return None


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found = []
    for m in _BLOCK.finditer(text):
        directive = (m.group("directive") or "").strip()
        if directive and not (directive.startswith("skip") or directive.startswith("module ")):
            raise ValueError(f"README.md: unknown test directive {directive!r}")
        line = text.count("\n", 0, m.start("code")) + 1
        found.append(Block(line, m.group("code"), directive))
    return found


def ours() -> set[str]:
    """Objects of any kind whose name contains this process's id."""
    pid = str(os.getpid())
    names = {"shm:" + n for n in os.listdir("/dev/shm") if pid in n}
    if os.path.ismount("/dev/mqueue"):
        names |= {"mqueue:" + n for n in os.listdir("/dev/mqueue") if pid in n}
    return names


@pytest.fixture
def modules() -> Iterator[dict[str, types.ModuleType]]:
    """Modules made from README blocks, importable while a test runs and removed after it."""
    made: dict[str, types.ModuleType] = {}
    yield made
    for name in made:
        sys.modules.pop(name, None)


def run_as_module(block: Block, name: str, made: dict[str, types.ModuleType]) -> None:
    module = types.ModuleType(name)
    module.__file__ = f"{README}:{block.line}"
    sys.modules[name] = module
    made[name] = module
    exec(compile(block.code, module.__file__, "exec"), module.__dict__)


ALL = blocks()


def test_the_readme_has_python_blocks() -> None:
    assert len(ALL) >= 3, f"found only {len(ALL)} python blocks in {README}"


@pytest.mark.parametrize("block", ALL, ids=[f"line{b.line}" for b in ALL])
def test_readme_block_runs_and_leaves_nothing(
    block: Block, modules: dict[str, types.ModuleType]
) -> None:
    if block.skip is not None:
        pytest.skip(block.skip)
    for earlier in ALL:
        if earlier.line >= block.line:
            break
        if earlier.module is not None:
            run_as_module(earlier, earlier.module, modules)
    before = ours()
    if block.module is not None:
        run_as_module(block, block.module, modules)
    else:
        namespace: dict[str, object] = {"__name__": "__readme__"}
        exec(compile(block.code, f"{README}:{block.line}", "exec"), namespace)
    left = ours() - before
    assert not left, f"README.md line {block.line} left {sorted(left)} behind"
