"""
`make lint` fails on a violation: each tool, with the project's own configuration, rejects
a planted mistake and accepts the code as committed. CI runs `make lint` before the tests.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str, cwd: Path = BASE_DIR) -> subprocess.CompletedProcess:
    executable = BIN / tool
    if not executable.exists():
        pytest.fail(f"{tool} is not installed: `make install` installs the [lint] extra")
    return subprocess.run([str(executable), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def planted(tmp_path):
    """A copy of pyproject.toml next to the planted file, so each tool reads the project's rules."""
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    "source, rule",
    [
        ("import os\n", "F401"),  # unused import
        ("def f(x=[]):\n    return x\n", "B006"),  # mutable default
        ("import sys\nimport os\n\nprint(os, sys)\n", "I001"),  # unsorted imports
        ("x = " + "1 + " * 60 + "1\n", "E501"),  # longer than the 120 columns we hold
        (
            "from django.db import models\n\n\nclass Note(models.Model):\n"
            "    text = models.CharField(max_length=9, null=True)\n",
            "DJ001",  # null=True on a string field
        ),
    ],
)
def test_ruff_rejects_a_planted_violation(planted, source, rule):
    (planted / "planted.py").write_text(source)
    result = run("ruff", "check", "--no-cache", "planted.py", cwd=planted)
    assert result.returncode == 1
    assert rule in result.stdout


def test_ruff_format_rejects_unformatted_code(planted):
    (planted / "planted.py").write_text("x = {  'a':1 }\n")
    assert run("ruff", "format", "--check", "--no-cache", "planted.py", cwd=planted).returncode == 1


def test_django_upgrade_rejects_an_outdated_idiom(planted):
    (planted / "planted.py").write_text("def agent(request):\n    return request.META['HTTP_USER_AGENT']\n")
    assert run("django-upgrade", "--target-version", "5.2", "--check", "planted.py", cwd=planted).returncode == 1


def test_djade_rejects_an_unnamed_partial_end_tag(planted):
    # djade names the end tag of a partial that spans lines (a one-line partial reads fine as it is).
    (planted / "planted.html").write_text("{% load partials %}\n{% partialdef card %}\n  x\n{% endpartialdef %}\n")
    result = run("djade", "--target-version", "5.2", "--check", "planted.html", cwd=planted)
    assert result.returncode == 1


def test_mypy_rejects_a_type_error_in_an_app_package():
    planted = BASE_DIR / "telemedicine" / "planted_type_error.py"
    planted.write_text("from telemedicine.access import call_window\n\nwindow: int = call_window(None).opens_at\n")
    try:
        result = run("mypy", str(planted.relative_to(BASE_DIR)))
    finally:
        planted.unlink()
    assert result.returncode == 1
    assert "planted_type_error.py:3: error" in result.stdout


def test_the_committed_code_passes_ruff():
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout
