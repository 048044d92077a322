"""The CI example (examples/ci/github-actions.yml) fails when Pulumi fails or a secret is missing.

Each `run:` step is run the way GitHub's runner runs it (its shell, its environment), with a
fake `pulumi` first on PATH; see `runner.py`.  No network, no engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.emulator import REPO
from tests.examples.runner import Runner, Step, Workflow, holds

WORKFLOW = Workflow.load(REPO / "examples" / "ci" / "github-actions.yml")
SECRETS = {
    "APPLIVERY_API_TOKEN": "applivery-token",
    "PULUMI_CONFIG_PASSPHRASE": "passphrase",
    "AWS_ACCESS_KEY_ID": "aws-key-id",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
}
REQUIRED_SECRETS = ("APPLIVERY_API_TOKEN", "PULUMI_CONFIG_PASSPHRASE")
RUN_STEPS = list(WORKFLOW.run_steps())
PULUMI_STEPS = [step for step in RUN_STEPS if step.calls_pulumi]
EVENTS = list(WORKFLOW.triggers)
# (event, job) for every job that runs for an event and calls pulumi.
PULUMI_RUNS = [
    (event, job)
    for event in EVENTS
    for job in WORKFLOW.jobs_for(event)
    if any(step.job == job for step in PULUMI_STEPS)
]


def ids(steps: list[Step]) -> list[str]:
    return [step.id for step in steps]


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path, WORKFLOW)


def test_the_example_previews_pull_requests_updates_main_and_checks_drift_on_a_schedule() -> None:
    commands = {" ".join(step.run.split()) for step in PULUMI_STEPS}
    assert any("pulumi preview --diff" in c for c in commands), commands
    assert any("pulumi up --yes" in c for c in commands), commands
    assert any("pulumi refresh --preview-only --expect-no-changes" in c for c in commands)
    assert "schedule" in WORKFLOW.triggers and "pull_request" in WORKFLOW.triggers
    assert WORKFLOW.triggers["push"]["branches"] == ["main"]


def test_the_example_uses_the_official_cli_and_pip_not_a_source_build() -> None:
    text = WORKFLOW.path.read_text()
    uses = [
        step.get("uses", "").split("@")[0]
        for job in WORKFLOW.jobs.values()
        for step in job.get("steps", [])
    ]
    assert "pulumi/actions" in uses
    assert "actions/setup-go" not in uses
    for step in RUN_STEPS:
        assert "scripts/" not in step.run, f"{step.id} runs a script of this repository"
        assert "go " not in step.run, f"{step.id} runs Go"
    assert "pip install" in text
    assert "cache: pip" in text


@pytest.mark.parametrize("step", RUN_STEPS, ids=ids(RUN_STEPS))
def test_every_step_passes_when_every_tool_works(runner: Runner, step: Step) -> None:
    """The fakes stand in well enough: with a working pulumi every step succeeds."""
    result = runner.run_step(step, secrets=SECRETS)
    assert result.returncode == 0, f"{step.id} exited {result.returncode}:\n{result.output}"
    if step.calls_pulumi:
        assert runner.tool_calls("pulumi"), f"{step.id} never reached pulumi:\n{result.output}"


@pytest.mark.parametrize("step", PULUMI_STEPS, ids=ids(PULUMI_STEPS))
def test_every_step_that_calls_pulumi_fails_when_pulumi_fails(runner: Runner, step: Step) -> None:
    result = runner.run_step(step, secrets=SECRETS, pulumi_status=1)
    assert runner.tool_calls("pulumi"), f"{step.id} never reached pulumi:\n{result.output}"
    assert result.returncode != 0, (
        f"{step.id} (shell: {step.shell}) exited 0 although pulumi failed:\n{result.output}"
    )


def test_only_the_steps_that_look_like_pulumi_calls_call_it(tmp_path: Path) -> None:
    """`calls_pulumi` (what the test above picks) is exactly the steps that run pulumi."""
    assert PULUMI_STEPS, "no step calls pulumi"
    calling = []
    for step in RUN_STEPS:
        runner = Runner(tmp_path / step.id.replace("/", "-").replace(":", "-"), WORKFLOW)
        runner.run_step(step, secrets=SECRETS)
        if runner.tool_calls("pulumi"):
            calling.append(step.id)
    assert calling == ids(PULUMI_STEPS)


def test_every_event_runs_a_job_that_calls_pulumi() -> None:
    assert {event for event, _ in PULUMI_RUNS} == set(EVENTS)


@pytest.mark.parametrize(("event", "job"), PULUMI_RUNS, ids=[f"{e}-{j}" for e, j in PULUMI_RUNS])
def test_a_failing_pulumi_fails_the_job_and_its_output_still_reaches_the_summary(
    runner: Runner, event: str, job: str
) -> None:
    result = runner.run_job(job, event=event, secrets=SECRETS, pulumi_status=1)
    assert runner.tool_calls("pulumi"), f"job {job} never reached pulumi:\n{result.output}"
    assert result.failed, f"job {job} ({event}) succeeded although pulumi failed:\n{result.output}"
    # A step of this job that runs for this event, after a failure or not, writes the summary.
    writes_summary = any(
        "GITHUB_STEP_SUMMARY" in step.run
        and (step.runs(event=event, failed=False) or step.runs(event=event, failed=True))
        for step in WORKFLOW.steps(job)
        if step is not None
    )
    if writes_summary:
        summary = runner.summary.read_text()
        assert "fake pulumi:" in summary, f"job {job}: summary without pulumi's output:\n{summary}"


@pytest.mark.parametrize(("event", "job"), PULUMI_RUNS, ids=[f"{e}-{j}" for e, j in PULUMI_RUNS])
def test_a_job_passes_when_pulumi_passes(runner: Runner, event: str, job: str) -> None:
    result = runner.run_job(job, event=event, secrets=SECRETS)
    assert not result.failed, result.output
    assert runner.tool_calls("pulumi"), result.output


@pytest.mark.parametrize(
    "missing", [*[(name,) for name in REQUIRED_SECRETS], REQUIRED_SECRETS], ids="+".join
)
@pytest.mark.parametrize(("event", "job"), PULUMI_RUNS, ids=[f"{e}-{j}" for e, j in PULUMI_RUNS])
def test_a_missing_secret_stops_the_job_with_one_message_before_pulumi_runs(
    runner: Runner, event: str, job: str, missing: tuple[str, ...]
) -> None:
    # GitHub passes a secret that is not set (or not given to a fork's pull request) as "".
    secrets = {**SECRETS, **dict.fromkeys(missing, "")}
    result = runner.run_job(job, event=event, secrets=secrets)
    assert result.failed, f"job {job} ran with {missing} empty:\n{result.output}"
    assert not runner.tool_calls("pulumi"), f"pulumi ran with {missing} empty:\n{result.output}"
    failed = next(r for r in result.steps if r.returncode != 0)
    errors = [line for line in failed.output.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, failed.output
    for name in missing:
        assert name in errors[0]
    for name in set(REQUIRED_SECRETS) - set(missing):
        assert name not in errors[0]


def test_the_runner_runs_a_step_without_shell_as_github_does(tmp_path: Path) -> None:
    """`bash -e` (no `shell:`) hides a failure before `| tee`; `shell: bash` does not."""
    path = tmp_path / "workflow.yml"
    path.write_text(
        "on: pull_request\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pulumi preview | tee out.txt\n"
        "      - run: pulumi preview | tee out.txt\n        shell: bash\n"
    )
    workflow = Workflow.load(path)
    default, bash = workflow.run_steps()
    assert default.shell == "bash -e {0}" and bash.shell == "bash"
    runner = Runner(tmp_path / "runner", workflow)
    assert runner.run_step(default, secrets={}, pulumi_status=1).returncode == 0
    assert runner.run_step(bash, secrets={}, pulumi_status=1).returncode == 1


@pytest.mark.parametrize(
    ("condition", "event", "failed", "expected"),
    [
        ("github.event_name == 'pull_request'", "pull_request", False, True),
        ("github.event_name == 'pull_request'", "push", False, False),
        (
            "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'",
            "workflow_dispatch",
            False,
            True,
        ),
        ("${{ !cancelled() }}", "push", True, True),
        ("failure()", "push", False, False),
        ("failure()", "push", True, True),
        ("${{ github.event_name != 'push' && !(false) }}", "schedule", False, True),
    ],
)
def test_conditions(condition: str, event: str, failed: bool, expected: bool) -> None:
    assert holds(condition, event=event, failed=failed) is expected
