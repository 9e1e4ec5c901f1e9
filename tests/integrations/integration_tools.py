"""What the integration tests share: finding the outside programs they run against.

The test command (scripts/test.sh, through scripts/setup_integrations.sh) installs each of them. Run by hand
on a machine without one, a test is skipped and says how to install it; in CI (``CI`` set) a missing tool
is a failure, so that a broken install never passes as a skipped test.
"""
from __future__ import annotations

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import ROOT  # noqa: E402

CACHE = os.environ.get("SR4RS_TEST_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "sr4rs"))
TF214_PYTHON = os.environ.get("SR4RS_TF214_PYTHON", os.path.join(CACHE, "venv-tf2.14", "bin", "python"))
SYSTEM_PYTHON = os.environ.get("SR4RS_QGIS_PYTHON", "/usr/bin/python3")


def missing(what: str, how: str):
    """Skip (by hand) or fail (in CI) for a tool the test command should have installed."""
    message = f"{what} is not installed: {how}"
    if os.environ.get("CI"):
        pytest.fail(message + " (the test command installs it: scripts/setup_integrations.sh)")
    pytest.skip(message)


def require_program(name: str, how: str = "bash scripts/setup_integrations.sh") -> str:
    path = shutil.which(name)
    if path is None:
        missing(name, how)
    return path


def require_file(path: str, what: str, how: str = "bash scripts/setup_integrations.sh") -> str:
    if not os.path.exists(path):
        missing(what, how)
    return path


def worker_env(**extra: str) -> dict:
    """The environment of a subprocess running this checkout's sr4rs."""
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    env.update(extra)
    return env
