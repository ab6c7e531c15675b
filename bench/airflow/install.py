"""Install Apache Airflow for the benchmark suite, outside the repository.

Run with the project's interpreter::

    .venv/bin/python bench/airflow/install.py

The virtual environment goes to ``~/.cache/tradewind-bench/airflow-<version>/venv`` (or to
``$TRADEWIND_BENCH_AIRFLOW_VENV``) and is built from the same base Python as the project's own
``.venv``, so that both sides run their tasks on the same interpreter. Airflow is installed from
the package index with pip, without Airflow's published constraint files (they are not
reachable from here); ``constraints.txt`` beside this script pins whatever the resolver would
otherwise pick broken. Running it again when the venv already has the right Airflow does nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AIRFLOW_VERSION = "3.3.2"
REQUIREMENT = f"apache-airflow[postgres]=={AIRFLOW_VERSION}"
HERE = Path(__file__).resolve().parent
CONSTRAINTS = HERE / "constraints.txt"


def venv_path() -> Path:
    """Where the Airflow venv lives: the env override or the per-user cache folder."""
    override = os.environ.get("TRADEWIND_BENCH_AIRFLOW_VENV")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "tradewind-bench" / f"airflow-{AIRFLOW_VERSION}" / "venv"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def base_python() -> Path:
    """The interpreter the project's venv was made from (not the venv's own wrapper)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    if not candidate.exists():
        raise SystemExit(f"no {version} under {sys.base_prefix}; run this with the project venv")
    return candidate


def installed_version(venv: Path) -> str | None:
    """Airflow's version in ``venv``, or None if it has none (or no venv is there)."""
    python = venv_python(venv)
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('apache-airflow'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def install(venv: Path) -> None:
    """Create the venv and pip-install Airflow into it, then record ``pip freeze`` there."""
    if not venv_python(venv).exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(base_python()), "-m", "venv", str(venv)], check=True)
    pip = [str(venv_python(venv)), "-m", "pip"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    command = [*pip, "install", REQUIREMENT]
    if CONSTRAINTS.exists():
        command += ["--constraint", str(CONSTRAINTS)]
    subprocess.run(command, check=True)
    freeze = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True)
    (venv / "pip-freeze.txt").write_text(freeze.stdout)


def main() -> None:
    venv = venv_path()
    found = installed_version(venv)
    if found == AIRFLOW_VERSION:
        print(f"Airflow {AIRFLOW_VERSION} is already installed in {venv}")
        return
    print(f"installing {REQUIREMENT} into {venv} (found: {found or 'nothing'})")
    install(venv)
    found = installed_version(venv)
    if found != AIRFLOW_VERSION:
        raise SystemExit(f"installation finished but Airflow's version is {found!r}")
    print(f"Airflow {found} installed in {venv}; pip freeze in {venv / 'pip-freeze.txt'}")


if __name__ == "__main__":
    main()
