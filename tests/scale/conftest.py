"""Fixtures of the scale suite: a real moto S3 server on loopback, a real emulator, projects
whose Pulumi state lives in that server's bucket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator, new_object_id, start_emulator
from harness.project import PulumiProject
from harness.s3 import S3Server, start_s3
from tests.reliability.support import seed_catalogue


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3Server]:
    with start_s3(tmp_path / "s3") as server:
        yield server


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "emulator", token="scale-" + new_object_id()) as e:
        seed_catalogue(e)
        yield e


@pytest.fixture
def make_project(tmp_path: Path, s3: S3Server) -> Callable[..., PulumiProject]:
    """``make_project(emu, **PulumiProject kwargs)``: a project whose state is in ``s3``."""
    made = 0

    def make(emu: Emulator | None, **kwargs: Any) -> PulumiProject:
        nonlocal made
        made += 1
        env = {**s3.engine_env(), **kwargs.pop("env", {})}
        return PulumiProject(tmp_path / f"project{made}", emu, env=env, **kwargs)

    return make
