"""``applivery-pulumi install-launcher``: the opt-in to this package's dynamic-provider host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from applivery_pulumi.cli import main
from applivery_pulumi.launcher import MARK, NAME, LauncherError, install


def test_writes_an_executable_launcher_that_runs_the_package_host(tmp_path: Path) -> None:
    path = install(tmp_path / "bin")
    assert path == tmp_path / "bin" / NAME
    assert os.access(path, os.X_OK)
    text = path.read_text()
    assert MARK in text
    code = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert any("-m applivery_pulumi.host" in ln for ln in code)
    assert not any("pulumi.dynamic" in ln for ln in code)
    # It is a valid shell script.
    subprocess.run(["sh", "-n", str(path)], check=True)


def test_runs_the_virtualenv_the_engine_names(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "python"
    fake.write_text('#!/bin/sh\necho "ran $*"\n')
    fake.chmod(0o755)
    path = install(tmp_path / "bin")
    env = {"PATH": "/usr/bin:/bin", "PULUMI_RUNTIME_VIRTUALENV": "venv"}
    out = subprocess.run(
        [str(path), "127.0.0.1:1"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "ran -u -m applivery_pulumi.host 127.0.0.1:1"
    missing = subprocess.run(
        [str(path)],
        cwd=tmp_path,
        env={**env, "PULUMI_RUNTIME_VIRTUALENV": "nowhere"},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "no virtualenv at" in missing.stderr


def test_replaces_its_own_file_but_never_a_file_it_did_not_write(tmp_path: Path) -> None:
    install(tmp_path)
    install(tmp_path)  # its own: replaced
    foreign = tmp_path / "other"
    foreign.mkdir()
    (foreign / NAME).write_text("#!/bin/sh\nexec python3 -m pulumi.dynamic\n")
    with pytest.raises(LauncherError, match="not written by applivery-pulumi"):
        install(foreign)
    assert "pulumi.dynamic" in (foreign / NAME).read_text()


def test_never_writes_through_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("keep me")
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / NAME).symlink_to(elsewhere)
    with pytest.raises(LauncherError, match="symbolic link"):
        install(folder)
    assert elsewhere.read_text() == "keep me"
    (tmp_path / "linked").symlink_to(folder)
    with pytest.raises(LauncherError, match="symbolic link"):
        install(tmp_path / "linked")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install-launcher", str(tmp_path)]) == 0
    assert "first on PATH" in capsys.readouterr().out
    (tmp_path / NAME).write_text("not ours")
    assert main(["install-launcher", str(tmp_path)]) == 1
    assert "error:" in capsys.readouterr().err
