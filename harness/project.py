"""Drive the real Pulumi CLI (from ``.tools/bin``) on throwaway projects, for end-to-end tests.

    project = PulumiProject(tmp_path / "proj", emulator)      # own backend, PULUMI_HOME, stack
    project.declare(AppleDevicePolicy=..., ...)                # what the program declares
    project.run("up", "--yes")                                  # -> CompletedProcess, checked

The program (``PROGRAM`` below) reads ``resources.json`` beside it on every run, so a test
changes what is declared by rewriting that file, the way a user edits their program.

The engine runs dynamic providers through the SDK's own launcher (``python -m pulumi.dynamic``),
what every user of the official CLI runs.

``PulumiProject(runtime="yaml", program=...)`` runs a Pulumi YAML program instead (on the
official YAML language host that ``scripts/bootstrap-yaml`` installs beside the CLI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from applivery_pulumi.text import version
from harness.emulator import REPO, Emulator

TOOLS_BIN = REPO / ".tools" / "bin"
# The module the dynamic-provider process runs (``python -m …``).
PROVIDER_MODULE = "pulumi.dynamic"
# The virtualenv the tests run in: programs and plugins use the same packages (scripts/test
# runs .venv; scripts/test-ends runs one with the lowest or newest declared versions).
VENV = Path(sys.prefix)
PASSPHRASE = "e2e-passphrase"

PROGRAM = """
import json
from pathlib import Path

import pulumi

from applivery_pulumi import AppleDevicePolicy

spec = json.loads((Path(__file__).parent / "resources.json").read_text())
for item in spec:
    opts = pulumi.ResourceOptions(import_=item.get("import"))
    policy = AppleDevicePolicy(item["name"], item["args"], opts)
    pulumi.export(item["name"], {"version": policy.version, "name": policy.name})
"""


def engine_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the CLI: our engine first on PATH, state and home under ``workdir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "APPLIVERY_"))}
    assert (TOOLS_BIN / "pulumi").exists(), f"run scripts/setup first: no engine in {TOOLS_BIN}"
    env["PATH"] = os.pathsep.join([str(TOOLS_BIN), str(VENV / "bin"), env.get("PATH", "")])
    (workdir / "state").mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}",
            "PULUMI_HOME": str(workdir / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            # As scripts/pulumi-env: the provider plugin from PULUMI_HOME's plugin cache, where
            # PulumiProject installs it, not from PATH (which the engine warns about).
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "NO_COLOR": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Result:
    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def diagnostics(self) -> list[str]:
        """The messages of a ``--json`` run's diagnostic events, each once (the CLI's display
        repeats a message on progress lines and again in its summary)."""
        events = [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]
        return [e["diagnosticEvent"]["message"] for e in events if "diagnosticEvent" in e]


class PulumiFailed(AssertionError):
    pass


# What a failed operation may print: the SDK's host sends the engine the traceback of what it
# caught (its two handler frames and the provider's own).
MAX_TRACEBACK_FRAMES = 3


def assert_short_errors(output: str) -> None:
    """Each traceback in ``output`` (the SDK's host prints one per failed provider call) has at
    most 3 frames and none of the client's internals."""
    blocks = output.split("Traceback (most recent call last):")[1:]
    for block in blocks:
        frames = [ln for ln in block.splitlines() if ln.strip().startswith('File "')]
        assert len(frames) <= MAX_TRACEBACK_FRAMES, block[:4000]
    assert not re.search(r"tenacity|httpx|concurrent/futures|client\.py", output), output[-4000:]


def assert_short_error(output: str, sentence: str) -> None:
    """At most 3 traceback frames, none of the client's internals, and ``sentence`` after them."""
    frames = [ln for ln in output.splitlines() if ln.strip().startswith('File "')]
    assert len(frames) <= MAX_TRACEBACK_FRAMES, output
    assert not re.search(r"tenacity|httpx|concurrent/futures|client\.py", output), output
    at = output.index(sentence)
    assert 'File "' not in output[at:], "the sentence comes after every frame"


class PulumiProject:
    """A Pulumi project directory with its own file backend and a stack named ``test``."""

    indent: int | None = 2  # of resources.json

    def __init__(
        self,
        workdir: Path,
        emulator: Emulator | None,
        *,
        program: str = PROGRAM,
        name: str = "e2e",
        stack: str = "test",
        token: str | None = None,
        config: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        runtime: str = "python",
        virtualenv: Path = VENV,
    ) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.stack = stack
        self.name = name
        self.runtime = runtime
        self.virtualenv = virtualenv
        self.env = engine_env(self.dir, env)
        # What scripts/setup does for a user, into this project's PULUMI_HOME.
        plugin = str(VENV / "bin" / "pulumi-resource-applivery")
        self.run("plugin", "install", "resource", "applivery", version(), "--file", plugin)
        self.set_program(program)
        self.declare([])
        self.run("stack", "init", stack, "--secrets-provider", "passphrase")
        if emulator is not None:
            self.config_set("applivery:baseUrl", emulator.base_url)
            self.config_set("applivery:organizationId", emulator.org)
            token = emulator.token if token is None else token
            if token:
                self.config_set("applivery:apiToken", token, secret=True)
        for key, value in (config or {}).items():
            self.config_set(key, value)

    def set_program(self, program: str) -> None:
        """The program: Python source (``__main__.py``), or with ``runtime="yaml"`` the YAML
        program's sections (``config:``, ``resources:``, ``outputs:``) that follow the project's
        name and runtime in ``Pulumi.yaml``, or a whole ``Pulumi.yaml`` (named ``name``)."""
        if self.runtime == "yaml":
            whole = re.search(r"^runtime:", program, re.MULTILINE)  # a whole Pulumi.yaml
            head = "" if whole else f"name: {self.name}\nruntime: yaml\n"
            (self.dir / "Pulumi.yaml").write_text(head + program)
            return
        (self.dir / "Pulumi.yaml").write_text(
            f"name: {self.name}\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {self.virtualenv}\n"
        )
        (self.dir / "__main__.py").write_text(program)

    def config_set(self, key: str, value: str, *, secret: bool = False) -> None:
        args = ["config", "set", key, "--stack", self.stack]
        if secret:
            args.append("--secret")
        # The value goes through stdin so it never shows in a process listing.
        self.run(*args, input=value)

    def declare(self, resources: list[dict[str, Any]]) -> None:
        """What the program declares: ``[{"name": ..., "args": {...}, "import": id?}]``."""
        (self.dir / "resources.json").write_text(json.dumps(resources, indent=self.indent))

    def command(self, *args: str) -> list[str]:
        """``pulumi ARGS``, on this project's stack (and never prompting) where ARGS need it."""
        cmd = ["pulumi", *args]
        if args and args[0] in {"up", "preview", "refresh", "destroy", "import"}:
            cmd += ["--stack", self.stack, "--non-interactive"]
        if args and args[0] == "stack" and len(args) > 1 and args[1] in {"export", "output"}:
            cmd += ["--stack", self.stack]
        return cmd

    def run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        timeout: float = 600,
        extra_env: Mapping[str, str] | None = None,
    ) -> Result:
        cmd = self.command(*args)
        env = {**self.env, **(extra_env or {})}
        proc = subprocess.run(
            cmd,
            cwd=self.dir,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            # The engine cuts long values in its messages, sometimes inside a UTF-8 sequence.
            errors="replace",
            timeout=timeout,
            check=False,
        )
        result = Result(cmd, proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise PulumiFailed(
                f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}"
                f"\n--- stderr\n{proc.stderr[-4000:]}"
            )
        return result

    def state(self) -> dict[str, Any]:
        exported = json.loads(self.run("stack", "export").stdout)
        return dict(exported)

    def resource_outputs(self, name: str) -> dict[str, Any]:
        for res in self.state()["deployment"].get("resources", []):
            if res["urn"].endswith(f"::{name}"):
                return dict(res.get("outputs", {}))
        raise KeyError(name)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
