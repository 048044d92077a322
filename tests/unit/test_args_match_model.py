"""Every ``*Args`` class holds the fields of its model: names, nesting and required-ness; the
typed outputs (``PolicyOutputs``) hold the model's fields and ``fields.OUTPUTS``.

A field added to a model in ``model.py`` and not to its args class or outputs (or the other way
round) fails here, before a user finds the argument or the output missing.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from applivery_pulumi.dynamic import args
from applivery_pulumi.dynamic.args import _camel
from applivery_pulumi.dynamic.resource import PolicyOutputs
from applivery_pulumi.policy import model
from applivery_pulumi.policy.fields import OUTPUTS

# args class -> the models whose fields it holds (the resource's args: identity and body).
PAIRS: dict[type[Any], tuple[type[BaseModel], ...]] = {
    args.AppleDevicePolicyArgs: (model.PolicyIdentity, model.PolicyBody),
    args.ApplicationArgs: (model.Application,),
    args.ApplicationScriptsArgs: (model.ApplicationScripts,),
    args.BookArgs: (model.Book,),
    args.ScriptArgs: (model.Script,),
    args.BookmarkArgs: (model.Bookmark,),
    args.AssetArgs: (model.Asset,),
    args.BlacklistedAppArgs: (model.BlacklistedApp,),
    args.PolicyFeaturesArgs: (model.PolicyFeatures,),
    args.AgentConfigurationArgs: (model.AgentConfiguration,),
}
# Required by the model, optional as an argument: the stack config supplies it.
FILLED_IN: set[tuple[type[Any], str]] = {(args.AppleDevicePolicyArgs, "organizationId")}


def _model_fields(models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    return {name: info for m in models for name, info in m.model_fields.items()}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X | None``, ``list[X]`` and the like, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _nested_model(arg)
        if inner is not None:
            return inner
    return None


@pytest.mark.parametrize("args_class", list(PAIRS), ids=lambda c: c.__name__)
def test_args_fields_are_the_model_fields(args_class: type[Any]) -> None:
    fields = {_camel(f.name): f for f in dataclasses.fields(args_class)}
    expected = _model_fields(PAIRS[args_class])
    assert sorted(fields) == sorted(expected)
    for name, info in expected.items():
        arg = fields[name]
        has_default = arg.default is not dataclasses.MISSING
        if (args_class, name) in FILLED_IN:
            assert has_default, name
        else:
            assert has_default == (not info.is_required()), f"{args_class.__name__}.{name}"


@pytest.mark.parametrize("args_class", list(PAIRS), ids=lambda c: c.__name__)
def test_nested_args_are_the_nested_models(args_class: type[Any]) -> None:
    expected = _model_fields(PAIRS[args_class])
    by_arg = {_camel(f.name): f.name for f in dataclasses.fields(args_class)}
    for name, info in expected.items():
        nested = _nested_model(info.annotation)
        declared = args_class._nested.get(by_arg[name])
        if nested is None:
            assert declared is None, f"{args_class.__name__}.{name} is not nested in the model"
        else:
            assert declared is not None, f"{args_class.__name__}.{name} takes {nested.__name__}"
            assert PAIRS[declared] == (nested,), f"{args_class.__name__}.{name}"


def test_policy_outputs_are_the_model_fields_and_the_outputs() -> None:
    # Each typed output of the resources (dynamic and plugin) is one property, read under its
    # camelCase name: none missing, none left over.
    expected = [*_model_fields(PAIRS[args.AppleDevicePolicyArgs]), *OUTPUTS]
    properties = [n for n, v in vars(PolicyOutputs).items() if isinstance(v, property)]
    assert sorted(_camel(n) for n in properties) == sorted(expected)
    outputs = PolicyOutputs.__new__(PolicyOutputs)
    for name in properties:
        outputs.__dict__[_camel(name)] = marker = object()
        assert getattr(outputs, name) is marker, f"{name} reads another property"
