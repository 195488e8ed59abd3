"""Installing LocalStack and DynamoDB Local once, into a cache inside the project.

LocalStack goes into its own Python 3.13 virtualenv (it does not import on the
project's Python); DynamoDB Local's jar and native libraries come out of an npm
package. Each is installed under a file lock and marked complete by a stamp
file written last, so concurrent pytest-xdist workers install once and never
use half an installation.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.backends._tools import find_npm, find_python313
from harness.backends.embedded import BackendError

#: Exactly these: newer releases of the last three break localstack-core 2026.3.0.
LOCALSTACK_PINS: tuple[str, ...] = (
    "localstack-core[runtime]==2026.3.0",
    "cbor2<6",
    "pyopenssl<26",
    "cryptography<47",
)

#: The npm package whose ``emulator/`` folder is AWS's DynamoDB Local 1.25.1.
DYNAMODB_LOCAL_PACKAGE = "amplify-dynamodb-simulator@2.9.30"

_INSTALL_TIMEOUT = 900.0


def cache_dir() -> Path:
    """``HARNESS_CACHE_DIR``, else ``.cache`` in the project checkout (git-ignored),
    else ``~/.cache/mas-harness`` when the harness is installed from a wheel."""
    env = os.environ.get("HARNESS_CACHE_DIR")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists():
        return root / ".cache"
    return Path.home() / ".cache" / "mas-harness"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _stamp(target: Path) -> Path:
    return target / ".harness-installed"


def _tail(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _run(cmd: list[str], what: str, log: Path, cwd: Path | None = None) -> None:
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, cwd=cwd, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackendError(f"{what} took more than {_INSTALL_TIMEOUT:.0f}s (no network?)") from None
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    if out.returncode != 0:
        raise BackendError(f"{what} failed (no network?): {_tail(out.stderr or out.stdout)} [log: {log}]")


def localstack_python(cache: Path | None = None) -> Path:
    """The Python of the LocalStack virtualenv, installing it on first use."""
    cache = cache or cache_dir()
    venv = cache / "localstack-venv"
    python = venv / "bin" / "python"
    want = "\n".join(LOCALSTACK_PINS)
    if _stamp(venv).exists() and _stamp(venv).read_text() == want:
        return python
    with _locked(cache / "localstack.lock"):
        if _stamp(venv).exists() and _stamp(venv).read_text() == want:
            return python  # another worker installed it while we waited
        base = find_python313()
        # Built in place; the stamp, written last, marks it complete.
        shutil.rmtree(venv, ignore_errors=True)
        log = cache / "localstack-install.log"
        try:
            _run([base, "-m", "venv", str(venv)], "creating the LocalStack virtualenv", log)
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            _run([*pip, *LOCALSTACK_PINS], "installing LocalStack", log)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        _stamp(venv).write_text(want)
    return python


#: Run in the LocalStack virtualenv: build the index of every AWS service spec
#: that LocalStack otherwise builds on its first request (~10 s), where it
#: looks for a prebuilt one (``<FILESYSTEM_ROOT>/usr/lib/localstack``).
_BUILD_CATALOG = """
import os, sys
from localstack.aws.spec import _get_catalog_filename, build_service_index_cache
path = os.path.join(sys.argv[1], _get_catalog_filename())
if not os.path.exists(path):
    build_service_index_cache(path + ".tmp")
    os.replace(path + ".tmp", path)
"""


def localstack_static(python: Path, cache: Path | None = None) -> Path:
    """A folder to serve as LocalStack's static libraries, holding its service
    catalog index, built on first use."""
    cache = cache or cache_dir()
    static = cache / "localstack-static"
    if any(static.glob("service-catalog-*")):
        return static
    with _locked(cache / "localstack.lock"):
        static.mkdir(parents=True, exist_ok=True)
        log = cache / "localstack-catalog.log"
        _run([str(python), "-c", _BUILD_CATALOG, str(static)], "indexing LocalStack's service catalog", log)
    return static


def dynamodb_local(cache: Path | None = None) -> Path:
    """The folder holding ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib``, fetched on first use."""
    cache = cache or cache_dir()
    target = cache / "dynamodb-local"
    want = DYNAMODB_LOCAL_PACKAGE
    if _stamp(target).exists() and _stamp(target).read_text() == want:
        return target
    with _locked(cache / "dynamodb-local.lock"):
        if _stamp(target).exists() and _stamp(target).read_text() == want:
            return target
        npm = find_npm()
        scratch = Path(tempfile.mkdtemp(prefix="dynamodb-local.", dir=cache))
        try:
            log = cache / "dynamodb-local-install.log"
            _run([npm, "pack", want, "--silent"], "fetching DynamoDB Local with npm", log, cwd=scratch)
            tarballs = list(scratch.glob("*.tgz"))
            if not tarballs:
                raise BackendError(f"npm pack {want} produced no tarball [log: {log}]")
            out = scratch / "out"
            with tarfile.open(tarballs[0]) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/emulator/")]
                tar.extractall(out, members=members, filter="data")
            emulator = out / "package" / "emulator"
            if not (emulator / "DynamoDBLocal.jar").exists():
                raise BackendError(f"{want} has no emulator/DynamoDBLocal.jar")
            _stamp(emulator).write_text(want)
            shutil.rmtree(target, ignore_errors=True)
            emulator.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target
