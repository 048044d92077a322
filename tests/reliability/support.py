"""Helpers of the reliability suite: figures, declarations, checks of what the emulator stores,
the CLI as a background process (to interrupt it or sample its provider), the request log.

Everything runs the real CLI (``harness/project.py``) against a real emulator process
(``harness/emulator.py``); nothing here mocks either.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from harness.emulator import REPO, Emulator
from harness.project import PROVIDER_MODULE, PulumiProject, Result, assert_short_errors

# The command line of a provider plugin process (the engine starts it from the virtualenv's bin).
PLUGIN_COMMAND = "pulumi-resource-applivery"
FIGURES = REPO / ".state" / "reliability"

PROFILES = (
    "698f42e5457fafa13d088794",
    "698f42e5457fafa13d088795",
    "698f42e5457fafa13d088796",
)
APPS = ("698f42e5457fafa13d0887b1", "698f42e5457fafa13d0887b2")

# The one-sentence errors of the provider (api/errors.py, api/transport.py, lifecycle.py): what
# a user may see when a run fails because of the service, never a Python traceback.
CLEAR_FAILURES = (
    "after every retry",
    "kept answering 429",
    "could not reach Applivery",
    "not the API's JSON",
)


def record(test: str, figures: Mapping[str, Any]) -> Path:
    """Write the figures of ``test`` to ``.state/reliability/<test>.json`` and print them."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{test}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
    print(f"\n[reliability] {test}: {json.dumps(figures, sort_keys=True, default=str)}")
    return path


def seed_catalogue(emu: Emulator) -> None:
    for i, profile in enumerate(PROFILES):
        emu.create_profile(id=profile, name=f"Profile {i}")


def declaration(i: int, policy_id: str, *, variant: str = "a") -> dict[str, Any]:
    """A valid, fairly complete declaration; ``i`` and ``variant`` vary every top-level field."""
    args: dict[str, Any] = {
        "policyId": policy_id,
        "name": f"Policy {i:03d} ({variant})",
        "profiles": [PROFILES[i % 3], PROFILES[(i + 1) % 3]] if i % 4 else [PROFILES[i % 3]],
        "applications": [
            {
                "admApplication": APPS[i % 2],
                "managed": i % 2 == 0,
                "action": ("forceInstall", "available", "requiredForSetup")[i % 3],
            }
        ],
        "agentConfiguration": {
            "allowLocation": i % 2 == 0,
            "allowPackageTime": variant == "b",
            "appBlacklist": [{"bundleId": f"com.example.app{i}", "action": "block"}],
        },
        "scripts": [
            {"type": "loop", "loopTime": 60 * (i + 1), "name": f"check-{variant}", "runner": "bash"}
        ],
        "segmentId": 1 + i % 5,
        "exposeToChildren": i % 3 == 0,
    }
    if i % 5 == 0:
        args["bookmarks"] = [{"title": f"Portal {i}", "url": f"https://portal.example/{i}"}]
    return args


# -- what the emulator stores, compared with a declaration (independently of the provider) ----

_KEYED = {
    "applications": lambda item: item.get("admApplication"),
    "books": lambda item: (item.get("type"), item.get("id")),
    "assets": lambda item: (item.get("mdmAssetId"), item.get("location")),
    "appBlacklist": lambda item: item.get("bundleId"),
}
_MISSING = object()


def mismatches(declared: Any, stored: Any, path: str = "") -> list[str]:
    """Where the stored document (a GET answer) does not hold the declared value."""
    name = re.split(r"[.\[]", path)[-1] if path else ""
    if stored is _MISSING:
        return [f"{path}: missing"]
    if isinstance(declared, dict):
        if not isinstance(stored, dict):
            return [f"{path}: not an object"]
        out: list[str] = []
        for key, value in declared.items():
            if key == "actionStatus":
                continue  # read-only, derived by the service
            if key == "managementFlags" and key not in stored:
                continue  # a GET never shows it
            out += mismatches(value, stored.get(key, _MISSING), f"{path}.{key}" if path else key)
        return out
    if isinstance(declared, list):
        if not isinstance(stored, list) or len(stored) != len(declared):
            return [f"{path}: {len(declared)} items declared, stored {stored!r:.200}"]
        if name == "profiles":
            ids = sorted(p["id"] if isinstance(p, dict) else p for p in stored)
            return [] if ids == sorted(declared) else [f"{path}: {ids} != {sorted(declared)}"]
        if name in _KEYED:
            key = _KEYED[name]
            by_key = {key(s): s for s in stored if isinstance(s, dict)}
            out = []
            for i, item in enumerate(declared):
                out += mismatches(item, by_key.get(key(item), _MISSING), f"{path}[{i}]")
            return out
        out = []
        for i, (d, s) in enumerate(zip(declared, stored, strict=True)):
            out += mismatches(d, s, f"{path}[{i}]")
        return out
    if name == "segmentId":
        ok = str(stored) == str(declared)
    elif isinstance(declared, bool) or isinstance(stored, bool):
        ok = declared is stored
    else:
        ok = declared == stored
    return [] if ok else [f"{path}: declared {declared!r:.80}, stored {stored!r:.80}"]


def body_of(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in args.items() if k not in {"policyId", "organizationId", "restoreOnDelete"}
    }


def assert_all_stored_as_declared(
    emu: Emulator, declared: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every policy (id → declared args) holds its declaration; returns the stored documents."""
    docs = {doc["id"]: doc for doc in emu.list_policies()}
    problems = {
        pid: mismatches(body_of(args), docs.get(pid, _MISSING)) for pid, args in declared.items()
    }
    problems = {pid: found for pid, found in problems.items() if found}
    assert not problems, f"{len(problems)} policies differ from their declaration: {problems}"
    return docs


# -- output checks -----------------------------------------------------------------------------


def assert_no_traceback(result: Result) -> None:
    """Short tracebacks at most (see ``assert_short_errors``)."""
    assert_short_errors(result.output)


_RAISED = re.compile(r"^applivery_pulumi\.api\.errors\.\w+: (.*)$")


def error_lines(result: Result) -> list[str]:
    """The ``error:`` lines of the Diagnostics section, one per error.

    The SDK's provider host reports an error as ``error: Traceback …``, its frames, then
    ``applivery_pulumi.api.errors.<Class>: <sentence>``: that is read as ``error: <sentence>``.
    """
    text = result.output
    diagnostics = text.split("Diagnostics:", 1)[1] if "Diagnostics:" in text else text
    out: list[str] = []
    in_traceback = False
    for raw in diagnostics.splitlines():
        line = raw.strip()
        if line == "error: Traceback (most recent call last):":
            in_traceback = True
        elif in_traceback and (raised := _RAISED.match(line)):
            out.append(f"error: {raised.group(1)}")
            in_traceback = False
        elif line.startswith("error:"):
            in_traceback = False
            out.append(line)
    return out


# -- the emulator's request log ----------------------------------------------------------------

_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT[\d:.]+) applivery-emulator (?P<method>[A-Z]+) (?P<path>/v1/\S+) "
    r"(?P<status>\S+) (?P<ms>[\d.]+)ms(?: fault=(?P<fault>\S+))?"
)


@dataclass(frozen=True)
class Request:
    start: float
    end: float
    method: str
    path: str
    status: str
    fault: str | None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def request_log(emu: Emulator) -> str:
    """The emulator's request log (stderr) so far; offsets into it stay valid as it grows."""
    return emu.stderr_path.read_text(encoding="utf-8", errors="replace")


def requests_in_log(text: str) -> list[Request]:
    """The /v1 requests of the emulator's log, in the order they were answered."""
    found = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        end = datetime.fromisoformat(m["ts"]).timestamp()
        found.append(
            Request(
                start=end - float(m["ms"]) / 1000,
                end=end,
                method=m["method"],
                path=m["path"],
                status=m["status"],
                fault=m["fault"],
            )
        )
    return found


def by_operation(requests: list[Request]) -> dict[tuple[str, str], list[Request]]:
    """Requests grouped by (method, path), each group in the order the client sent them."""
    groups: dict[tuple[str, str], list[Request]] = {}
    for r in sorted(requests, key=lambda r: r.start):
        groups.setdefault(r.key, []).append(r)
    return groups


# -- the CLI as a background process -----------------------------------------------------------


def pulumi_command(project: PulumiProject, *args: str) -> list[str]:
    return ["pulumi", *args, "--stack", project.stack, "--non-interactive"]


@dataclass
class Background:
    """A CLI run in the background, in its own session; its output goes to a file."""

    proc: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def descendants(self) -> list[psutil.Process]:
        """The CLI's live descendants (remembered: they outlive a killed CLI)."""
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(child.pid, child)
        return [p for p in self.seen.values() if _alive(p)]

    def providers(self) -> list[psutil.Process]:
        """The provider processes: dynamic-provider hosts (``python -m pulumi.dynamic``) and
        provider plugins (``pulumi-resource-applivery``)."""
        return [p for p in self.descendants() if is_provider(p)]

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def result(self) -> Result:
        return Result(list(map(str, self.proc.args)), self.proc.returncode, self.output(), "")

    def reap(self) -> list[int]:
        """End what this run left behind (by pid); returns the pids that were still alive."""
        left = []
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for p in list(self.seen.values()):
            if _alive(p):
                left.append(p.pid)
                with contextlib.suppress(psutil.Error):
                    p.kill()
        return left


def is_provider(p: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        line = p.cmdline()
        if "-m" in line and PROVIDER_MODULE in line:
            return True
        return any(part.endswith(PLUGIN_COMMAND) for part in line)
    return False


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start(project: PulumiProject, *args: str, env: Mapping[str, str] | None = None) -> Background:
    log = project.dir / f"bg-{args[0]}-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            pulumi_command(project, *args),
            cwd=project.dir,
            env={**project.env, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Background(proc, log)


@contextlib.contextmanager
def background(
    project: PulumiProject, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[Background]:
    run = start(project, *args, env=env)
    try:
        yield run
    finally:
        run.reap()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def put_count(emu: Emulator) -> int:
    requests = emu.counters()["requests"]
    return sum(n for k, n in requests.items() if k.startswith("PUT "))


class RssSampler(threading.Thread):
    """Samples the RSS of a run's provider processes and the emulator's PUT count."""

    def __init__(self, run: Background, emu: Emulator, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.run_ = run
        self.emu = emu
        self.interval = interval
        self.samples: list[dict[str, Any]] = []  # {t, pid, rss, puts}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            now = time.monotonic() - self.run_.started
            try:
                puts = put_count(self.emu)
            except Exception:
                puts = -1
            for p in self.run_.providers():
                with contextlib.suppress(psutil.Error):
                    self.samples.append(
                        {"t": now, "pid": p.pid, "rss": p.memory_info().rss, "puts": puts}
                    )
            self._halt.wait(self.interval)

    def stop(self) -> list[dict[str, Any]]:
        self._halt.set()
        self.join(10)
        return self.samples
