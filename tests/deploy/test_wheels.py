"""The images install the shared library and each service from wheels, not from the source tree: every file a
package ships (migrations, SQL, templates, call files) must be inside its wheel, or the service works in the
editable virtualenv and breaks in its image."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy_helpers import ROOT, SERVICES

PACKAGES = {"grassroots": ROOT / "libs" / "grassroots"} | {s: ROOT / "services" / s for s in SERVICES}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheels")
    sources = []
    for name, project in PACKAGES.items():
        # build from a copy: an in-tree build leaves build/ and egg-info folders in the engineers' tree
        copy = work / "src" / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__",
                                                                      "Dockerfile"))
        sources.append(str(copy))
    out = work / "dist"
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out),
                             *sources], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "satisfies the requirement setuptools" in result.stderr:
        pytest.skip("setuptools (the build backend) cannot be downloaded here: " + result.stderr[-300:])
    assert result.returncode == 0, result.stderr[-3000:]
    return {_top(w): set(zipfile.ZipFile(w).namelist()) for w in out.glob("*.whl")}


def _top(wheel: Path) -> str:
    names = zipfile.ZipFile(wheel).namelist()
    return next(n.split("/")[0] for n in names if ".dist-info/" not in n)


@pytest.mark.parametrize("package", list(PACKAGES))
def test_every_file_of_a_package_is_in_its_wheel(wheels, package):
    source = PACKAGES[package] / package
    files = {str(p.relative_to(source.parent)) for p in source.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert files, package
    missing = sorted(files - wheels[package])
    assert not missing, f"not in the {package} wheel (add them to package-data in pyproject.toml): {missing}"
