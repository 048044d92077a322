"""The CI example (examples/ci/github-actions.yml): fails when Pulumi fails or a secret is missing,
and gives each job, and each step, only the credentials its work needs.

Each `run:` step is run the way GitHub's runner runs it (its shell, its environment), with a
fake `pulumi` first on PATH; see `runner.py`.  No network, no engine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.emulator import REPO
from tests.examples.runner import Runner, Step, Workflow, holds

WORKFLOW = Workflow.load(REPO / "examples" / "ci" / "github-actions.yml")
# Read-only: an Applivery token with the `mdm.apple.policy.get` scope alone, AWS keys whose IAM
# policy allows reading the state (GetObject, ListBucket) and nothing else, and the passphrase
# (a preview decrypts the stack's secrets; it writes none).
READ_SECRETS = {
    "APPLIVERY_READ_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
    "AWS_STATE_READ_ACCESS_KEY_ID",
    "AWS_STATE_READ_SECRET_ACCESS_KEY",
}
WRITE_SECRETS = {
    "APPLIVERY_WRITE_TOKEN",
    "AWS_STATE_WRITE_ACCESS_KEY_ID",
    "AWS_STATE_WRITE_SECRET_ACCESS_KEY",
}
SECRETS = {name: f"value-of-{name.lower()}" for name in READ_SECRETS | WRITE_SECRETS}
# What each job's pulumi gets, by the names the provider and the engine read: variable -> secret.
READ_CREDENTIALS = {
    "APPLIVERY_API_TOKEN": "APPLIVERY_READ_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE": "PULUMI_CONFIG_PASSPHRASE",
    "AWS_ACCESS_KEY_ID": "AWS_STATE_READ_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "AWS_STATE_READ_SECRET_ACCESS_KEY",
}
CREDENTIALS = {
    # Runs the pull request's code: read access only.
    "preview": READ_CREDENTIALS,
    # `pulumi refresh --preview-only` sends GETs and writes no state (no lock, no checkpoint).
    "drift": READ_CREDENTIALS,
    "up": {
        "APPLIVERY_API_TOKEN": "APPLIVERY_WRITE_TOKEN",
        "PULUMI_CONFIG_PASSPHRASE": "PULUMI_CONFIG_PASSPHRASE",
        "AWS_ACCESS_KEY_ID": "AWS_STATE_WRITE_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY": "AWS_STATE_WRITE_SECRET_ACCESS_KEY",
    },
}
# The secrets a job checks before pulumi runs (the AWS keys go when the state is elsewhere).
REQUIRED_SECRETS = {
    job: (credentials["APPLIVERY_API_TOKEN"], credentials["PULUMI_CONFIG_PASSPHRASE"])
    for job, credentials in CREDENTIALS.items()
}
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


MISSING = [
    (event, job, missing)
    for event, job in PULUMI_RUNS
    for missing in [*[(name,) for name in REQUIRED_SECRETS[job]], REQUIRED_SECRETS[job]]
]


@pytest.mark.parametrize(
    ("event", "job", "missing"), MISSING, ids=[f"{e}-{j}-{'+'.join(m)}" for e, j, m in MISSING]
)
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
    for name in set(REQUIRED_SECRETS[job]) - set(missing):
        assert name not in errors[0]


SECRET_REFERENCE = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")
# `owner/repo@<full commit>  # vX.Y.Z`: a tag can be moved to other code, a commit cannot.
PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s*[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}\s+#\s*v\d+(?:\.\d+)*\b"
)


def secrets_named(value: Any) -> set[str]:
    return set(SECRET_REFERENCE.findall(yaml.safe_dump(value)))


@pytest.mark.parametrize(("event", "job"), PULUMI_RUNS, ids=[f"{e}-{j}" for e, j in PULUMI_RUNS])
def test_each_job_gives_its_credentials_to_the_pulumi_step_alone(
    runner: Runner, event: str, job: str
) -> None:
    """The pulumi step gets what its command needs; no other step (install, summary) gets any."""
    result = runner.run_job(job, event=event, secrets=SECRETS)
    assert not result.failed, result.output
    allowed = {SECRETS[secret] for secret in CREDENTIALS[job].values()}
    for step_result in result.steps:
        step, env = step_result.step, step_result.env
        given = {name for name, value in env.items() if value in SECRETS.values()}
        if not step.calls_pulumi:
            assert not given, f"{step.id} gets secrets it does not use: {sorted(given)}"
            continue
        for variable, secret in CREDENTIALS[job].items():
            assert env.get(variable) == SECRETS[secret], f"{step.id}: {variable} is not {secret}"
        extra = {name for name in given if env[name] not in allowed}
        assert not extra, f"{step.id} gets more than its command needs: {sorted(extra)}"


def test_the_pull_request_preview_names_no_write_credential() -> None:
    """The preview runs the pull request's code: whatever it is given, that code can read."""
    named = secrets_named(WORKFLOW.jobs["preview"])
    assert named <= READ_SECRETS, f"preview names {sorted(named - READ_SECRETS)}"
    assert "environment" not in WORKFLOW.jobs["preview"]


def test_secrets_are_given_to_steps_never_to_the_workflow_or_a_job() -> None:
    assert not secrets_named(WORKFLOW.doc.get("env")), "the workflow's env names a secret"
    for job, spec in WORKFLOW.jobs.items():
        assert not secrets_named(spec.get("env")), f"job {job}'s env names a secret"
        for index, step in enumerate(spec.get("steps") or []):
            name = step.get("name") or step.get("uses") or index
            assert not secrets_named(step.get("with")), f"{job}/{name} passes a secret to an action"
            # In `run:` text a secret would be pasted into the script (and its file on disk).
            assert not secrets_named(step.get("run")), (
                f"{job}/{name} pastes a secret into its script"
            )


def test_the_jobs_that_write_or_run_unattended_run_behind_an_environment() -> None:
    """`up` (write credentials, reviewers) and `drift` (unattended): an environment each."""
    jobs = WORKFLOW.jobs
    assert jobs["up"].get("environment"), "up runs outside any environment"
    assert jobs["drift"].get("environment"), "drift runs outside any environment"
    # Reviewers on `up` must not hold the daily drift check: two environments.
    assert jobs["up"]["environment"] != jobs["drift"]["environment"]
    for job, spec in jobs.items():
        if secrets_named(spec) & WRITE_SECRETS:
            assert spec.get("environment"), f"job {job} names write credentials outside one"
            assert WORKFLOW.jobs_for("pull_request").count(job) == 0, f"{job} runs for PRs"


def test_every_action_is_pinned_to_a_commit_with_its_tag_in_a_comment() -> None:
    lines = [
        line
        for line in WORKFLOW.path.read_text().splitlines()
        if line.lstrip().startswith(("uses:", "- uses:"))
    ]
    uses = [
        step["uses"]
        for job in WORKFLOW.jobs.values()
        for step in job.get("steps") or []
        if "uses" in step
    ]
    assert len(lines) == len(uses) > 0, "a `uses:` the check below would not see"
    for line in lines:
        assert PINNED_USES.match(line), f"not pinned by commit with its tag: {line.strip()}"
    # One action, one commit: the jobs cannot drift apart.
    commits: dict[str, set[str]] = {}
    for line in lines:
        action, _, rest = line.split("uses:", 1)[1].strip().partition("@")
        commits.setdefault(action, set()).add(rest.split()[0] + " " + rest.split("#", 1)[1].strip())
    assert all(len(pins) == 1 for pins in commits.values()), commits


def test_checkout_leaves_no_token_for_the_programs_code() -> None:
    """Without `persist-credentials: false` the job's GITHUB_TOKEN stays in .git/config."""
    checkouts = [
        step
        for job in WORKFLOW.jobs.values()
        for step in job.get("steps") or []
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    for step in checkouts:
        assert (step.get("with") or {}).get("persist-credentials") is False


INSTALL_STEPS = [step for step in RUN_STEPS if "pip install" in step.run]


@pytest.mark.parametrize("step", INSTALL_STEPS, ids=ids(INSTALL_STEPS))
def test_the_programs_dependencies_install_only_as_hashed(runner: Runner, step: Step) -> None:
    result = runner.run_step(step, secrets=SECRETS)
    assert result.returncode == 0, result.output
    installs = [c for c in runner.tool_calls("venv/bin/pip") if " install " in f"{c} "]
    assert installs, result.output
    for call in installs:
        args = call.split()
        assert "--require-hashes" in args, call
        assert args[args.index("-r") + 1] == "requirements.txt", call


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
