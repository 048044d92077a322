"""End to end: the passphrase of the stacks a user drives through scripts/ (issue 13).

`. scripts/pulumi-env` refuses any stack command without a passphrase (unset or empty) before
Pulumi runs; scripts/local gives its built-in one to the bundled `local` stack alone and passes
the emulator's token by environment, never on a command line.  The real CLI and emulator, as
README tells users to run them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness.emulator import REPO, new_object_id

pytestmark = pytest.mark.e2e


NO_PASSPHRASE = "pulumi: no passphrase for the stack's secrets: export PULUMI_CONFIG_PASSPHRASE"
LOCAL_TOKEN = b"local-emulator-token"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "APPLIVERY_"))}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def sourced(cwd: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``pulumi ARGS`` in a shell that sourced scripts/pulumi-env, as README tells users to."""
    script = f'. "{REPO}/scripts/pulumi-env" && pulumi "$@"'
    return subprocess.run(
        ["bash", "-c", script, "pulumi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def bare_project(tmp_path: Path) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "Pulumi.yaml").write_text("name: guarded\nruntime: yaml\n")
    return tmp_path / "proj"


def backend(project: Path, **extra: str) -> dict[str, str]:
    (project.parent / "state").mkdir(exist_ok=True)
    return clean_env(
        PULUMI_BACKEND_URL=f"file://{project.parent / 'state'}",
        PULUMI_HOME=str(project.parent / "home"),
        **extra,
    )


# -- 1. the passphrase ------------------------------------------------------------------------


@pytest.mark.parametrize("passphrase", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize(
    "args",
    [
        ["stack", "init", "production"],
        ["preview", "--stack", "production", "--non-interactive"],
        ["up", "--yes", "--stack", "production"],
        ["config", "set", "--secret", "applivery:apiToken", "tok", "--stack", "production"],
        ["--cwd", ".", "stack", "select", "--create", "production"],
    ],
    ids=["stack-init", "preview", "up", "config-set-secret", "stack-select-create"],
)
def test_pulumi_env_refuses_a_stack_without_a_passphrase_before_pulumi_runs(
    bare_project: Path, passphrase: str | None, args: list[str]
) -> None:
    extra = {} if passphrase is None else {"PULUMI_CONFIG_PASSPHRASE": passphrase}
    result = sourced(bare_project, args, backend(bare_project, **extra))
    assert result.returncode != 0
    assert result.stderr.startswith(NO_PASSPHRASE), result.stderr
    assert "scripts/local" in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    # Pulumi never ran: no stack in the backend, no stack config file, no PULUMI_HOME.
    assert list((bare_project.parent / "state").iterdir()) == []
    assert not (bare_project / "Pulumi.production.yaml").exists()
    assert not (bare_project.parent / "home").exists()


# A global flag's value is never taken for the command: each of these once ran `stack init`
# without a passphrase, the guard reading `version`, `plugin`, `-h` or `stack ls` as a command
# that touches no stack.
@pytest.mark.parametrize(
    "args",
    [
        ["--otel-traces", "version", "stack", "init", "s4"],
        ["--otel-traces", "plugin", "stack", "init", "s4"],
        ["--otel-traces", "-h", "stack", "init", "s4"],
        ["--profiling", "help", "stack", "init", "s4"],
        ["-v", "3", "--tracing-header", "login", "stack", "init", "s4"],
        ["-ev=3", "stack", "init", "s4"],
        ["stack", "--stack", "ls", "init", "s4"],
    ],
    ids=[
        "otel-version",
        "otel-plugin",
        "otel-help",
        "profiling-help",
        "hidden-flag",
        "cluster",
        "flag-before-subcommand",
    ],
)
def test_a_flag_value_never_passes_for_a_command(bare_project: Path, args: list[str]) -> None:
    result = sourced(bare_project, args, backend(bare_project, PULUMI_CONFIG_PASSPHRASE=""))
    assert result.returncode == 2
    assert result.stderr.startswith(NO_PASSPHRASE), result.stderr
    assert list((bare_project.parent / "state").iterdir()) == []
    assert not (bare_project.parent / "home").exists()


@pytest.mark.parametrize(
    "args", [["--no-such-flag", "version"], ["-x", "stack", "ls"], ["--", "stack", "init", "s4"]]
)
def test_what_the_guard_cannot_classify_is_refused(bare_project: Path, args: list[str]) -> None:
    result = sourced(bare_project, args, backend(bare_project, PULUMI_CONFIG_PASSPHRASE=""))
    assert result.returncode == 2
    assert result.stderr.startswith("pulumi: cannot tell which command"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert list((bare_project.parent / "state").iterdir()) == []


def test_the_guard_knows_every_global_flag_of_the_engine(bare_project: Path) -> None:
    """Each flag `pulumi --help` lists, given before `stack init` (a value flag with the value
    `version`), is classified: the check applies, nothing is refused as unknown.  A new engine
    with a new global flag fails here, not in a user's shell."""
    env = backend(bare_project, PULUMI_CONFIG_PASSPHRASE="")
    listed = sourced(bare_project, ["--help"], env).stdout.split("\nFlags:\n", 1)[1]
    flags: list[list[str]] = []
    for line in listed.split("\n\n", 1)[0].splitlines():
        # "  -C, --cwd string   Run pulumi as if ...": names and a value's type, then 3+ spaces.
        words = re.split(r"\s{3,}", line.strip())[0].replace(",", " ").split()
        names = [w for w in words if w.startswith("-")]
        takes_value = len(words) > len(names)
        flags += [[name, "version"] if takes_value else [name] for name in names]
    assert len(flags) >= 15, listed
    for flag in flags:
        if flag[0] in {"-h", "--help"}:
            continue
        result = sourced(bare_project, [*flag, "stack", "init", "s4"], env)
        assert result.stderr.startswith(NO_PASSPHRASE), (flag, result.stderr)
    assert list((bare_project.parent / "state").iterdir()) == []


def test_commands_that_touch_no_stack_run_without_a_passphrase(bare_project: Path) -> None:
    env = backend(bare_project, PULUMI_CONFIG_PASSPHRASE="")
    assert sourced(bare_project, ["version"], env).stdout.startswith("v3.")
    assert sourced(bare_project, ["stack", "ls"], env).returncode == 0
    assert "Usage" in sourced(bare_project, ["up", "--help"], env).stdout
    # Global flags, with their values in each form pflag reads, before such a command.
    assert sourced(bare_project, ["--color", "never", "version"], env).stdout.startswith("v3.")
    assert sourced(bare_project, ["-v=3", "--emoji", "version"], env).stdout.startswith("v3.")
    assert sourced(bare_project, ["-C", str(bare_project), "stack", "ls"], env).returncode == 0
    assert sourced(bare_project, ["--color", "never", "stack", "--help"], env).returncode == 0


def test_a_passphrase_file_is_used_even_beside_an_empty_passphrase(bare_project: Path) -> None:
    # CI: PULUMI_CONFIG_PASSPHRASE comes empty from a missing secret while the file is set.
    # Pulumi alone would take the empty variable over the file.
    secret_file = bare_project.parent / "passphrase.txt"
    secret_file.write_text("from-the-file\n")
    env = backend(
        bare_project, PULUMI_CONFIG_PASSPHRASE="", PULUMI_CONFIG_PASSPHRASE_FILE=str(secret_file)
    )
    for args in (["stack", "init", "production"], ["config", "set", "--secret", "k", "v"]):
        result = sourced(bare_project, args, env)
        assert result.returncode == 0, result.stderr
    # The real engine, with the file's passphrase given directly, decrypts it.
    direct = clean_env(**{k: v for k, v in env.items() if k.startswith("PULUMI_")})
    direct.pop("PULUMI_CONFIG_PASSPHRASE_FILE")
    direct["PULUMI_CONFIG_PASSPHRASE"] = "from-the-file"
    got = subprocess.run(
        [str(REPO / ".tools" / "bin" / "pulumi"), "config", "get", "k", "--stack", "production"],
        cwd=bare_project,
        env=direct,
        capture_output=True,
        text=True,
        check=False,
    )
    assert got.returncode == 0 and got.stdout.strip() == "v", got.stderr

    empty_file = bare_project.parent / "empty.txt"
    empty_file.write_text("\n")
    env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(empty_file)
    refused = sourced(bare_project, ["preview", "--stack", "production"], env)
    assert refused.returncode != 0
    assert refused.stderr.startswith("pulumi: PULUMI_CONFIG_PASSPHRASE_FILE")


def test_why_the_guard_pulumi_alone_takes_an_empty_passphrase(bare_project: Path) -> None:
    # What README says of Pulumi itself: an empty PULUMI_CONFIG_PASSPHRASE is a passphrase, and
    # it wins over PULUMI_CONFIG_PASSPHRASE_FILE.
    secret_file = bare_project.parent / "passphrase.txt"
    secret_file.write_text("from-the-file\n")
    engine = str(REPO / ".tools" / "bin" / "pulumi")

    def direct(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [engine, *args, "--non-interactive"],
            cwd=bare_project,
            env=backend(bare_project, **extra),
            capture_output=True,
            text=True,
            check=False,
        )

    both = {"PULUMI_CONFIG_PASSPHRASE": "", "PULUMI_CONFIG_PASSPHRASE_FILE": str(secret_file)}
    assert direct("stack", "init", "production", **both).returncode == 0
    assert direct("config", "set", "--secret", "k", "v", **both).returncode == 0
    assert direct("config", "get", "k", PULUMI_CONFIG_PASSPHRASE="").stdout.strip() == "v"
    wrong = direct("config", "get", "k", PULUMI_CONFIG_PASSPHRASE_FILE=str(secret_file))
    assert wrong.returncode != 0, "the file's passphrase was not the one used"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clone_for_local(root: Path) -> tuple[Path, int]:
    """What scripts/local needs of this clone, on a free port, with the clone's .venv and .tools."""
    clone = root / "clone"
    ignore = shutil.ignore_patterns("__pycache__", ".state")
    for name in ("scripts", "stacks"):
        # symlinks: stacks/.venv is ../.venv, which is the clone's link to this clone's .venv
        shutil.copytree(REPO / name, clone / name, ignore=ignore, symlinks=True)
    for name in ("Pulumi.yaml", "pyproject.toml"):
        shutil.copy2(REPO / name, clone / name)
    for name in (".venv", ".tools"):
        (clone / name).symlink_to(REPO / name)
    (clone / "scripts" / "setup").write_text("#!/bin/sh\n# .venv and .tools: the clone's own\n")
    port = _free_port()
    for path, old in ((clone / "scripts" / "local", "port=8787"),
                      (clone / "stacks" / "Pulumi.local.yaml", "127.0.0.1:8787")):  # fmt: skip
        text = path.read_text()
        assert old in text, f"{path} changed: this test must move it to a free port"
        path.write_text(text.replace(old, old.replace("8787", str(port))))
    return clone, port


def _watch_command_lines(clone: Path, port: int, done: threading.Event) -> list[bytes]:
    """Command lines of the processes scripts/local starts (in the clone, or its emulator)."""
    seen: list[bytes] = []

    def scan() -> None:
        while not done.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                    cwd = os.readlink(entry / "cwd")
                except OSError:
                    continue
                ours = cwd.startswith(str(clone)) or f"--port\0{port}\0".encode() in cmdline
                if ours and cmdline not in seen:
                    seen.append(cmdline)
            time.sleep(0.05)

    threading.Thread(target=scan, daemon=True).start()
    return seen


def test_scripts_local_has_its_own_passphrase_and_keeps_the_token_off_command_lines(
    tmp_path: Path,
) -> None:
    clone, port = _clone_for_local(tmp_path)
    done = threading.Event()
    seen = _watch_command_lines(clone, port, done)
    try:
        # No passphrase at all, and a token for the real service in the shell: neither reaches
        # the local stack.
        first = subprocess.run(
            [str(clone / "scripts" / "local"), "up", "--yes"],
            env=clean_env(APPLIVERY_API_TOKEN="real-service-token-" + new_object_id()),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        # A passphrase exported for other stacks: the local stack still uses its own.
        again = subprocess.run(
            [str(clone / "scripts" / "local"), "config", "get", "applivery:apiToken"],
            env=clean_env(PULUMI_CONFIG_PASSPHRASE="the-production-passphrase"),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
        assert again.stdout.strip().endswith(LOCAL_TOKEN.decode())
    finally:
        done.set()
    emulators = [c for c in seen if b"applivery-emulator" in c and b"--port" in c]
    assert emulators, "the emulator scripts/local started was seen"
    assert [c for c in seen if LOCAL_TOKEN in c] == [], "the token is on a command line"
