"""Seed files: YAML or JSON, the format documented in emulator/README.md.

``{"organizations": [{"id": ORG, "name": ..., "profiles": [{"id", "name", "type", ...}],
"policies": [{"id", "name", <any PUT body field>, "targetType", "attachedProfile",
"locks"}]}]}``. Applying a seed creates what is missing and leaves existing entries alone.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .models import SeedDocument, describe_errors


class SeedError(ValueError):
    pass


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read and validate a seed file; raise SeedError with a readable message."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SeedError(f"seed file {path} is not valid YAML/JSON: {exc}") from None
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


def _dates_as_text(value: Any) -> Any:
    """YAML turns unquoted timestamps into datetimes; the API takes them as strings."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
