"""The two stacks a benchmark compares, and one timed run of the real CLI on either.

* ``ours``: N ``AppleDevicePolicy`` resources adopting N seeded policies of the emulator;
* ``floor``: N ``benchmarks.floor.FloorResource`` (a do-nothing dynamic provider) with the very
  same inputs.

Both programs read ``resources.json`` beside them, run under the same CLI (``.tools/bin``), with
a file backend of their own, the same ``--parallel`` and the same provider host (the SDK's,
``python -m pulumi.dynamic``, through the ``pulumi-resource-pulumi-python`` launcher).
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness.emulator import REPO, Emulator
from harness.project import VENV, PulumiProject

PROGRAMS = {
    "ours": """
import os
if os.environ.get("BENCH_PROFILE_PROGRAM"):
    import benchmarks.program_profile
import json
from pathlib import Path

from applivery_pulumi import AppleDevicePolicy

for item in json.loads((Path(__file__).parent / "resources.json").read_text()):
    AppleDevicePolicy(item["name"], item["args"])
""",
    # The same policies through the provider plugin (pulumi-resource-applivery, on PATH from the
    # virtualenv): `python -m benchmarks --provider plugin`.
    "ours-plugin": """
import os
if os.environ.get("BENCH_PROFILE_PROGRAM"):
    import benchmarks.program_profile
import json
from pathlib import Path

from applivery_pulumi.native import AppleDevicePolicy

for item in json.loads((Path(__file__).parent / "resources.json").read_text()):
    AppleDevicePolicy(item["name"], item["args"])
""",
    "floor": """
import os
if os.environ.get("BENCH_PROFILE_PROGRAM"):
    import benchmarks.program_profile
import json
from pathlib import Path

from benchmarks.floor import FloorResource

for item in json.loads((Path(__file__).parent / "resources.json").read_text()):
    FloorResource(item["name"], item["args"])
""",
}

APP = "698f42e5457fafa13d0887b1"
# Policies per organization.  The emulator renders every answer from all the policies and profiles
# of the organization (``profiles[].assignedTo``), so one organization of N policies would cost it
# O(N) per request, quadratic in all - the emulator's cost, run on the same 2 cores, not ours.
# Organizations of 10 keep its cost per request the same at every N.
PER_ORGANIZATION = 10
PASSPHRASE = "benchmark-passphrase"


def policy_id(i: int) -> str:
    return f"5e{i:022x}"


def profile_id(i: int) -> str:
    return f"af{i:022x}"


def organization(i: int) -> str:
    return f"bench-{i // PER_ORGANIZATION:04d}"


def declared(i: int, version: int = 0) -> dict[str, Any]:
    """What policy ``i`` declares; ``version`` > 0 changes its name (a one-field update)."""
    name = f"Bench policy {i}" + (f" v{version}" if version else "")
    return {
        "policyId": policy_id(i),
        "organizationId": organization(i),
        "name": name,
        # One profile per policy: a profile shared by all N policies would make every answer of
        # the service list all N policies (profiles[].assignedTo), a cost of the service.
        "profiles": [profile_id(i)],
        "applications": [{"admApplication": APP, "managed": True, "action": "forceInstall"}],
        "agentConfiguration": {
            "allowLocation": True,
            "appBlacklist": [{"bundleId": "com.example.games", "action": "block"}],
        },
        "scripts": [{"type": "loop", "loopTime": 3600, "name": "Compliance", "runner": "bash"}],
        "segmentId": 1,
        "exposeToChildren": False,
    }


def declaration(n: int, changed: int = 0, version: int = 0) -> list[dict[str, Any]]:
    """The N resources; ``changed`` of them (spread evenly) declare name version ``version``."""
    picked = set(changed_indexes(n, changed))
    return [
        {"name": f"policy-{i:04d}", "args": declared(i, version if i in picked else 0)}
        for i in range(n)
    ]


def changed_indexes(n: int, k: int) -> list[int]:
    """``k`` indexes spread evenly over ``range(n)``."""
    if k <= 0:
        return []
    step = n / k
    return sorted({int(j * step) for j in range(k)})


def seed_document(n: int) -> dict[str, Any]:
    """N policies (as the dashboard made them) and their N profiles, for ``--seed``."""
    orgs: dict[str, dict[str, Any]] = {}
    for i in range(n):
        org = orgs.setdefault(
            organization(i), {"id": organization(i), "profiles": [], "policies": []}
        )
        org["profiles"].append({"id": profile_id(i), "name": f"Profile {i:04d}"})
        org["policies"].append({"id": policy_id(i), "name": f"Seeded {i}"})
    return {"organizations": list(orgs.values())}


# -- processes -----------------------------------------------------------------------------------


def role(proc: psutil.Process) -> str | None:
    """Which part of a Pulumi run a process is (by its command line)."""
    try:
        cmdline = " ".join(proc.cmdline())
        name = proc.name()
    except (psutil.Error, OSError):
        return None
    if any(p in cmdline for p in ("pulumi.dynamic", "resource-applivery")):
        return "provider"
    if "pulumi_language_python" in cmdline:
        return "langhost"
    if "pulumi-language-python-exec" in cmdline:
        return "program"
    if name.startswith("pulumi"):
        return "engine"
    return None


class Sampler(threading.Thread):
    """Samples the CLI's process tree: CPU seconds by role, peak RSS of the provider host."""

    def __init__(self, root: int, period: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.period = period
        self.stop_event = threading.Event()
        self.cpu: dict[int, tuple[str, float]] = {}
        self.provider_rss_peak = 0
        self.provider_pids: set[int] = set()
        self._roles: dict[int, str | None] = {}
        self._procs: dict[int, psutil.Process] = {}

    def run(self) -> None:
        try:
            root = psutil.Process(self.root)
        except psutil.Error:
            return
        while not self.stop_event.is_set():
            self.sample(root)
            self.stop_event.wait(self.period)

    def sample(self, root: psutil.Process) -> None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            pid = proc.pid
            if pid not in self._procs:
                self._procs[pid] = proc
            proc = self._procs[pid]
            # Not cached: the launcher (a shell script named pulumi-resource-...) forks a
            # shell that execs the provider host under the same pid, so a process can change
            # roles once.
            if self._roles.get(pid) != "provider":
                self._roles[pid] = role(proc)
            kind = self._roles[pid]
            if kind is None:
                continue
            try:
                times = proc.cpu_times()
                cpu = times.user + times.system
                if kind == "provider":
                    self.provider_pids.add(pid)
                    self.provider_rss_peak = max(self.provider_rss_peak, proc.memory_info().rss)
            except (psutil.Error, OSError):
                continue
            self.cpu[pid] = (kind, cpu)

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind, cpu in self.cpu.values():
            out[kind] = round(out.get(kind, 0.0) + cpu, 3)
        return out


@dataclass
class Timed:
    args: Sequence[str]
    seconds: float
    cpu_seconds: float
    cpu_by_role: dict[str, float]
    provider_rss_peak: int
    returncode: int
    output: str = field(repr=False)


class Stack(PulumiProject):
    """A project (``ours`` or ``floor``) with its own file backend and a stack named ``bench``."""

    indent = None  # the program reads resources.json on every run: compact, at N=1000 too

    def __init__(
        self,
        kind: str,
        workdir: Path,
        emulator: Emulator,
        *,
        parallel: int,
        env: Mapping[str, str] | None = None,
        virtualenv: Path = VENV,
        program: str | None = None,
    ) -> None:
        self.kind = kind
        self.parallel = parallel
        # engine_env drops inherited APPLIVERY_* variables: the plugin's thread count passes.
        threads = os.environ.get("APPLIVERY_PULUMI_PROVIDER_THREADS")
        extra = {"APPLIVERY_PULUMI_PROVIDER_THREADS": threads} if threads else {}
        extra.update(env or {})
        # The floor's provider class is imported by reference (program and provider host).
        pythonpath = extra.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
        extra["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), pythonpath) if p)
        extra["PULUMI_CONFIG_PASSPHRASE"] = PASSPHRASE
        # The emulator's configuration, the same for both (the floor ignores it).
        super().__init__(
            workdir,
            emulator,
            program=PROGRAMS[program or kind],
            name=f"bench-{kind}",
            stack="bench",
            env=extra,
            virtualenv=virtualenv,
        )

    def timed(
        self, *args: str, extra_env: Mapping[str, str] | None = None, timeout: float = 3600
    ) -> Timed:
        """Run ``pulumi ARGS --stack bench --non-interactive --parallel P``, timed and sampled."""
        cmd = [*self.command(*args), "--parallel", str(self.parallel)]
        env = {**self.env, **(extra_env or {})}
        log = self.dir / "last-run.log"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(log, "w") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(
                cmd, cwd=self.dir, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            sampler = Sampler(proc.pid)
            sampler.start()
            try:
                code = proc.wait(timeout)
            finally:
                sampler.stop_event.set()
                sampler.join()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        output = log.read_text(errors="replace")
        result = Timed(
            cmd,
            seconds,
            cpu,
            sampler.cpu_by_role(),
            sampler.provider_rss_peak,
            code,
            output,
        )
        if code != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{output[-6000:]}")
        return result
