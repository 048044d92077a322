"""Seed files: YAML or JSON, in the format of emulator/README.md's "Seed format".

A seed file is read within bounds, as the provider reads policy files (``policy/files.py`` says
why; implemented again here, since the emulator imports nothing of the provider): no aliases, at
most :data:`MAX_DEPTH` levels, and at most :data:`MAX_BYTES`, more than a policy file's, since a
seed may hold many policies.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.nodes import Node

from .models import SeedDocument, describe_errors

MAX_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 64
# Package data, so that an install from a wheel or git has it (``--seed-example``).
EXAMPLE_SEED: Final = "example-seed.yaml"


class SeedError(ValueError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases and with a depth limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            problem = "aliases (*name) are not allowed in seed files: write the value out"
            raise ComposerError(None, None, problem, event.start_mark)
        if self._depth >= MAX_DEPTH:
            problem = f"nested deeper than {MAX_DEPTH} levels"
            raise ComposerError(None, None, problem, event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _parse(text: str, path: Path) -> Any:
    if path.suffix == ".json":
        return json.loads(text)  # nesting beyond the interpreter's limit: RecursionError
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read and validate a seed file; raise SeedError with a one-line message naming it."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            blob = stream.read(MAX_BYTES + 1)  # never more, whatever the file is
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from None
    if len(blob) > MAX_BYTES:
        raise SeedError(f"seed file {path}: larger than {MAX_BYTES // 1024} KiB, the limit")
    try:
        data = _parse(blob.decode("utf-8"), path)
    except yaml.MarkedYAMLError as exc:
        # The position and the problem only: the error's own text quotes lines of the file.
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "malformed YAML"
        raise SeedError(f"seed file {path}{where} is not valid YAML: {problem}") from None
    except (ValueError, RecursionError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise SeedError(f"seed file {path} is not valid YAML/JSON: {reason}") from None
    if data is None:
        data = {}
    data = _dates_as_text(data)
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path}: the top level must be a mapping")
    try:
        SeedDocument.model_validate(data)
    except ValidationError as exc:
        raise SeedError(f"seed file {path}: {describe_errors(exc)}") from None
    return data


def example_seed_path() -> Path:
    """The example seed shipped with the package (a file of an installed package, not a zip)."""
    return Path(str(files(__package__ or "applivery_emulator") / EXAMPLE_SEED))


def _dates_as_text(value: Any) -> Any:
    """YAML turns unquoted timestamps into datetimes; the API takes them as strings."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
