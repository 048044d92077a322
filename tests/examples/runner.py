"""Run the `run:` steps of a GitHub Actions workflow the way the runner does, with fake tools.

What the runner does, and this module with it:

* each `run:` block is written to a file and run by the step's shell: the step's `shell:`,
  else the job's or the workflow's `defaults.run.shell`, else GitHub's default `bash -e {0}`;
  `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`, `shell: sh` is `sh -e {0}`;
* the environment is the workflow's `env`, then the job's, then the step's, with `${{ … }}`
  expressions evaluated: `secrets.NAME` from the secrets given (a secret not given is "", as on
  GitHub), `secrets.NAME != ''` (or `==`) as `true`/`false`, anything else a harmless
  placeholder; GITHUB_STEP_SUMMARY, GITHUB_ENV,
  GITHUB_OUTPUT, GITHUB_PATH and RUNNER_TEMP point at files and folders of a temporary runner;
* `if:` conditions of jobs and steps are evaluated for the event a run is for: `==`, `!=`,
  `&&`, `||`, `!`, parentheses, string and boolean literals, `github.event_name` and the
  status functions (`success()`, `failure()`, `always()`, `cancelled()`); a step condition
  without a status function is `success() && (…)`, as on GitHub.  Anything else is an error;
* a job runs its steps in order; after a failure only the steps whose condition holds then
  (`always()`, `!cancelled()`, `failure()`) run.

What it does not: `uses:` steps are skipped (the tools they would install are fakes first on
PATH), jobs run one after the other and `needs:` is not looked at.

The fakes: `pulumi` logs its arguments, prints a line and exits with `pulumi_status`; `python`
(`python -m venv DIR` makes DIR/bin/pip and DIR/bin/python, fakes too), `pip`, `pip3` log and
succeed.  Files that a run block names by a relative path (`scripts/setup`,
`. scripts/pulumi-env`) and that the workspace lacks are created as no-op scripts, so that a
step fails or passes on how its shell treats its commands' exit status, not on a missing file.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SHELL = "bash -e {0}"
SHELLS = {
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SECRET = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")
SECRET_TEST = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)\s*'((?:[^']|'')*)'")
RELATIVE_PATH = re.compile(r"(?:\./)?[A-Za-z_][\w.-]*(?:/[\w.-]+)+")
# A command position: start of a line or after ; & | ( ` or `then`/`do`, then `pulumi `.
PULUMI_CALL = re.compile(r"(?m)(?:^|[;&|(`]|\bthen\b|\bdo\b)\s*pulumi\s")
STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")
CONDITION_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<call>(?:success|failure|always|cancelled)\(\))|(?P<name>github\.event_name)|(?P<bool>true|false))"
)

FAKE_PULUMI = """#!/bin/sh
echo "pulumi $*" >>"$FAKE_TOOLS_LOG"
echo "fake pulumi: $*"
exit "${FAKE_PULUMI_STATUS:-0}"
"""
FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >>"$FAKE_TOOLS_LOG"
"""
FAKE_PYTHON = """#!/bin/sh
echo "python $*" >>"$FAKE_TOOLS_LOG"
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  for tool in pip python; do
    printf '#!/bin/sh\\necho "%s $*" >>"$FAKE_TOOLS_LOG"\\n' "$3/bin/$tool" >"$3/bin/$tool"
    chmod +x "$3/bin/$tool"
  done
fi
"""


@dataclass(frozen=True)
class Step:
    job: str
    index: int
    name: str
    run: str
    shell: str
    env: Mapping[str, Any]
    condition: str
    working_directory: str | None

    @property
    def id(self) -> str:
        return f"{self.job}/{self.index}:{self.name}"

    @property
    def calls_pulumi(self) -> bool:
        code = "\n".join(line.split("#", 1)[0] for line in self.run.splitlines())
        return bool(PULUMI_CALL.search(code))

    def runs(self, *, event: str, failed: bool) -> bool:
        condition = self.condition
        if not any(call in condition for call in STATUS_FUNCTIONS):
            condition = (
                f"success() && ({unwrap(condition) or 'true'})" if condition else "success()"
            )
        return holds(condition, event=event, failed=failed)


@dataclass
class Workflow:
    path: Path
    doc: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Workflow:
        return cls(path, yaml.safe_load(path.read_text()))

    @property
    def triggers(self) -> Any:
        # YAML 1.1 reads the key `on` as the boolean true.
        return self.doc.get("on", self.doc.get(True))

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return dict(self.doc["jobs"])

    def jobs_for(self, event: str) -> list[str]:
        """The jobs that run for `event` (their `if:` holds), in the file's order."""
        return [
            job
            for job, spec in self.jobs.items()
            if holds(str(spec.get("if") or "true"), event=event, failed=False)
        ]

    def env(self, job: str) -> dict[str, Any]:
        return {**(self.doc.get("env") or {}), **(self.jobs[job].get("env") or {})}

    def steps(self, job: str) -> list[Step | None]:
        """The job's steps in order: a `Step` for each `run:` step, None for `uses:` steps."""
        spec = self.jobs[job]
        defaults = (self.doc.get("defaults") or {}).get("run") or {}
        job_defaults = (spec.get("defaults") or {}).get("run") or {}
        shell = job_defaults.get("shell") or defaults.get("shell")
        workdir = job_defaults.get("working-directory") or defaults.get("working-directory")
        out: list[Step | None] = []
        for index, raw in enumerate(spec.get("steps") or []):
            if "run" not in raw:
                out.append(None)
                continue
            out.append(
                Step(
                    job=job,
                    index=index,
                    name=str(raw.get("name") or raw["run"].splitlines()[0]),
                    run=str(raw["run"]),
                    shell=str(raw.get("shell") or shell or DEFAULT_SHELL),
                    env=dict(raw.get("env") or {}),
                    condition=str(raw.get("if") or ""),
                    working_directory=raw.get("working-directory") or workdir,
                )
            )
        return out

    def run_steps(self) -> Iterator[Step]:
        for job in self.jobs:
            yield from (step for step in self.steps(job) if step is not None)


def shell_command(shell: str, script: Path) -> list[str]:
    template = SHELLS.get(shell, shell)
    if "{0}" not in template:
        raise ValueError(f"shell {shell!r}: not one this runner emulates")
    return [part.replace("{0}", str(script)) for part in shlex.split(template)]


def unwrap(condition: str) -> str:
    condition = condition.strip()
    match = EXPRESSION.fullmatch(condition)
    return match.group(1) if match else condition


def holds(condition: str, *, event: str, failed: bool) -> bool:
    """Evaluate an `if:` condition (the subset described in the module's docstring)."""
    text = unwrap(condition)
    if text == "true":
        return True
    python: list[str] = []
    pos = 0
    while pos < len(text):
        match = CONDITION_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"condition {condition!r}: cannot evaluate {text[pos:]!r}")
        pos = match.end()
        if match["string"]:
            python.append(repr(match["string"][1:-1].replace("''", "'")))
        elif match["bool"]:
            python.append(str(match["bool"] == "true"))
        elif match["name"]:
            python.append(repr(event))
        elif match["call"]:
            python.append(
                {
                    "success()": str(not failed),
                    "failure()": str(failed),
                    "always()": "True",
                    "cancelled()": "False",
                }[match["call"]]
            )
        else:
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(match["op"], match["op"]))
    return bool(eval("".join(python), {"__builtins__": {}}))  # only the tokens above


def evaluate(value: Any, secrets: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        secret = SECRET.fullmatch(match.group(1))
        if secret:
            return secrets.get(secret.group(1), "")
        test = SECRET_TEST.fullmatch(match.group(1))
        if test:
            name, op, literal = test.groups()
            equal = secrets.get(name, "") == literal.replace("''", "'")
            return "true" if equal == (op == "==") else "false"
        return "placeholder"

    if isinstance(value, bool):
        return "true" if value else "false"
    return EXPRESSION.sub(one, str(value))


@dataclass
class StepResult:
    step: Step
    returncode: int
    output: str
    # What the workflow put into the step's environment (workflow, job and step `env`), evaluated.
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    steps: list[StepResult] = field(default_factory=list)
    skipped: list[Step] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.returncode != 0 for r in self.steps)

    @property
    def output(self) -> str:
        return "".join(f"--- {r.step.id} (exit {r.returncode})\n{r.output}" for r in self.steps)


class Runner:
    """A temporary runner: workspace, fake tools first on PATH, the files GitHub provides."""

    def __init__(self, root: Path, workflow: Workflow) -> None:
        self.workflow = workflow
        self.workspace = root / "workspace"
        self.temp = root / "runner-temp"
        self.bin = root / "fake-bin"
        for folder in (self.workspace, self.temp, self.bin):
            folder.mkdir(parents=True, exist_ok=True)
        self.summary = root / "step-summary.md"
        self.tools_log = root / "tools.log"
        for path in (self.summary, self.tools_log):
            path.touch()
        fakes = {"pulumi": FAKE_PULUMI, "python": FAKE_PYTHON, "python3": FAKE_PYTHON}
        fakes |= {name: FAKE_TOOL for name in ("pip", "pip3")}
        for name, text in fakes.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        # The shape the example asks for: a published wheel, pinned with its hash.
        (self.workspace / "requirements.txt").write_text(
            "applivery-pulumi @ https://github.com/YOUR-ORG/applivery-pulumi/releases/download/"
            f"v0.1.0/applivery_pulumi-0.1.0-py3-none-any.whl --hash=sha256:{'0' * 64}\n"
        )
        (self.workspace / "Pulumi.yaml").write_text(
            "name: policies\nruntime: {name: python, options: {toolchain: pip, virtualenv: venv}}\n"
        )

    def tool_calls(self, tool: str) -> list[str]:
        return [line for line in self.tools_log.read_text().splitlines() if line.startswith(tool)]

    def _stub_relative_paths(self, step: Step, cwd: Path) -> None:
        for line in step.run.splitlines():
            for token in line.split():
                token = token.strip("\"'")
                if not RELATIVE_PATH.fullmatch(token):
                    continue
                path = cwd / token
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    # `:` is a no-op both when run and when sourced (`exit 0` would end a
                    # script that sources it).
                    path.write_text("#!/bin/sh\n:\n")
                    path.chmod(0o755)

    def run_step(
        self, step: Step, *, secrets: Mapping[str, str], pulumi_status: int = 0
    ) -> StepResult:
        cwd = self.workspace / (step.working_directory or "")
        self._stub_relative_paths(step, cwd)
        script = self.temp / f"step-{step.job}-{step.index}.sh"
        script.write_text(evaluate(step.run, secrets))
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PULUMI_", "APPLIVERY_", "AWS_", "GITHUB_", "RUNNER_", "VIRTUAL"))
        }
        env = {
            **base,
            "PATH": f"{self.bin}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.temp),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_ENV": str(self.temp / "github-env"),
            "GITHUB_OUTPUT": str(self.temp / "github-output"),
            "GITHUB_PATH": str(self.temp / "github-path"),
            "RUNNER_TEMP": str(self.temp),
            "FAKE_TOOLS_LOG": str(self.tools_log),
            "FAKE_PULUMI_STATUS": str(pulumi_status),
        }
        given = {
            name: evaluate(value, secrets)
            for name, value in {**self.workflow.env(step.job), **step.env}.items()
        }
        env |= given
        proc = subprocess.run(
            shell_command(step.shell, script),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            check=False,
        )
        return StepResult(step, proc.returncode, proc.stdout, given)

    def run_job(
        self, job: str, *, event: str, secrets: Mapping[str, str], pulumi_status: int = 0
    ) -> JobResult:
        result = JobResult()
        for step in self.workflow.steps(job):
            if step is None:
                continue
            if not step.runs(event=event, failed=result.failed):
                result.skipped.append(step)
                continue
            result.steps.append(self.run_step(step, secrets=secrets, pulumi_status=pulumi_status))
        return result
