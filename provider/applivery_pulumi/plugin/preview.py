"""What a preview shows of a policy's outputs: the plugin tells the engine it previews
(``supportsPreview``), so a create or update at preview answers with what it already knows.

Known before the write: the identity, options and declared body (which the write stores, or
fails), and of an update the policy's record from before adoption and the metadata no write
changes.  Left out, so shown as unknown (``[unknown]``, ``output<string>``) until the run: what
the service assigns (a create's version and dates, an update's new version and time).  No
request is made.
"""

from __future__ import annotations

from typing import Any

from applivery_pulumi.policy import diff, validate
from applivery_pulumi.policy.fields import IDENTITY, OPTIONS, PRE_ADOPTION, WRITTEN
from applivery_pulumi.policy.normalize import metadata
from applivery_pulumi.policy.values import plain


def outputs(inputs: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """The outputs of creating (``old`` None) or updating (``old`` the state) with ``inputs``."""
    news = plain(inputs)
    declared = validate.body(news)
    outs = {k: news[k] for k in (*IDENTITY, *OPTIONS) if k in news} | declared
    if old is None:
        return outs
    olds = plain(old)
    if not diff.changed_paths(declared, validate.body(olds)):
        return outs | metadata(olds) | _kept(olds)
    unchanged = {k: v for k, v in metadata(olds).items() if k not in WRITTEN}
    return outs | unchanged | _kept(olds)


def _kept(olds: dict[str, Any]) -> dict[str, Any]:
    return {PRE_ADOPTION: olds[PRE_ADOPTION]} if PRE_ADOPTION in olds else {}
