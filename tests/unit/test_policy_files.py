"""Policy files are untrusted text: reading one is bounded, stays in its folder, and says where.

What a ``PolicySet`` (and ``load_policy_files``) must survive: an alias bomb, an oversize or
deeply nested file, duplicate keys, symbolic links out of the folder, YAML errors next to text
that must not be echoed, and the ``$${…}`` escape of a literal ``${…}``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from applivery_pulumi.dynamic.components import (
    PolicyFileError,
    PolicySet,
    load_policy_file,
    load_policy_files,
    substitute,
)
from applivery_pulumi.policy.files import MAX_BYTES, MAX_DEPTH, escape, unescape

from .unit_support import ORG, PID

OTHER_PID = "698f41b2457fafa13d0887aa"


def policy_text(policy_id: str = PID, **extra: str) -> str:
    lines = [f"policyId: {policy_id}", f"organizationId: {ORG}", "name: Kiosk"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def alias_bomb() -> str:
    """9 levels of 9 aliases: 9**9 (387 million) strings from a few hundred bytes."""
    lines = [f"policyId: {PID}", "name: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level, prev in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"x{level}: &{level} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def load_in_child(folder: Path, timeout: float = 60.0) -> tuple[float, str]:
    """``load_policy_files(folder)`` in a child process (a bomb must not take this one down)."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from applivery_pulumi.dynamic.components import PolicyFileError, load_policy_files
        try:
            load_policy_files({str(folder)!r})
        except PolicyFileError as exc:
            print(exc)
        else:
            print("LOADED")
        """
    )
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {folder} did not end within {timeout:.0f} s")
    return time.monotonic() - started, done.stdout + done.stderr


# -- bounded expansion and size (issue 13, point 4) -------------------------------------------


def test_an_alias_bomb_fails_within_seconds_naming_the_file(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert len(bomb.read_bytes()) < 700
    elapsed, output = load_in_child(tmp_path)
    assert elapsed < 20, output
    assert f"{bomb} (line 3, column" in output and "aliases (*name) are not allowed" in output
    assert "Traceback" not in output and "LOADED" not in output


def test_an_oversize_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    # A valid policy, only too large: the limit is on the file, not on what it holds.
    icon = "A" * MAX_BYTES
    big = tmp_path / "big.yaml"
    big.write_text(policy_text(bookmarks=f"[{{title: Portal, iconBase64: {icon}}}]"))
    started = time.monotonic()
    with pytest.raises(PolicyFileError) as caught:
        load_policy_files(tmp_path)
    assert time.monotonic() - started < 5
    assert str(caught.value) == f"{big}: larger than 256 KiB, the limit of a policy file"


def test_a_file_just_under_the_limit_loads(tmp_path: Path) -> None:
    head = policy_text(bookmarks="[{title: Portal, iconBase64: ")
    icon = "A" * (MAX_BYTES - len(head) - len("}]\n"))
    (tmp_path / "p.yaml").write_text(head + icon + "}]\n")
    assert len((tmp_path / "p.yaml").read_bytes()) == MAX_BYTES
    [loaded] = load_policy_files(tmp_path)
    assert loaded.fields["bookmarks"][0]["iconBase64"] == icon


def test_nesting_deeper_than_the_limit_is_an_error_naming_the_file(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(policy_text() + "bookmarks: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(PolicyFileError) as caught:
        load_policy_files(tmp_path)
    assert str(caught.value).startswith(f"{deep} (line 4, column ")
    assert f"nested deeper than {MAX_DEPTH} levels" in str(caught.value)


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    # policy → applications → app → configuration → … : free-form maps may nest deeply.
    config = "{a: " * (MAX_DEPTH - 4) + "1" + "}" * (MAX_DEPTH - 4)
    apps = f"[{{admApplication: {OTHER_PID}, configuration: {config}}}]"
    (tmp_path / "p.yaml").write_text(policy_text(applications=apps))
    [loaded] = load_policy_files(tmp_path)
    assert loaded.fields["applications"][0]["admApplication"] == OTHER_PID


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("resetDate: 2026-13-45\n", "month must be in 1..12"),
        ("segmentId: " + "9" * 5000 + "\n", "integer string conversion"),
        ('name: "\\ud800"\n', "name:"),
        ("name: \x00\n", "character #x0000"),
    ],
)
def test_values_yaml_cannot_build_are_errors_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"policyId: {PID}\n" + text)
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    assert str(caught.value).startswith(f"{path}") and problem in str(caught.value)


# -- duplicate keys, symbolic links, error text (issue 13, point 11) --------------------------


def test_a_duplicate_key_is_an_error_naming_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(policy_text() + "name: Kiosk (the one YAML would keep)\n")
    with pytest.raises(PolicyFileError) as caught:
        load_policy_files(tmp_path)
    assert str(caught.value) == (
        f"{path} (line 4, column 1): not a readable YAML file: duplicate key 'name'"
    )


def test_a_duplicate_key_in_a_nested_mapping_is_an_error_too(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(policy_text(agentConfiguration="{allowLocation: true, allowLocation: false}"))
    with pytest.raises(PolicyFileError, match="duplicate key 'allowLocation'"):
        load_policy_files(tmp_path)


def test_a_symlink_out_of_the_folder_is_refused_naming_the_file(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.yaml").write_text(policy_text(OTHER_PID))
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "good.yaml").write_text(policy_text())
    (folder / "linked.yaml").symlink_to(outside / "secret.yaml")
    (folder / "dangling.yaml").symlink_to(outside / "missing.yaml")
    (folder / "relative.yml").symlink_to(Path("..") / "elsewhere" / "secret.yaml")
    with pytest.raises(PolicyFileError) as caught:
        load_policy_files(folder)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    for name in ("dangling.yaml", "linked.yaml", "relative.yml"):
        assert any(
            line.startswith(f"{folder / name}: is a symbolic link leading outside its folder")
            for line in lines
        ), lines
    assert OTHER_PID not in str(caught.value)


def test_a_symlink_within_the_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "kiosk.yaml").write_text(policy_text())
    (tmp_path / "kiosk.yaml").symlink_to(Path("shared") / "kiosk.yaml")
    [loaded] = load_policy_files(tmp_path)
    assert loaded.key == "kiosk" and loaded.fields["policyId"] == PID


def test_a_policy_folder_that_is_itself_a_link_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "kiosk.yaml").write_text(policy_text())
    (tmp_path / "policies").symlink_to(tmp_path / "real")
    [loaded] = load_policy_files(tmp_path / "policies")
    assert loaded.fields["policyId"] == PID


def test_a_yaml_error_names_file_line_and_column_and_quotes_no_text(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        f"policyId: {PID}\nname: [unclosed, TEXT-THAT-STAYS-IN-THE-FILE\n"
        "segmentId: 1\nbookmarks: x\n"
    )
    with pytest.raises(PolicyFileError) as caught:
        load_policy_files(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path} (line 3, column 10): not a readable YAML file: ")
    assert "TEXT-THAT-STAYS" not in message and "^" not in message
    assert len(message.splitlines()) == 1


# -- the ${…} escape (issue 13, point 8) and whole-string placeholders (point 6) ------------


@pytest.mark.parametrize("text", ["${x}", "$${x}", "$$${a.b-c}", "${x y}", "a${x}", "$", "${x}\n"])
def test_escape_round_trips_every_string(text: str) -> None:
    assert unescape(escape(text)) == text
    assert substitute(escape(text), {"x": "FILLED", "a.b-c": "FILLED"}) == text


def test_an_escaped_placeholder_is_a_literal_and_needs_no_value(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f'policyId: {PID}\nname: "$${{x}}"\n')
    loaded = load_policy_file(path)
    assert substitute(loaded.fields, {})["name"] == "${x}"


def test_a_placeholder_is_a_whole_string_only(tmp_path: Path) -> None:
    # "${x}\n" is text ending with a newline, not the placeholder ${x}.
    path = tmp_path / "p.yaml"
    path.write_text(f'policyId: {PID}\nname: "${{x}}\\n"\n')
    loaded = load_policy_file(path)
    assert substitute(loaded.fields, {})["name"] == "${x}\n"


class _Engine(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = dict(args.inputs)
        return str(args.inputs.get("policyId", args.name)), dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def engine() -> Iterator[_Engine]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = _Engine()
    pulumi.runtime.set_mocks(mocks, project="unit", stack="unit", preview=False)
    yield mocks
    asyncio.set_event_loop(None)
    loop.close()


@pulumi.runtime.test
def test_policy_set_declares_the_literal_of_an_escape(engine: _Engine, tmp_path: Path) -> Any:
    org = f"organizationId: {ORG}\n"
    (tmp_path / "literal.yaml").write_text(f'policyId: {PID}\n{org}name: "$${{x}}"\n')
    (tmp_path / "filled.yaml").write_text(f'policyId: {OTHER_PID}\n{org}name: "${{x}}"\n')
    fleet = PolicySet("fleet", tmp_path, values={"x": "from values"}, opts=None)

    def check(_: Any) -> None:
        assert engine.registered["fleet-literal"]["name"] == "${x}"
        assert engine.registered["fleet-filled"]["name"] == "from values"

    return fleet.summary.apply(check)


def test_no_policy_file_is_opened_for_writing(tmp_path: Path) -> None:
    # Loading only reads: a file's mode and content are as they were.
    path = tmp_path / "p.yaml"
    path.write_text(policy_text())
    os.chmod(path, 0o400)
    load_policy_files(tmp_path)
    assert path.read_text() == policy_text()
