"""The system an experiment acts on: one :class:`~harness.run.cluster.Cluster`
per ``chaos run`` process.

The experiment's control (:mod:`harness.chaos.control`) starts it before the
steady state is first checked and stops it after the rollbacks. An experiment
without the control still works: the first activity starts the system, and it
is stopped when the process exits.

Where it runs comes from the experiment's ``configuration``:

``harness_backend``
    ``embedded`` (default: moto in server mode on 127.0.0.1, started here),
    ``localstack`` (started here), or ``aws`` (the account of the standard AWS
    environment: ``AWS_PROFILE``, credentials, ``AWS_REGION``, ``AWS_ENDPOINT_URL``).
``harness_allowed_accounts``
    comma-separated account ids the ``aws`` backend may touch; checked with STS
    GetCallerIdentity before anything else, and any other account is refused.
``harness_system``
    the system under test, ``pkg.module:obj`` (a :class:`harness.system.System`;
    default: the reference system); each agent it declares runs as a process.
``harness_worker``
    comma-separated ``CAP=pkg.module:Class`` replacements for workers (a
    system with an ``impls`` option, such as the reference system).
``harness_supervisor_reads``
    ``consistent`` or ``eventual``: overrides the control's ``supervisor_reads``.
``harness_out``
    the output directory (default: ``runs/chaos/<time>-<title>``).
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any

from harness.run.cluster import Cluster, ClusterConfig, ClusterError

#: Keyword arguments the control accepts, with their meaning.
SYSTEM_ARGUMENTS: dict[str, str] = {
    "workers": "worker processes (default 4: research twice, write, review)",
    "visibility_timeout": "capability queues' visibility timeout in seconds (default 2)",
    "seed": "seed of the workload, the model and the plans (default 1)",
    "restart_after": "seconds before a dead agent is started again (default 1)",
    "supervisor_reads": "consistent (default) or eventual reads of the task table",
    "sweep_interval": "seconds between the idle supervisor's looks at every open task (default 3)",
    "warmup_requests": "requests completed before the steady state is first checked (default 2)",
    "warmup_timeout": "seconds the warm-up may take (default 30)",
}

_lock = threading.Lock()
_cluster: Cluster | None = None
_refusal: str | None = None
_managed = False


def _config_value(configuration: dict[str, Any] | None, key: str) -> str:
    value = (configuration or {}).get(key)
    return "" if value is None else str(value).strip()


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.replace(";", ",").split(",") if p.strip())


def cluster_config(
    configuration: dict[str, Any] | None, title: str = "experiment", **arguments: Any
) -> ClusterConfig:
    """The cluster an experiment asks for: where from ``configuration``, its shape from ``arguments``."""
    unknown = sorted(set(arguments) - set(SYSTEM_ARGUMENTS))
    if unknown:
        raise ClusterError(
            f"unknown system argument(s) {', '.join(unknown)}: choose from {', '.join(SYSTEM_ARGUMENTS)}"
        )
    out = _config_value(configuration, "harness_out")
    return ClusterConfig(
        backend=_config_value(configuration, "harness_backend") or "embedded",
        system=_config_value(configuration, "harness_system") or None,
        allowed_accounts=_split(_config_value(configuration, "harness_allowed_accounts")),
        worker_impls=_split(_config_value(configuration, "harness_worker")),
        out=Path(out) if out else None,
        name=title,
        workers=int(arguments.get("workers", 4)),
        visibility_timeout=int(arguments.get("visibility_timeout", 2)),
        seed=int(arguments.get("seed", 1)),
        restart_after=float(arguments.get("restart_after", 1.0)),
        sweep_interval=float(arguments.get("sweep_interval", 3.0)),
        supervisor_reads=_config_value(configuration, "harness_supervisor_reads")
        or str(arguments.get("supervisor_reads", "consistent")),
    )


def start(
    configuration: dict[str, Any] | None, title: str = "experiment", *, managed: bool = True, **arguments: Any
) -> Cluster:
    """Start the system (once per process) and warm it up."""
    global _cluster, _refusal, _managed
    with _lock:
        if _cluster is not None and not _cluster.stopped:
            return _cluster
        warmup = int(arguments.pop("warmup_requests", 2))
        warmup_timeout = float(arguments.pop("warmup_timeout", 30.0))
        try:
            cluster = Cluster(cluster_config(configuration, title, **arguments))
            _cluster, _managed, _refusal = cluster, managed, None
            cluster.start()
        except Exception as e:
            _refusal = one_line(e)
            raise ClusterError(_refusal) from None
        if not managed:
            atexit.register(stop)
    if warmup > 0:
        cluster.submit(warmup)
        cluster.settle(warmup_timeout)
    return cluster


def current(configuration: dict[str, Any] | None = None) -> Cluster:
    """The running system; started here when no control manages one."""
    if _refusal is not None:
        raise ClusterError(f"the system did not start: {_refusal}")
    if _cluster is not None and not _cluster.stopped:
        return _cluster
    if _cluster is not None and _managed:
        raise ClusterError("the system has been stopped")
    return start(configuration, managed=False)


def running() -> Cluster | None:
    """The running system, if any (never starts one): what rollbacks act on."""
    return _cluster if _cluster is not None and not _cluster.stopped else None


def stop() -> dict[str, Any]:
    """Stop the system if one runs; returns where its output went."""
    cluster = _cluster
    if cluster is None:
        return {"error": _refusal} if _refusal else {}
    history = cluster.stop()
    return {
        **({"error": _refusal} if _refusal else {}),
        "out": str(cluster.out),
        "history": str(history) if history else None,
        "backend": cluster.cfg.backend,
        "submitted": len(cluster.submitted),
        "restarts": {a.name: a.restarts for a in cluster.agents.values() if a.restarts},
        "leftovers": cluster.leftovers() if (cluster.out / "cluster.json").exists() else [],
    }


def reset() -> None:
    """Forget a stopped system (tests that run several in one process)."""
    global _cluster, _refusal
    stop()
    _cluster, _refusal = None, None


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if isinstance(e, ClusterError | RuntimeError | ValueError) else f"{type(e).__name__}: {text}"
