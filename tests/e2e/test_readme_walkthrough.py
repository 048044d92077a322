"""README's walk-through, run as written: from an empty folder to a drift-checked stack.

Its commands come from README.md (see `tests/examples/walkthrough.py` for how they are marked)
and run in one shell in a fresh folder outside this repository: the emulator started as README
says (`applivery-emulator --seed-example`, the seed installed with the package), the export,
the Python program on the official CLI's dynamic-provider launcher, the YAML program on the
provider plugin.  Each command must succeed and print what README shows after it.

Two things are the test's own: the install line (pip would download and build the whole
dependency tree: the test installs a wheel built from these sources into the virtualenv that
README's `python3 -m venv` made, with `--no-deps`, and lends it the test virtualenv's
dependencies through a `.pth` file, so the package runs as installed, not from this checkout),
and the emulator's port (README's 8787 may be taken on a machine running other tests: a free
one, in every command).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.emulator import REPO
from harness.project import TOOLS_BIN, VENV, engine_env
from harness.wheel import build_wheel
from tests.examples.walkthrough import blocks, outputs, script

pytestmark = pytest.mark.e2e

README = REPO / "README.md"
WALK = blocks(README)
SHOWN_URL = "127.0.0.1:8787"
TOKEN = "dev-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def on_port(text: str, port: int) -> str:
    """README's text with the emulator on ``port``: in its URLs and its command line."""
    if text.startswith("applivery-emulator --"):  # the command, not its output
        text += f" --port {port}"
    return text.replace(SHOWN_URL, f"127.0.0.1:{port}")


def installer(wheel: Path) -> Callable[[str], str]:
    """The install step: the wheel of these sources into the virtualenv README's `python3 -m
    venv` made, without dependencies; a `.pth` file lends it those of the test's virtualenv."""
    lend = sysconfig.get_paths()["purelib"]
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"

    def install(line: str) -> str:
        assert line.startswith(".venv/bin/pip install "), line
        return (
            f".venv/bin/pip install --quiet --no-deps --no-index {wheel}\n"
            f'echo {lend} >"$(.venv/bin/python -c "{purelib}")/walk-through-dependencies.pth"'
        )

    return install


def puts(counters: Path) -> int:
    """PUTs of the policy API so far, from a snapshot (none before the emulator runs)."""
    text = counters.read_text() if counters.exists() else ""
    if not text:
        return 0
    requests = json.loads(text)["data"]["requests"]
    return sum(n for key, n in requests.items() if key.startswith("PUT /v1"))


def stop(pid_file: Path) -> None:
    """Stop a background block's session (the shell and the emulator it started) and wait."""
    if not pid_file.exists():
        return
    group = int(pid_file.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.killpg(group, 0)  # ProcessLookupError once every member has exited
            time.sleep(0.1)
        os.killpg(group, signal.SIGKILL)


def test_readme_marks_a_whole_walk_through() -> None:
    kinds = [block.kind for block in WALK]
    assert kinds[0] == "install" and kinds.count("background") == 1, kinds
    files = [block.name for block in WALK if block.kind == "file"]
    assert files == ["Pulumi.yaml", "__main__.py", "Pulumi.yaml"], files
    lines = [c.line for block in WALK if block.kind != "file" for c in block.commands]
    assert any("applivery-emulator --seed-example" in line for line in lines), lines
    assert any(line.startswith("applivery-pulumi export") for line in lines), lines
    for verb in ("up --yes", "preview --expect-no-changes", "refresh"):
        assert any(line.startswith(f"pulumi {verb}") for line in lines), verb


def test_the_walk_through_runs_as_written_on_the_launcher_and_the_plugin(tmp_path: Path) -> None:
    port = free_port()
    workdir = tmp_path / "user"
    workdir.mkdir()
    counters = tmp_path / "counters"
    counters.mkdir()
    url = f"http://127.0.0.1:{port}"
    walk = script(
        WALK,
        tmp_path,
        install=installer(build_wheel(tmp_path / "wheel")),
        edit=lambda text: on_port(text, port),
        # Admin calls count in no counter: the snapshot after each command changes nothing.
        after_each=f'curl -sf -H "Authorization: Bearer {TOKEN}" {url}/_emulator/counters '
        f'>{counters}/"$WALK_STEP" || true; WALK_STEP=$((WALK_STEP + 1))',
    )
    env = engine_env(tmp_path)
    # What README's own lines set: the state's place, the passphrase, the virtualenv on PATH,
    # plugins from the plugin cache only.
    for name in (
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "VIRTUAL_ENV",
        "PULUMI_IGNORE_AMBIENT_PLUGINS",
    ):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if p and Path(p) != VENV / "bin"
    )
    assert str(TOOLS_BIN) in env["PATH"]
    env["WALK_STEP"] = "0"
    (tmp_path / "walk-through.sh").write_text(walk.text)
    try:
        proc = subprocess.run(
            ["bash", str(tmp_path / "walk-through.sh")],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
    finally:
        for pid_file in walk.background:
            stop(pid_file)
    printed = outputs(proc.stdout)
    last = max(printed, default=-1)
    assert proc.returncode == 0, (
        f"exit {proc.returncode} at `{walk.commands[last].line if last >= 0 else '(start)'}`:\n"
        + proc.stdout[-6000:]
    )
    assert sorted(printed) == list(range(len(walk.commands)))
    for index, command in enumerate(walk.commands):
        missing = command.matches(printed[index])
        assert not missing, (
            f"`{command.line}` did not print, in README's order:\n"
            + "\n".join(missing)
            + f"\n--- it printed:\n{printed[index]}"
        )

    # The package ran as installed from the wheel, not from this checkout.
    python = workdir / "mdm-policies" / ".venv" / "bin" / "python"
    where = "import applivery_emulator as e, applivery_pulumi as p; print(e.__file__, p.__file__)"
    installed = subprocess.run([python, "-c", where], capture_output=True, text=True, check=True)
    for module in installed.stdout.split():
        assert Path(module).is_relative_to(workdir), installed.stdout

    # Adoption writes nothing; the repair and the YAML program's adoption one PUT each.
    writes, before = [], 0
    for index, command in enumerate(walk.commands):
        now = puts(counters / str(index))
        writes.append((command.line.split()[:2], now - before))
        before = now
    assert [n for words, n in writes if words == ["pulumi", "up"]] == [0, 1, 1], writes
    assert [n for words, n in writes if words[0] == "curl"] == [1], writes
    assert sum(n for _, n in writes) == 3, writes


def test_the_yaml_program_runs_on_the_plugin_and_the_python_one_on_the_launcher() -> None:
    """What the walk-through's output checks prove: README shows each program's type token."""
    shown = "\n".join(b.body for b in WALK if b.kind == "run")
    assert "pulumi-python:dynamic/applivery:AppleDevicePolicy" in shown
    assert "applivery:index:AppleDevicePolicy byod created" in shown
    # The plugin comes from the plugin cache, where the walk-through installs it: no warning.
    assert "pulumi plugin install resource applivery" in shown
    assert "from $PATH" not in shown
