"""The Chaos Toolkit control that gives an experiment its own system.

Declare it once at the top of an experiment::

    "controls": [{"name": "reference-system",
                  "provider": {"type": "python", "module": "harness.chaos.control",
                               "arguments": {"workers": 4, "visibility_timeout": 2}}}]

Before the steady state is first checked it starts the backend and the
reference system (see :mod:`harness.chaos.system` for the arguments and the
configuration keys); after the rollbacks it stops them and records where the
output went under the journal's ``harness`` key. It stops them again, should
anything be left, when the run is cleaned up, whatever ended it (Ctrl-C
included). A system that cannot start (a refused account, a backend that does
not come up) interrupts the experiment with a one-line reason before any
activity runs.

The first Ctrl-C interrupts the experiment; later ones are ignored until the
rollbacks and the clean stop are done, so that no fault outlives the run
(``kill -9`` abandons them; the agents then stop on their own).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from harness.chaos import system

logger = logging.getLogger("chaostoolkit")

_arguments: dict[str, Any] = {}
_previous_handler: Any = None
_interrupted = False


def _on_sigint(signum: int, frame: object) -> None:
    global _interrupted
    if _interrupted:
        logger.warning("harness: already stopping: the rollbacks and the clean-up are running")
        return
    _interrupted = True
    raise KeyboardInterrupt


def _guard_ctrl_c() -> None:
    global _previous_handler, _interrupted
    if threading.current_thread() is threading.main_thread() and _previous_handler is None:
        _interrupted = False
        _previous_handler = signal.signal(signal.SIGINT, _on_sigint)


def _release_ctrl_c() -> None:
    global _previous_handler
    if threading.current_thread() is threading.main_thread() and _previous_handler is not None:
        signal.signal(signal.SIGINT, _previous_handler)
        _previous_handler = None


def configure_control(
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    **arguments: Any,
) -> None:
    _arguments.clear()
    _arguments.update(arguments)


def before_experiment_control(
    context: dict[str, Any],
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    **arguments: Any,
) -> None:
    from chaoslib.exceptions import InterruptExecution

    _guard_ctrl_c()
    args = {**_arguments, **arguments}
    title = str(context.get("title") or "experiment")
    try:
        cluster = system.start(configuration, title, **args)
    except Exception as e:
        logger.critical(f"harness: the system could not start: {system.one_line(e)}")
        raise InterruptExecution(f"harness: the system could not start: {system.one_line(e)}") from None
    logger.info(
        f"harness: {cluster.cfg.backend} backend, {len(cluster.agents)} agents, output in {cluster.out}"
    )


def after_experiment_control(
    context: dict[str, Any],
    state: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    **arguments: Any,
) -> None:
    summary = system.stop()
    if isinstance(state, dict):
        state["harness"] = summary
    if summary.get("history"):
        logger.info(f"harness: history in {summary['history']}")
    for item in summary.get("leftovers", []):
        logger.error(f"harness: left behind: {item}")


def cleanup_control() -> None:
    try:
        system.stop()
    finally:
        _release_ctrl_c()
