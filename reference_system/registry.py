"""The agent registry: which agent serves which capability, on which queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AgentEntry:
    agent: str
    capability: str
    queue: str
    version: str
    status: str


class NoAgentForCapability(LookupError):
    pass


class Registry:
    """A DynamoDB table: agent, capability, queue, version, status."""

    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table
        self._cache: dict[str, AgentEntry] | None = None

    def register(self, agent: str, capability: str, queue: str, version: str, status: str = "active") -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "agent": {"S": agent},
                "capability": {"S": capability},
                "queue": {"S": queue},
                "version": {"S": version},
                "status": {"S": status},
            },
        )
        self._cache = None

    def entries(self) -> list[AgentEntry]:
        out: list[AgentEntry] = []
        kw: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        while True:
            page = self._ddb.scan(**kw)
            for it in page.get("Items", []):
                out.append(
                    AgentEntry(
                        agent=it["agent"]["S"],
                        capability=it["capability"]["S"],
                        queue=it["queue"]["S"],
                        version=it["version"]["S"],
                        status=it.get("status", {"S": "active"})["S"],
                    )
                )
            if "LastEvaluatedKey" not in page:
                return sorted(out, key=lambda e: e.agent)
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def for_capability(self, capability: str) -> AgentEntry:
        """The active agent for ``capability`` (cached; refreshed on a miss)."""
        for attempt in range(2):
            if self._cache is None or attempt:
                self._cache = {}
                for e in self.entries():
                    if e.status == "active":
                        self._cache.setdefault(e.capability, e)
            if capability in self._cache:
                return self._cache[capability]
        raise NoAgentForCapability(f"no active agent for capability {capability!r}")
