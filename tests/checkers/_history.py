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

    def receive(
        self,
        p: str,
        queue: str,
        *msgs: tuple[str | None, str],
        group: str | None = None,
        receive_count: int | None = None,
    ) -> None:
        """Receive ``(message id, sqs id)`` pairs; ``group`` and
        ``receive_count``, when given, are recorded on every one of them."""
        out = []
        for m, s in msgs:
            d: dict[str, Any] = {"sqs_id": s, "message_id": m}
            if group is not None:
                d["group"] = group
            if receive_count is not None:
                d["receive_count"] = receive_count
            out.append(d)
        self.call(p, "sqs.ReceiveMessage", queue, None, {"messages": out})

    def apply(self, p: str, queue: str, mid: str | None, sqs_id: str, group: str | None = None) -> None:
        """A consumer's ``message.apply`` note (key = the queue's name)."""
        self.call(p, "message.apply", queue, {"message_id": mid, "sqs_id": sqs_id, "group": group})

    def delete(self, p: str, queue: str, sqs_id: str) -> None:
        self.call(p, "sqs.DeleteMessage", queue, {"sqs_id": sqs_id})
