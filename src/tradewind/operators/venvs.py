"""Virtual environments for PythonVirtualenvOperator: made with the stdlib ``venv`` and pip.

A venv is kept in a cache folder under a name made from a hash of what defines it (the base
interpreter, the requirements, pip's options, system site packages), so a later try, or
another task with the same requirements, reuses it at once. A file lock makes tries that need
the same venv at the same time build it once; a marker file written last tells a complete venv
from one whose build was interrupted (that one is built again).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tradewind.exceptions import TaskError
from tradewind.operators.python_child import run_logged

log = logging.getLogger(__name__)

_READY = ".tradewind-ready"


@dataclass(frozen=True)
class VenvSpec:
    """Everything that makes one venv differ from another."""

    python: str
    requirements: tuple[str, ...] = ()
    system_site_packages: bool = False
    pip_install_options: tuple[str, ...] = ()
    index_urls: tuple[str, ...] = ()

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def base_python(python_version: str | int | float | None) -> str:
    """The interpreter a venv is made from: ``python{version}`` on PATH, or this one."""
    if python_version is None:
        return sys.executable
    wanted = str(python_version)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running == wanted or running.startswith(wanted + "."):
        return sys.executable
    found = shutil.which(f"python{wanted}")
    if found is None:
        raise TaskError(
            f"python_version {wanted!r}: no python{wanted} interpreter on PATH "
            f"(this one is Python {running})"
        )
    return found


def venv_python(folder: Path) -> Path:
    return folder / "bin" / "python"


def cached_venv(spec: VenvSpec, cache: Path) -> Path:
    """The interpreter of the venv for ``spec`` in ``cache``, built first if needed."""
    folder = cache / f"venv-{spec.key()}"
    if (folder / _READY).exists():
        log.info("Reusing the virtual environment %s", folder)
        return venv_python(folder)
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / f"venv-{spec.key()}.lock"):
        if not (folder / _READY).exists():
            if folder.exists():
                shutil.rmtree(folder)
            build_venv(spec, folder)
            (folder / _READY).write_text(json.dumps(asdict(spec), indent=2) + "\n")
    return venv_python(folder)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_venv(spec: VenvSpec, folder: Path) -> Path:
    """Make the venv for ``spec`` in ``folder`` and install its requirements; its interpreter."""
    log.info("Creating a virtual environment in %s", folder)
    argv = [spec.python, "-m", "venv"]
    if spec.system_site_packages:
        argv.append("--system-site-packages")
    if not spec.requirements:
        # No pip needed: creating the venv takes a fraction of a second instead of seconds.
        argv.append("--without-pip")
    _check([*argv, str(folder)], "creating the virtual environment")
    python = venv_python(folder)
    if spec.requirements:
        listing = folder / "requirements.txt"
        listing.write_text("\n".join(spec.requirements) + "\n")
        _check(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                *_index_options(spec.index_urls),
                *list(spec.pip_install_options),
                "-r",
                str(listing),
            ],
            "installing the requirements",
        )
    return python


def _index_options(index_urls: Sequence[str]) -> list[str]:
    if not index_urls:
        return []
    first, *others = index_urls
    options = ["--index-url", first]
    for url in others:
        options += ["--extra-index-url", url]
    return options


def _check(argv: list[str], what: str) -> None:
    try:
        code = run_logged(argv)
    except OSError as exc:
        raise TaskError(f"{what} failed: {exc}") from None
    if code != 0:
        raise TaskError(f"{what} failed (exit code {code}); the task log has its output")


def requirement_lines(requirements: Sequence[str] | str | None) -> tuple[str, ...]:
    """Requirements as pip reads them: a list, or one text of lines (blank lines and comments
    dropped)."""
    if requirements is None:
        return ()
    if isinstance(requirements, str):
        requirements = requirements.splitlines()
    lines = (line.strip() for line in requirements)
    return tuple(line for line in lines if line and not line.startswith("#"))


def is_venv_installed() -> bool:
    """Whether virtual environments can be made here (Airflow's ``is_venv_installed``).

    tradewind makes them with the standard library's ``venv``, so this is true wherever
    that module is importable.
    """
    return importlib.util.find_spec("venv") is not None
