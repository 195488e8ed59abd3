"""A testing and verification harness for multi-agent systems on AWS.

Heavy imports (boto3, moto) are lazy: ``import harness.checkers`` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Endpoints", "Recorder", "__version__", "aws", "discover", "embedded", "localstack", "session"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit's entry point (``chaos discover --no-install mas-harness``):
    the activities of :mod:`harness.chaos`."""
    from harness.chaos import discover as chaos_discover

    return chaos_discover(discover_system=discover_system)


def __getattr__(name: str) -> Any:
    if name == "session":
        from harness.instrument.session import session

        return session
    if name in ("embedded", "localstack", "aws", "Endpoints"):
        from harness import backends

        return getattr(backends, name)
    if name == "Recorder":
        from harness.history.recorder import Recorder

        return Recorder
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
