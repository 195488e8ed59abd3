"""Language-model faults: malformed output, timeouts, over-long output, and
empty answers (the shape asked for, with nothing in it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness.faults.injector import FaultInjector


def emptied(output: Any) -> Any:
    """``output`` in the same shape with nothing in it: every list, at any
    depth, empty; every other value as it was. A model that found nothing,
    or was cut off by a content filter, answers well-formed and empty."""
    if isinstance(output, dict):
        return {k: emptied(v) for k, v in output.items()}
    if isinstance(output, list):
        return []
    return output


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
            return dataclasses.replace(c, output={"unparseable": "<<truncated json"})
        if mode == "empty":
            return dataclasses.replace(c, output=emptied(c.output))
        if mode == "overlong":
            return dataclasses.replace(c, output_tokens=c.output_tokens * 50)
        return c
