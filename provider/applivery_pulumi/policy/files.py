"""The YAML of policy files: read within bounds, written so that it loads back as it was.

Policy files come from repositories, pull requests and exports, so their text is not trusted:
:func:`read_yaml` is their one reader (``PolicySet``, ``applivery-pulumi export``), each bound
explained where it is enforced; :func:`dump_yaml` their one writer; :func:`escape` and
:func:`unescape` apply the placeholder rule (``PLACEHOLDER``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from applivery_pulumi.text import shown

SUFFIXES: Final = (".yaml", ".yml")
MAX_BYTES: Final = 256 * 1024  # a larger file is refused before it is parsed
MAX_DEPTH: Final = 64

_NAME: Final = r"[A-Za-z_][A-Za-z0-9_.-]*"
# A string that is exactly `${name}` stands for a value of PolicySet(values=...); one that is `$`
# followed by such a form (`$${name}`, `$$${name}`, ...) is a literal with one `$` less.
# Used with fullmatch only: `$` of Python's `re` would also accept a trailing newline.
PLACEHOLDER: Final = re.compile(rf"\$\{{({_NAME})\}}")
_ESCAPED: Final = re.compile(rf"\$(\$*\$\{{{_NAME}\}})")
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


class PolicyYamlError(ValueError):
    """A policy file that cannot be read: one line naming the file and the problem."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, with a depth limit and no duplicate keys.

    Aliases would let a few hundred bytes stand for billions of nodes; of a key given twice,
    YAML would keep the last one silently.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in policy files: write the value out",
                event.start_mark,
            )
        if self._depth >= MAX_DEPTH:
            raise ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable: the base class names it
                    continue
                if duplicate:
                    raise ConstructorError(
                        None, None, f"duplicate key {shown(key, 80)}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, which writes the invisible characters of a string as escapes.

    With ``allow_unicode`` PyYAML writes format characters as they are (C0, C1 and DEL it
    escapes already): a bidirectional control would reorder the rest of the line on screen, so
    such a string is written double-quoted with escapes, and shows in a review as what it holds.
    """

    def analyze_scalar(self, scalar: str) -> Any:
        analysis = super().analyze_scalar(scalar)
        if _invisible(scalar):
            # Escapes exist in double-quoted scalars only.
            analysis.allow_flow_plain = analysis.allow_block_plain = False
            analysis.allow_single_quoted = analysis.allow_block = False
        return analysis

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        if not _invisible(text):
            super().write_double_quoted(text, split)
            return
        # PyYAML escapes either every non-ASCII character or none: every one, in such a string.
        allow_unicode, self.allow_unicode = self.allow_unicode, False
        try:
            super().write_double_quoted(text, split)
        finally:
            self.allow_unicode = allow_unicode


def _invisible(text: str) -> bool:
    """Whether ``text`` holds a character a message would escape, line breaks and tabs aside."""
    return not text.replace("\n", "").replace("\t", "").isprintable()


def dump_yaml(data: Any) -> str:
    """``data`` as the YAML text of a policy file: keys in their order, letters as they are."""
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    return text


def _open_inside(path: Path, folder: Path) -> int:
    try:
        # Not strict: a dangling link that would lead outside is named as such.
        real = path.resolve()
        inside = real.is_relative_to(folder.resolve(strict=True))
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on Python < 3.13
        raise PolicyYamlError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    if not inside:
        raise PolicyYamlError(
            f"{path}: is a symbolic link leading outside its folder {folder}; policy files "
            "must be inside the folder (copy the file there instead of linking to it)"
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        # The resolved path, not following links: what was checked is what is read.
        fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise PolicyYamlError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PolicyYamlError(f"{path}: is not a regular file")
    return fd


def _os_reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__


def read_yaml(path: Path, folder: Path | None = None) -> Any:
    """The data of the YAML file ``path``, which must lie inside ``folder`` (its own by default).

    Raises :class:`PolicyYamlError`, naming ``path``, for anything but a bounded, alias-free
    YAML document of UTF-8 text.
    """
    fd = _open_inside(path, path.parent if folder is None else folder)
    try:
        with os.fdopen(fd, "rb") as stream:
            blob = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PolicyYamlError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    if len(blob) > MAX_BYTES:
        raise PolicyYamlError(
            f"{path}: larger than {MAX_BYTES // 1024} KiB, the limit of a policy file"
        )
    return parse_yaml(blob, path)


def parse_yaml(blob: bytes, path: Path | str) -> Any:
    """The data of one policy file's bytes, within the same bounds as :func:`read_yaml`."""
    prefix = f"{path}: not a readable YAML file"
    if len(blob) > MAX_BYTES:
        raise PolicyYamlError(
            f"{path}: larger than {MAX_BYTES // 1024} KiB, the limit of a policy file"
        )
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyYamlError(
            f"{prefix}: not UTF-8 text (byte 0x{blob[exc.start]:02x} at offset {exc.start})"
        ) from None
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # checks the characters already
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        # Only the position and the problem: the error's own text quotes the lines around it.
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = str(exc.problem or exc.context or "malformed YAML")[:200]
        raise PolicyYamlError(f"{path}{where}: not a readable YAML file: {problem}") from None
    except yaml.reader.ReaderError as exc:
        raise PolicyYamlError(
            f"{prefix}: character #x{exc.character:04x} at offset {exc.position} is not allowed"
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # ValueError: a well-formed scalar the constructor cannot build (2026-13-45, a
        # 5,000-digit integer); its message never holds more than the value's kind.
        raise PolicyYamlError(f"{prefix}: {type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        if loader is not None:
            loader.dispose()


def unescape(text: str) -> str:
    """A file's string as the value it stands for, once placeholders have been handled."""
    m = _ESCAPED.fullmatch(text)
    return m.group(1) if m else text


def escape(value: Any) -> Any:
    """``value`` with every string that would load as a placeholder (or an escape) escaped."""
    if isinstance(value, str):
        return f"${value}" if _ESCAPED.fullmatch(f"${value}") else value
    if isinstance(value, dict):
        return {k: escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape(v) for v in value]
    return value
