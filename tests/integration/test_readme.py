"""Every shell command the README shows runs verbatim after the demo.

The README's ```bash / ```sh blocks are run, each with ``bash -eo pipefail``, in a scratch
directory that looks like a checkout after ``make demo``: ``configs/``, ``strategies/`` and
``models/`` link to the repository's, ``.venv`` to this interpreter's environment, and
``.tradewind/`` holds what ``tradewind demo`` made (run once per session, with a short RL
training: ``make demo`` itself is slow). A block that cannot run here (it needs a server,
the network or ``make``) is preceded in the README by ``<!-- readme-test: skip (why) -->``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b.*-->")
FENCE = re.compile(r"^```(bash|sh)\s*$")
DEMO_TIMESTEPS = "2048"


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    text: str
    skip: str | None  # the marker comment, when the block is not meant to run


def shell_blocks(markdown: str) -> list[Block]:
    """The ```bash and ```sh blocks of ``markdown``, with the skip marker that precedes each."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            start = i
            i += 1
            body: list[str] = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            before = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
            marker = SKIP.search(before)
            blocks.append(Block(start + 1, "\n".join(body) + "\n", marker and marker.group(0)))
        i += 1
    return blocks


BLOCKS = shell_blocks(README.read_text(encoding="utf-8"))
RUNNABLE = [b for b in BLOCKS if b.skip is None]


def test_the_readme_has_runnable_blocks_and_every_skip_says_why() -> None:
    assert len(RUNNABLE) >= 4
    for b in BLOCKS:
        if b.skip is not None:
            assert re.search(r"skip \(.+\)", b.skip), f"README line {b.line}: say why it is skipped"
    # the run-id commands are shown with real ids, not placeholders
    assert not any("RUN_ID" in b.text for b in RUNNABLE)


def test_shell_blocks_are_found_with_their_markers() -> None:
    text = "x\n<!-- readme-test: skip (server) -->\n```bash\nserve\n```\n\n```sh\na\nb\n```\n"
    assert shell_blocks(text) == [
        Block(3, "serve\n", "<!-- readme-test: skip (server) -->"),
        Block(7, "a\nb\n", None),
    ]


def _env(venv_bin: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["TRADEWIND_PROGRESS"] = "off"
    env["COLUMNS"] = "160"
    return env


@pytest.fixture(scope="session")
def demo_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch checkout after the demo; prints how long the demo took."""
    root = tmp_path_factory.mktemp("readme")
    for name in ("configs", "strategies", "models"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    venv_bin = Path(sys.executable).parent
    started = time.monotonic()
    done = subprocess.run(
        [str(venv_bin / "tradewind"), "demo", "--timesteps", DEMO_TIMESTEPS],
        cwd=root,
        env=_env(venv_bin),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    print(f"tradewind demo --timesteps {DEMO_TIMESTEPS}: {time.monotonic() - started:.0f} s")
    return root


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"README.md:{b.line}" for b in RUNNABLE])
def test_readme_block_runs_verbatim(demo_checkout: Path, block: Block) -> None:
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", block.text],
        cwd=demo_checkout,
        env=_env(Path(sys.executable).parent),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, (
        f"README.md:{block.line} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
        f"{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr
    print(f"README.md:{block.line}: {time.monotonic() - started:.0f} s")
