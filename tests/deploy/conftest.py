"""Fixtures of the deployment tests; the helpers live in deploy_helpers.py (importable: --import-mode=importlib
does not put test folders on sys.path)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_helpers import compose_or_skip  # noqa: E402


@pytest.fixture(scope="session")
def compose():
    return compose_or_skip()
