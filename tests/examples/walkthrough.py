"""README's walk-through as a shell script: its blocks, in order, run the way a user runs them.

README marks each block that belongs to the walk-through with an HTML comment on the line
before it:

* `<!-- walk-through -->` before a `console` block: `$ command` lines, each followed by what
  it prints (lines of its output, in order, not necessarily all of them; `…` stands for lines
  left out, alone on a line or within one);
* `<!-- walk-through: background -->`: the same, run in a second terminal (a session of its
  own, so that it can be stopped whole); the walk-through goes on once the block's last line
  of output has shown;
* `<!-- walk-through: file NAME -->` before any fenced block: NAME's content, written in the
  folder the walk-through is in at that point;
* `<!-- walk-through: install -->`: like the first, except that its `pip install` lines are
  the install step, which a test replaces.

Everything runs in one shell (`cd` and `export` carry over, as in a terminal); what each
command printed is told apart by a marker line the script prints before it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BLOCK = re.compile(
    r"^<!-- walk-through(?::\s*(?P<kind>install|background|file\s+(?P<name>\S+)))?\s*-->\n"
    r"```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
ELLIPSIS = "…"
MARK = "::walk-through-step::"
INSTALL_LINE = re.compile(r"\bpip install ")


@dataclass(frozen=True)
class Command:
    line: str
    expected: tuple[str, ...]

    def matches(self, output: str) -> list[str]:
        """The expected lines not found in ``output``, in order (empty when all are)."""
        lines = output.splitlines()
        at = 0
        missing = []
        for want in self.expected:
            pattern = expected_pattern(want)
            found = next((i for i in range(at, len(lines)) if pattern.search(lines[i])), None)
            if found is None:
                missing.append(want)
            else:
                at = found + 1
        return missing


@dataclass(frozen=True)
class Block:
    kind: str  # "run", "install", "background" or "file"
    body: str
    name: str | None = None

    @property
    def commands(self) -> list[Command]:
        commands: list[Command] = []
        line: str | None = None
        expected: list[str] = []
        for text in self.body.splitlines():
            if text.startswith("$ "):
                if line is not None:
                    commands.append(Command(line, tuple(expected)))
                line, expected = text[2:], []
            elif line is None:
                raise ValueError(f"walk-through block: output before any command: {text!r}")
            elif text.strip() and text.strip() != ELLIPSIS:
                expected.append(text)
        if line is not None:
            commands.append(Command(line, tuple(expected)))
        return commands


def expected_pattern(line: str) -> re.Pattern[str]:
    """A shown line as a pattern: `…` for anything, any run of spaces for any other."""
    parts = [r"\s+".join(re.escape(word) for word in part.split()) for part in line.split("…")]
    return re.compile(".*".join(parts))


def blocks(readme: Path) -> list[Block]:
    found = []
    for match in BLOCK.finditer(readme.read_text(encoding="utf-8")):
        kind = match["kind"] or "run"
        if kind.startswith("file"):
            found.append(Block("file", match["body"], match["name"]))
        else:
            found.append(Block(kind, match["body"]))
    return found


@dataclass(frozen=True)
class Script:
    text: str
    commands: list[Command]  # in the order of their markers
    background: list[Path]  # the pid files of background blocks


def script(
    walk: list[Block],
    workdir: Path,
    *,
    install: Callable[[str], str] | None = None,
    edit: Callable[[str], str] = lambda text: text,
    after_each: str = "",
) -> Script:
    """The walk-through as one bash script run from ``workdir``.

    ``install`` replaces each install-step line; ``edit`` changes every command and file and
    every expected line alike (a port); ``after_each`` runs after each command, its output
    not shown.
    """
    out = ["set -euo pipefail", "exec 2>&1"]
    commands: list[Command] = []
    pids: list[Path] = []

    def step(command: Command) -> Iterator[str]:
        edited = Command(edit(command.line), tuple(edit(e) for e in command.expected))
        yield f"printf '\\n%s %d\\n' {shlex.quote(MARK)} {len(commands)}"
        commands.append(edited)
        yield edited.line
        if after_each:
            yield f"{{ {after_each}; }} >/dev/null 2>&1 </dev/null"

    for index, block in enumerate(walk):
        if block.kind == "file":
            assert block.name is not None
            end = f"WALK_THROUGH_FILE_{index}"
            out.append(f"cat > {shlex.quote(block.name)} <<'{end}'\n{edit(block.body)}{end}")
        elif block.kind == "background":
            runs = workdir / f"background-{index}.sh"
            log, pid = workdir / f"background-{index}.log", workdir / f"background-{index}.pid"
            cmds = block.commands
            runs.write_text("\n".join(["set -e", *(edit(c.line) for c in cmds)]) + "\n")
            pids.append(pid)
            ready = edit(cmds[-1].expected[-1])
            out += [
                f"setsid bash {runs} >{log} 2>&1 </dev/null & echo $! >{pid}",
                f"for _ in $(seq 600); do grep -qF {shlex.quote(ready)} {log} && break; "
                "sleep 0.1; done",
                f"grep -qF {shlex.quote(ready)} {log} || {{ cat {log}; exit 97; }}",
            ]
        else:
            for command in block.commands:
                if block.kind == "install" and INSTALL_LINE.search(command.line):
                    if install is None:
                        raise ValueError("the walk-through has an install step: say what runs")
                    out.append(install(command.line))
                    continue
                out += list(step(command))
    return Script("\n".join(out) + "\n", commands, pids)


def outputs(printed: str) -> dict[int, str]:
    """What each command printed, by its index, from the script's output."""
    found: dict[int, str] = {}
    parts = re.split(rf"^{re.escape(MARK)} (\d+)$", printed, flags=re.MULTILINE)
    for number, text in zip(parts[1::2], parts[2::2], strict=True):
        found[int(number)] = text
    return found
