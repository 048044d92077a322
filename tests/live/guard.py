"""The suite's own requests: a client that writes to listed policies only, and the record of
every listed policy taken before anything else, put back whatever happens.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.errors import AppliveryError
from applivery_pulumi.api.settings import Secret, Settings
from tests.live.proxy import Requests
from tests.live.target import Target, comparable, restore_body


class NotListed(AssertionError):
    pass


class GuardedClient:
    """The provider's own client on the public API, refusing a PUT to a policy not listed."""

    def __init__(self, target: Target, requests: Requests) -> None:
        self.target = target
        self._requests = requests
        self._client = AppliveryClient(
            Settings(api_token=Secret(target.token), base_url=target.base_url)
        )

    def get(self, policy_id: str) -> dict[str, Any]:
        self._requests.add("GET", policy_id, by="suite")
        return self._client.get_policy(self.target.organization, policy_id)

    def put(self, policy_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if policy_id not in self.target.policies:
            raise NotListed(f"policy {policy_id} is not listed: the suite writes to none but those")
        self._requests.add("PUT", policy_id, by="suite")
        return self._client.put_policy(self.target.organization, policy_id, body)

    def close(self) -> None:
        self._client.close()


class Snapshot:
    """Each listed policy's stored document, recorded first; :meth:`restore` puts them back."""

    def __init__(self, client: GuardedClient) -> None:
        self.client = client
        self.recorded = {pid: client.get(pid) for pid in client.target.policies}
        self._lock = threading.Lock()
        self._done = False

    def restore(self) -> list[str]:
        """Put every listed policy back (a PUT only where its configuration changed), then read
        each again, and return one line per policy that is not as recorded.  The reads come
        after every write: a policy's document names the others that share its profiles.  Runs
        once, whoever calls first."""
        with self._lock:
            if self._done:
                return []
            self._done = True
            problems = {pid: self._put_back(pid) for pid in self.recorded}
            return [
                f"{pid}: {problem}"
                for pid in self.recorded
                if (problem := problems[pid] or self._check(pid))
            ]

    def _put_back(self, policy_id: str) -> str:
        body = restore_body(self.recorded[policy_id])
        try:
            if restore_body(self.client.get(policy_id)) != body:
                self.client.put(policy_id, body)
        except AppliveryError as exc:
            return str(exc)
        return ""

    def _check(self, policy_id: str) -> str:
        expected = comparable(self.recorded[policy_id])
        try:
            found = comparable(self.client.get(policy_id))
        except AppliveryError as exc:
            return str(exc)
        keys = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
        return f"differs from the recorded document in {', '.join(keys)}" if keys else ""


def report(problems: list[str]) -> str:
    text = "the live suite could not restore these policies: " + "; ".join(problems)
    print(text, file=sys.stderr)
    return text
