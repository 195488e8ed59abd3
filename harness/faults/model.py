"""Language-model faults: malformed output, timeouts, over-long output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.faults.injector import FaultInjector


class ModelTimeout(TimeoutError):
    """The model did not answer in time."""


@dataclass
class FaultyModel:
    """Wraps a model (anything with ``name`` and ``complete(kind, prompt,
    context)`` returning an object with ``output``, ``input_tokens`` and
    ``output_tokens``) and injects the plan's model faults for ``agent``."""

    inner: Any
    injector: FaultInjector
    agent: str

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def complete(self, kind: str, prompt: str, context: dict[str, Any]) -> Any:
        mode = self.injector.model_fault(self.agent, kind)
        if mode == "timeout":
            raise ModelTimeout(f"model {self.name} timed out on {kind}")
        c = self.inner.complete(kind, prompt, context)
        if mode == "malformed":
            return type(c)({"unparseable": "<<truncated json"}, c.input_tokens, c.output_tokens, c.model)
        if mode == "overlong":
            return type(c)(c.output, c.input_tokens, c.output_tokens * 50, c.model)
        return c
