"""A small builder of histories for checker tests."""

from __future__ import annotations

from typing import Any

from harness.history.model import Op


class History(list[Op]):
    def add(self, process: Any, type: str, f: str, key: Any = None, value: Any = None, **meta: Any) -> Op:
        error = meta.pop("error", None)
        op = Op(len(self), len(self) * 1000, process, type, f, key, value, error=error, meta=meta)
        self.append(op)
        return op

    def call(
        self,
        process: Any,
        f: str,
        key: Any = None,
        value: Any = None,
        result: Any = None,
        type: str = "ok",
        **meta: Any,
    ) -> None:
        self.add(process, "invoke", f, key, value, **meta)
        if type != "none":
            self.add(process, type, f, key, value if result is None else result, **meta)

    # conventions of the instrumented Session
    def send(
        self, p: str, queue: str, mid: str | None, sqs_id: str, group: str | None = None, type: str = "ok"
    ) -> None:
        v: dict[str, Any] = {"message_id": mid}
        if group is not None:
            v["group"] = group
        self.call(p, "sqs.SendMessage", queue, v, {**v, "sqs_id": sqs_id}, type=type)

    def receive(self, p: str, queue: str, *msgs: tuple[str | None, str]) -> None:
        self.call(
            p,
            "sqs.ReceiveMessage",
            queue,
            None,
            {"messages": [{"sqs_id": s, "message_id": m} for m, s in msgs]},
        )

    def delete(self, p: str, queue: str, sqs_id: str) -> None:
        self.call(p, "sqs.DeleteMessage", queue, {"sqs_id": sqs_id})
