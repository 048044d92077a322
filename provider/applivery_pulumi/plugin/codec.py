"""The SDK's property values as the plain Python the lifecycle works on, and back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue

from applivery_pulumi.policy.values import UNKNOWN


def python(value: PropertyValue) -> Any:
    """A property value as plain Python (secrets unwrapped, unknowns as ``values.UNKNOWN``)."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {k: python(v) for k, v in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [python(v) for v in inner]
    return inner


def python_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    return {k: python(v) for k, v in values.items()}


def property_value(value: Any) -> PropertyValue:
    """Plain Python as a property value; numbers are floats, as the engine sends them."""
    if isinstance(value, Mapping):
        return PropertyValue({k: property_value(v) for k, v in value.items() if v is not None})
    if isinstance(value, list | tuple):
        return PropertyValue([property_value(v) for v in value])
    if isinstance(value, int) and not isinstance(value, bool):
        return PropertyValue(float(value))
    return PropertyValue(value)


def property_map(values: Mapping[str, Any]) -> dict[str, PropertyValue]:
    return {k: property_value(v) for k, v in values.items() if v is not None}
