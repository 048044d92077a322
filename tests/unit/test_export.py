"""``applivery-pulumi export`` never loses or overwrites a file, and writes only what loads back.

The list endpoint is served by respx; the folder is a real one.  Each test states what a user
relies on: one file per policy, nothing written outside ``--out`` or through a link, no file
that is not this policy's export replaced (even with ``--force``), whole files only, a count
that is the count written, ids checked whole, and files that ``PolicySet`` loads as written.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from applivery_pulumi.cli import main as cli
from applivery_pulumi.dynamic.components import load_policy_files, substitute

from .unit_support import BASE, ORG, TOKEN, mocked

LIST_URL = f"{BASE}/v1/organizations/{ORG}/mdm/apple/enterprise/policies"
PID = "698f41b2457fafa13d088793"
# Two ids ending alike, for names that slug alike.
TWIN_A = "aaaaaaaaaaaaaaaaaa123456"
TWIN_B = "bbbbbbbbbbbbbbbbbb123456"


class Run:
    def __init__(self, status: int, out: str, err: str) -> None:
        self.status, self.out, self.err = status, out, err

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("warning: ")]


@pytest.fixture
def export(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Any:
    monkeypatch.setenv("APPLIVERY_API_TOKEN", TOKEN)

    def run(documents: list[Any], *extra: str, out: Path | None = None) -> Run:
        folder = out or tmp_path / "policies"
        body = {
            "status": True,
            "data": {"items": documents, "page": 1, "totalPages": 1, "hasNextPage": False},
        }
        with mocked() as router:
            router.get(LIST_URL).mock(return_value=httpx.Response(200, json=body))
            argv = ["export", "--organization", ORG, "--out", str(folder), "--base-url", BASE]
            status = cli.main([*argv, *extra])
        captured = capsys.readouterr()
        assert TOKEN not in captured.out + captured.err
        assert "Traceback" not in captured.err
        return Run(status, captured.out, captured.err)

    return run


def doc(policy_id: str = PID, name: str = "Kiosk", **fields: Any) -> dict[str, Any]:
    return {"id": policy_id, "name": name, "version": 3, **fields}


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.is_symlink()}


def snapshot(root: Path, skip: Path) -> dict[str, Any]:
    """Every entry under ``root`` but ``skip``: what a link target or a neighbour holds."""
    found: dict[str, Any] = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        if path.is_symlink():
            found[str(path)] = ("link", os.readlink(path))
        elif path.is_file():
            found[str(path)] = path.read_bytes()
    return found


def policy_ids(folder: Path) -> list[str]:
    return sorted(str(p.fields["policyId"]) for p in load_policy_files(folder))


# -- one file per policy, never over another (issue 13, point 5) -----------------------------


def test_two_policies_whose_names_slug_alike_and_ids_end_alike_get_two_files(
    export: Any, tmp_path: Path
) -> None:
    run = export([doc(TWIN_A, "Kiosk"), doc(TWIN_B, "KIOSK!")])
    out = tmp_path / "policies"
    assert run.status == 0
    assert "wrote 2 policy file(s)" in run.out
    assert len(files(out)) == 2
    assert policy_ids(out) == [TWIN_A, TWIN_B]


def test_an_unrelated_file_at_the_computed_path_is_kept_and_reported(
    export: Any, tmp_path: Path
) -> None:
    out = tmp_path / "policies"
    out.mkdir()
    mine = out / f"kiosk-{PID[-6:]}.yaml"
    mine.write_text(f"policyId: {TWIN_A}\nname: Hand-written, another policy\n")
    before = mine.read_bytes()
    run = export([doc(PID, "Kiosk")])
    assert mine.read_bytes() == before
    assert any(str(mine) in w and "kept" in w for w in run.warnings), run.err
    assert "wrote 1 policy file(s)" in run.out
    # With --force, the policy's own file is replaced; the other one is still kept.
    export([doc(PID, "Kiosk (renamed)")], "--force")
    assert mine.read_bytes() == before
    assert policy_ids(out) == sorted([TWIN_A, PID])
    assert len(files(out)) == 2


def test_a_symlink_at_the_computed_path_is_never_followed(export: Any, tmp_path: Path) -> None:
    out = tmp_path / "policies"
    out.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("not a policy")
    link = out / f"kiosk-{PID[-6:]}.yaml"
    link.symlink_to(precious)
    run = export([doc(PID, "Kiosk")], "--force")
    assert precious.read_text() == "not a policy"
    assert link.is_symlink() and link.readlink() == precious
    assert "wrote 1 policy file(s)" in run.out
    [written] = files(out)
    assert yaml.safe_load((out / written).read_text())["policyId"] == PID


def test_a_yaml_symlink_claiming_the_policy_is_never_followed_even_with_force(
    export: Any, tmp_path: Path
) -> None:
    out = tmp_path / "policies"
    out.mkdir()
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(f"policyId: {PID}\nname: Outside the folder\n")
    (out / "claim.yaml").symlink_to(outside)
    run = export([doc(PID, "Kiosk")], "--force")
    assert outside.read_text() == f"policyId: {PID}\nname: Outside the folder\n"
    assert (out / "claim.yaml").is_symlink()
    assert any("claim.yaml" in w and "symbolic link" in w for w in run.warnings), run.err
    assert "wrote 1 policy file(s)" in run.out
    assert len(files(out)) == 1


def test_nothing_is_written_outside_out(export: Any, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "policies"
    out.mkdir(parents=True)
    (tmp_path / "victim.yaml").write_text(f"policyId: {TWIN_A}\n")
    (out / "a.yaml").symlink_to(tmp_path / "victim.yaml")
    (out / "b.yaml").symlink_to(tmp_path / "deep")
    before = snapshot(tmp_path, out)
    hostile = ["../../victim", "/etc/passwd", "..", "a/../../b", "\x00\n", "b"]
    ids = [f"{i:024x}" for i in range(1, len(hostile) + 1)] + [TWIN_A]
    documents = [doc(i, n) for i, n in zip(ids, [*hostile, "victim"], strict=True)]
    run = export(documents, "--force", out=out)
    assert snapshot(tmp_path, out) == before
    assert f"wrote {len(ids)} policy file(s)" in run.out
    assert all(p.parent == out for p in out.iterdir())
    assert len(files(out)) == len(ids)


def test_the_export_of_the_same_policy_is_kept_or_replaced_with_force(
    export: Any, tmp_path: Path
) -> None:
    out = tmp_path / "policies"
    assert "wrote 1 policy file(s)" in export([doc(PID, "Kiosk")]).out
    [path] = out.iterdir()
    path.write_text(path.read_text().replace("name: Kiosk", "name: Reviewed"))
    path.chmod(0o600)
    again = export([doc(PID, "Kiosk")])
    assert "wrote 0 policy file(s)" in again.out and "kept 1 existing" in again.out
    assert "name: Reviewed" in path.read_text()
    forced = export([doc(PID, "Kiosk")], "--force")
    assert "wrote 1 policy file(s)" in forced.out
    assert [p.name for p in out.iterdir()] == [path.name]
    assert "name: Kiosk" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_previous_file_whole(
    export: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "policies"
    export([doc(PID, "Kiosk")])
    [path] = out.iterdir()
    before = path.read_bytes()

    def disk_full(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    run = export([doc(PID, "Renamed"), doc(TWIN_A, "New")], "--force")
    assert path.read_bytes() == before
    assert [p.name for p in out.iterdir()] == [path.name], "no temporary or empty file is left"
    assert "wrote 0 policy file(s)" in run.out and run.status == 1
    assert any(PID in w and "No space left on device" in w for w in run.warnings), run.err


def test_a_policy_listed_twice_is_written_once_and_counted_once(
    export: Any, tmp_path: Path
) -> None:
    run = export([doc(PID, "Kiosk"), doc(TWIN_A, "Other"), doc(PID, "Kiosk")])
    assert "wrote 2 policy file(s)" in run.out
    assert len(files(tmp_path / "policies")) == 2
    assert any(PID in w and "listed twice" in w for w in run.warnings)


def test_no_temporary_file_is_left_behind(export: Any, tmp_path: Path) -> None:
    export([doc(f"{i:024x}", f"Policy {i}") for i in range(1, 6)])
    assert all(p.suffix == ".yaml" for p in (tmp_path / "policies").iterdir())


def test_a_file_in_out_that_cannot_be_read_is_reported_and_left_alone(
    export: Any, tmp_path: Path
) -> None:
    out = tmp_path / "policies"
    out.mkdir()
    broken = out / "broken.yaml"
    broken.write_text(f"policyId: {PID}\npolicyId: {TWIN_A}\n")
    run = export([doc(TWIN_B, "Kiosk")])
    assert broken.read_text() == f"policyId: {PID}\npolicyId: {TWIN_A}\n"
    assert any(str(broken) in w and "duplicate key 'policyId'" in w for w in run.warnings)
    assert "wrote 1 policy file(s)" in run.out


# -- ids (issue 13, point 6) --------------------------------------------------------------------


def test_ids_that_are_not_24_hex_are_reported_escaped_and_bounded(
    export: Any, tmp_path: Path
) -> None:
    weird = [PID + "\n", "../../etc\x1b[31m", "x" * 500, 42, None]
    run = export([doc(w, "Weird") for w in weird] + [{"name": "no id"}, doc(TWIN_A)])
    assert "wrote 1 policy file(s)" in run.out and run.status == 1
    reported = [w for w in run.warnings if "a policy id is a 24-character hexadecimal id" in w]
    assert len(reported) == len(weird) + 1
    assert repr(PID + "\n") in run.err and "\x1b" not in run.err
    assert all(len(w) < 200 for w in reported)
    assert [p.name for p in (tmp_path / "policies").iterdir()] == [f"kiosk-{TWIN_A[-6:]}.yaml"]


@pytest.mark.parametrize("organization", ["acme-corp\n", "acme/../x", "ac"])
def test_an_organization_id_that_is_not_one_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    organization: str,
) -> None:
    monkeypatch.setenv("APPLIVERY_API_TOKEN", TOKEN)
    with mocked():  # no route: any request fails the test
        status = cli.main(["export", "--organization", organization, "--out", str(tmp_path)])
    said = capsys.readouterr()
    assert status == 2
    assert "--organization (or APPLIVERY_ORGANIZATION_ID) must be an organization id" in (
        said.out + said.err
    )


# -- only what loads back (issue 13, point 8) -------------------------------------------------


def test_names_holding_placeholders_stay_literal_and_invalid_policies_are_skipped(
    export: Any, tmp_path: Path
) -> None:
    app = {"admApplication": TWIN_B, "managed": True, "managementFlags": 3}
    documents = [
        doc(TWIN_A, "${x}"),
        doc(TWIN_B, "$${already escaped}"),
        doc(PID, "Broken", applications=[app]),
        doc("cccccccccccccccccc123456", "Long", name_="", bookmarks=[{"title": "t" * 300}]),
        doc("dddddddddddddddddd123456", "Huge", bookmarks=[{"iconBase64": "A" * 300_000}]),
    ]
    documents[3].pop("name_")
    run = export(documents)
    out = tmp_path / "policies"
    assert run.status == 1
    assert "wrote 2 policy file(s)" in run.out and "3 not exported" in run.out
    assert any(f"policy {PID}: applications[0].managementFlags" in w for w in run.warnings)
    assert any("cccccccccccccccccc123456: bookmarks[0].title" in w for w in run.warnings)
    assert any("dddddddddddddddddd123456" in w and "256 KiB" in w for w in run.warnings)
    loaded = {p.fields["policyId"]: substitute(p.fields, {}) for p in load_policy_files(out)}
    assert {k: v["name"] for k, v in loaded.items()} == {
        TWIN_A: "${x}",
        TWIN_B: "$${already escaped}",
    }


# -- what the server says reaches the terminal escaped (issue 23, point 7) ----------------------

# Retitles a terminal (OSC 0 ... BEL), then shows the rest right to left.
HOSTILE = "\x1b]0;pwned\x07\u202eevil\u202c\u2066\x9b\x7f"
RAW_CONTROLS = {"\x1b", "\x07", "\u202e", "\u202c", "\u2066", "\x9b", "\x7f"}


def test_keys_from_the_server_are_escaped_in_the_warnings(export: Any) -> None:
    run = export([doc(PID, "Kiosk", agentConfiguration={HOSTILE: True})])
    assert run.status == 1 and "1 not exported" in run.out
    assert any(
        f"policy {PID}: agentConfiguration.\\x1b]0;pwned\\x07\\u202eevil\\u202c\\u2066\\x9b\\x7f"
        in w
        for w in run.warnings
    ), run.err
    assert not RAW_CONTROLS & set(run.err + run.out)


def test_invisible_characters_are_written_escaped_and_load_back_the_same(
    export: Any, tmp_path: Path
) -> None:
    name = "Política Ñ " + HOSTILE
    run = export([doc(TWIN_A, name), doc(TWIN_B, "Política Ñ")])
    assert run.status == 0, run.err
    out = tmp_path / "policies"
    texts = [blob.decode("utf-8") for blob in files(out).values()]
    # A review or an editor shows the file as what it holds: nothing reorders or hides text.
    assert not RAW_CONTROLS & set("".join(texts))
    loaded = {p.fields["policyId"]: substitute(p.fields, {}) for p in load_policy_files(out)}
    assert loaded[TWIN_A]["name"] == name
    assert loaded[TWIN_B]["name"] == "Política Ñ"
    # A name without invisible characters is written as it is, letters and all.
    assert sum("name: Política Ñ\n" in text for text in texts) == 1


def test_help_is_plain_text_with_what_export_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "applivery-pulumi: tools around the Applivery Pulumi provider." in out
    assert "writes one policy file per\npolicy of an organization" in out
    # No reStructuredText (``literal``, :role:`x`), which a terminal shows as it is.
    assert "``" not in out and not re.search(r":\w+:`", out), out
