"""The harness as a pytest plugin (entry point ``pytest11: harness``).

Thin wiring over the library: options (each with an ini key), two markers,
fixtures built from library constructors, a header line, and one hook that
checks each harness-using test's history after the test body ran. Nothing is
imported beyond pytest until a test asks for a harness fixture.

Options / ini keys:
  --harness-backend embedded|localstack|aws   harness_backend
  --harness-seed N                            harness_seed
  --harness-report DIR                        harness_report
  --harness-system pkg.module:obj             harness_system (default: the reference system)
  --harness-worker capability=pkg.module:Class (repeatable)  harness_workers (one per line)
  --harness-aws-profile NAME                  harness_aws_profile
  --harness-allowed-account ID (repeatable)   harness_allowed_accounts
  --harness-redact-pattern KIND=REGEX (repeatable)  harness_redact_patterns (one per line)
  --harness-redact-field NAME (repeatable)    harness_redact_fields (one per line)
  --harness-redact-personal                   harness_redact_personal (redact e-mails, phones too)

Markers:
  harness_chaos(plan=...)                     the test's fault plan
  harness_checks(*checkers, specs=, properties=True)   what is checked after the test
  harness_sim(workers=, supervisors=, visibility_timeout=, max_virtual_seconds=, options=)
                                              defaults of the test's ``sim`` runs

The harness seed also seeds the property suite's draws (with each
property's name), so ``--harness-seed N`` repeats a suite run's cases; with
no ``--harness-seed`` a random one is chosen (and shown in the header), unless
``--hypothesis-seed`` is given, which then decides the draws. The suite keeps
no Hypothesis example database: its failing cases are saved as case files.
A worker spec that cannot be imported or is not a Worker is a usage error at
start-up.

Fixtures: harness_config, harness_backend (session), harness_session,
history, fault_plan, reference_system, sim.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BACKEND_CHOICES = ("embedded", "localstack", "aws")
_FIXTURES = frozenset(
    {
        "harness_backend",
        "harness_session",
        "history",
        "fault_plan",
        "reference_system",
        "sim",
        "harness_config",
    }
)
_RUN = pytest.StashKey[Any]()
_SEED = pytest.StashKey[int]()
#: Where modules were found before pytest and the plugin added the rootdir
#: and test directories: what a fresh ``pytest`` searches too.
_START_PATH = tuple(sys.path)


# -- options and markers -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "multi-agent system harness")

    def option(flag: str, help: str, *, ini_help: str | None = None, default: Any = "", **kw: Any) -> None:
        """``--harness-X`` and its ini key ``harness_X`` (the ini key is the default)."""
        group.addoption(flag, default=None, help=help, **kw)
        ini = "harness_" + flag.removeprefix("--harness-").replace("-", "_")
        parser.addini(ini, ini_help or f"default for {flag}", default=default)

    def repeatable(flag: str, ini: str, metavar: str, help: str, ini_help: str) -> None:
        """A repeatable ``--harness-X`` and its ini key, one value per line."""
        group.addoption(flag, action="append", default=[], metavar=metavar, help=help)
        parser.addini(ini, ini_help, type="linelist", default=[])

    option(
        "--harness-backend",
        "where AWS is for harness fixtures: embedded (moto, default), localstack or aws",
        choices=BACKEND_CHOICES,
        default="embedded",
    )
    option(
        "--harness-seed",
        "seed for workloads, faults and the simulator",
        ini_help="default for --harness-seed (unset: a random seed per run)",
        type=int,
    )
    option("--harness-report", "write each test's history and verdicts here", metavar="DIR")
    option(
        "--harness-system",
        "the system under test (a harness.system.System; default: the reference system)",
        metavar="pkg.module:obj",
    )
    repeatable(
        "--harness-worker",
        "harness_workers",
        "CAPABILITY=pkg.module:Class",
        "test this Worker implementation for a capability (repeatable)",
        "capability=pkg.module:Class, one per line",
    )
    option("--harness-aws-profile", "AWS profile for --harness-backend aws")
    repeatable(
        "--harness-allowed-account",
        "harness_allowed_accounts",
        "ACCOUNT_ID",
        "AWS account the aws backend may touch (repeatable; required for aws)",
        "AWS account ids, one per line",
    )
    repeatable(
        "--harness-redact-pattern",
        "harness_redact_patterns",
        "KIND=REGEX",
        "also redact (and flag in outputs) what REGEX matches, as KIND (repeatable)",
        "KIND=REGEX, one per line",
    )
    repeatable(
        "--harness-redact-field",
        "harness_redact_fields",
        "NAME",
        "also redact every value of a field called NAME (repeatable)",
        "field names, one per line",
    )
    option(
        "--harness-corpus",
        "failing cases kept by `harness explore`: the property suite replays this system's first "
        "(default: REPORT_DIR/corpus with --harness-report)",
        metavar="DIR",
    )
    option(
        "--harness-explore",
        "add a time-boxed exploration campaign of SECONDS to the property suite (nightly CI), "
        "its failures kept in the corpus",
        metavar="SECONDS",
    )
    group.addoption(
        "--harness-redact-personal",
        action="store_true",
        default=None,
        help="also redact personal data (e-mail addresses, phone and card numbers) in histories and spans",
    )
    parser.addini(
        "harness_redact_personal", "default for --harness-redact-personal", type="bool", default=False
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness_chaos(plan=...): inject a fault plan (FaultPlan, dict, JSON file path or 'default') "
        "into the test's harness sessions, reference system and simulated runs",
    )
    config.addinivalue_line(
        "markers",
        "harness_checks(*checkers, specs=None, properties=True): the checkers run on the test's history "
        "after it (default: idempotency, lost-update, budget, session, ordering, delivery; properties: "
        "stages, crashes, and for simulated runs liveness and retries)",
    )
    config.addinivalue_line(
        "markers",
        "harness_sim(workers=1, supervisors=1, visibility_timeout=5, max_virtual_seconds=120, "
        "auditor=False, options={}, **system_options): defaults of the test's sim(...) runs",
    )
    if config.getoption("harness_worker") or config.getini("harness_workers"):
        _worker_specs(config)  # a malformed spec is a usage error, found before collection
    if _opt(config, "system"):
        _system(config)
    _explore_seconds(config)  # a bad number is a usage error, before collection
    _redaction(config)


#: The suite's campaign test (see ``harness.suite.SystemProperties``): collected
#: only when ``--harness-explore`` asks for a campaign.
EXPLORE_TEST = "test_explore_campaign"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _explore_seconds(config) is not None:
        return
    dropped = [i for i in items if getattr(i, "originalname", i.name) == EXPLORE_TEST and _is_suite(i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


def _is_suite(item: pytest.Item) -> bool:
    cls = getattr(item, "cls", None)
    if cls is None:
        return False
    from harness.suite import SystemProperties

    return issubclass(cls, SystemProperties)


def _redaction(config: pytest.Config) -> None:
    """Add the redaction options and ini keys to the environment's settings
    (exported, so agent processes redact alike); nothing when none is given."""
    patterns = [*config.getini("harness_redact_patterns"), *config.getoption("harness_redact_pattern")]
    fields = [*config.getini("harness_redact_fields"), *config.getoption("harness_redact_field")]
    personal = config.getoption("harness_redact_personal") or config.getini("harness_redact_personal")
    if not (patterns or fields or personal):
        return
    import dataclasses

    from harness.redaction import configure, redaction_settings

    base = redaction_settings()
    settings = dataclasses.replace(
        base,
        patterns=(*base.patterns, *patterns),
        fields=(*base.fields, *fields),
        personal=bool(personal) or base.personal,
    )
    try:
        configure(settings, export=True)
    except ValueError as e:
        raise pytest.UsageError(f"--harness-redact-pattern: {e}") from None


def _importable_from_rootdir(config: pytest.Config) -> None:
    """Modules named by import path may live beside the tests, as ``python -m`` would see them."""
    import sys

    root = str(config.rootpath)
    if root not in sys.path:
        sys.path.append(root)


def _system(config: pytest.Config) -> str:
    """The named system, loaded now: one that cannot be imported is a usage error."""
    spec = str(_opt(config, "system") or "")
    if spec:
        _importable_from_rootdir(config)
        from harness.system import SystemError_, load_system

        try:
            load_system(spec)
        except SystemError_ as e:
            raise pytest.UsageError(f"--harness-system: {e}") from None
    return spec


def _opt(config: pytest.Config, name: str) -> Any:
    v = config.getoption(f"harness_{name}")
    return v if v not in (None, "", []) else config.getini(f"harness_{name}")


def _seed(config: pytest.Config) -> int:
    if _SEED not in config.stash:
        given = _opt(config, "seed")
        worker = getattr(config, "workerinput", {}).get("harness_seed")
        if given not in (None, ""):
            seed = int(given)
        elif worker is not None:
            seed = int(worker)
        else:
            seed = random.SystemRandom().randrange(2**31)
        config.stash[_SEED] = seed
    return config.stash[_SEED]


def _worker_specs(config: pytest.Config) -> list[str]:
    """The worker specs, each one checked: importable, and a Worker (or an agent class)."""
    specs = [*config.getini("harness_workers"), *config.getoption("harness_worker")]
    for s in specs:
        cap, eq, path = s.partition("=")
        if not eq or not cap.strip() or ":" not in path:
            raise pytest.UsageError(f"--harness-worker {s!r}: expected capability=pkg.module:Class")
        from harness.system import SystemError_, check_impls

        _importable_from_rootdir(config)
        try:
            check_impls({cap.strip(): path.strip()})
        except SystemError_ as e:
            raise pytest.UsageError(f"--harness-worker {e}") from None
    if specs:
        from harness.system import SystemError_, load_system

        try:
            sut = load_system(_system(config) or None)
        except SystemError_ as e:
            raise pytest.UsageError(f"--harness-system: {e}") from None
        if "impls" not in sut.options:
            raise pytest.UsageError(
                f"--harness-worker: system {sut.name} has no workers to swap (no 'impls' option)"
            )
    return specs


def _pythonpath(config: pytest.Config, specs: list[str]) -> tuple[str, ...]:
    """Where the modules of the system and workers were imported from, if a
    fresh ``pytest`` started elsewhere would not find them (the rootdir, say)."""
    from harness.testing.run import import_roots

    modules = [p.partition("=")[2].strip().partition(":")[0] for p in specs]
    spec = _system(config)
    if spec:
        modules.insert(0, spec.partition(":")[0])
    import os

    cwd = str(config.invocation_params.dir)
    searched = [p for p in _START_PATH if p not in ("", ".", cwd)]
    searched += os.environ.get("PYTHONPATH", "").split(os.pathsep)  # the user's shell has it too
    searched += [str(p) for p in config.getini("pythonpath") or ()]
    return import_roots(modules, searched)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker uses the controller's seed."""
    node.workerinput["harness_seed"] = _seed(node.config)


def _uses_harness(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return bool(_FIXTURES.intersection(names)) or any(
        item.get_closest_marker(m) is not None for m in ("harness_chaos", "harness_checks")
    )


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """The header line naming backend and seed, when a collected test uses the harness."""
    if not any(_uses_harness(i) for i in items):
        return []
    backend = _opt(config, "backend") or "embedded"
    return [f"harness: backend {backend}, seed {_seed(config)}"]


# -- after each test -----------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    run = item.stash.get(_RUN, None)
    if run is not None:
        message = run.verify()
        if message:
            pytest.fail(message, pytrace=False)
    return result


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The session's harness settings (backend, seed, report directory, system under test)."""
    from harness.sim.case import worker_options
    from harness.system import SystemRef
    from harness.testing.config import HarnessConfig

    report = _opt(pytestconfig, "report")
    report_dir = Path(report).resolve() if report else None
    accounts = [
        *pytestconfig.getini("harness_allowed_accounts"),
        *pytestconfig.getoption("harness_allowed_account"),
    ]
    workers = _worker_specs(pytestconfig)
    # --hypothesis-seed decides the suite's draws, unless --harness-seed is given too.
    hypothesis_seed = None if _opt(pytestconfig, "seed") else pytestconfig.getoption("hypothesis_seed", None)
    return HarnessConfig(
        backend=_opt(pytestconfig, "backend") or "embedded",
        seed=_seed(pytestconfig),
        report_dir=report_dir,
        cases_dir=(report_dir / "cases") if report_dir else tmp_path_factory.mktemp("harness-cases"),
        system=SystemRef(_system(pytestconfig), worker_options(workers)),
        aws_profile=_opt(pytestconfig, "aws_profile") or None,
        allowed_accounts=tuple(accounts),
        hypothesis_seed=None if hypothesis_seed is None else str(hypothesis_seed),
        pythonpath=_pythonpath(pytestconfig, workers),
        corpus_dir=Path(corpus).resolve() if (corpus := _opt(pytestconfig, "corpus")) else None,
        explore_seconds=_explore_seconds(pytestconfig),
    )


def _explore_seconds(config: pytest.Config) -> float | None:
    """``--harness-explore SECONDS`` (or its ini key): a number above zero, or None."""
    text = _opt(config, "explore")
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (seconds > 0 and seconds != float("inf")):
        raise pytest.UsageError(f"--harness-explore: expected a number of seconds above zero, got {text!r}")
    return seconds


def _run(request: pytest.FixtureRequest) -> Any:
    """The test's harness state, made by whichever harness fixture comes first."""
    item = request.node
    run = item.stash.get(_RUN, None)
    if run is None:
        from harness.testing.config import resolve_plan
        from harness.testing.run import Checks, TestRun, rerun_arg

        cfg = request.getfixturevalue("harness_config")
        chaos = item.get_closest_marker("harness_chaos")
        spec = None if chaos is None else chaos.kwargs.get("plan", chaos.args[0] if chaos.args else None)
        checks = Checks.from_marker(item.get_closest_marker("harness_checks"))
        run = TestRun(item.nodeid, cfg, checks, resolve_plan(spec, cfg.seed, cfg.system))
        run.rerun_arg = rerun_arg(item)
        item.stash[_RUN] = run
    return run


@pytest.fixture(scope="session")
def harness_backend(harness_config: Any) -> Iterator[Any]:
    """The backend's endpoints for the whole session (moto as a local server by default)."""
    from harness.backends import open_backend

    with open_backend(
        harness_config.backend,
        profile=harness_config.aws_profile,
        allowed_accounts=harness_config.allowed_accounts,
        seed=harness_config.seed,
    ) as ep:
        yield ep


@pytest.fixture
def fault_plan(request: pytest.FixtureRequest) -> Any:
    """The test's fault plan (from ``harness_chaos``; none by default)."""
    return _run(request).plan


@pytest.fixture
def history(request: pytest.FixtureRequest) -> Any:
    """The test's history (a Recorder); checked after the test."""
    run = _run(request)
    run.used_history = True
    return run.recorder


@pytest.fixture
def harness_session(request: pytest.FixtureRequest, harness_backend: Any) -> Any:
    """``harness_session(agent="test")``: an instrumented boto3 Session on the
    backend, recording into ``history``, with the test's fault plan injected."""
    from harness.instrument.session import session

    run = _run(request)
    run.used_history = True

    def make(agent: str = "test") -> Any:
        s = session(harness_backend, agent, run.recorder)
        run.injector.install(s)
        return s

    return make


@pytest.fixture
def reference_system(request: pytest.FixtureRequest, harness_backend: Any) -> Iterator[Any]:
    """The system under test (``--harness-system``; the reference system by
    default, with ``--harness-worker`` implementations plugged in) deployed on
    the backend and running; submit requests, then ``wait()``."""
    import hashlib

    from harness.testing.live import LiveSystem

    run = _run(request)
    run.used_history = True
    prefix = "h" + hashlib.blake2b(request.node.nodeid.encode(), digest_size=5).hexdigest()
    system = LiveSystem(
        harness_backend,
        run.recorder,
        prefix=prefix,
        plan=run.plan,
        system=run.config.system,
        seed=run.config.seed,
    )
    run.systems.append(system)
    yield system.start()
    system.stop()


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Any:
    """The deterministic runner: ``sim(requests=2)`` simulates the system under
    test (in-process moto, virtual time) under the test's fault plan and seed;
    ``sim(requests=2, workers=2, supervisors=2)`` at another scale (the knobs
    of :class:`~harness.sim.case.Case`, defaults from ``harness_sim(...)``)."""
    from harness.testing.simrunner import SimRunner

    run = _run(request)
    marker = request.node.get_closest_marker("harness_sim")
    defaults = dict(marker.kwargs) if marker is not None else {}
    return SimRunner(run.config.seed, run.plan, run.config.system, run.record_sim, defaults)
