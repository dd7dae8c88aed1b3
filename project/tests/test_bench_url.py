"""The bench's do-nothing view exists only when DJANGO_BENCH=1: never in a normal run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

BASE_DIR = Path(__file__).resolve().parents[2]


def test_bench_view_is_not_routed_in_normal_runs():
    with pytest.raises(NoReverseMatch):
        reverse("bench-noop")


@pytest.mark.django_db
def test_bench_path_is_a_404_in_normal_runs(client):
    assert client.get("/bench/noop/").status_code == 404


@pytest.mark.parametrize("flag,expected", [("1", "/bench/noop/"), ("0", "absent")])
def test_bench_view_follows_the_bench_switch(flag, expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env |= {"DJANGO_BENCH": flag, "DJANGO_SETTINGS_MODULE": "project.settings"}
    code = (
        "import django; django.setup(); from django.urls import reverse, NoReverseMatch\n"
        "try: print(reverse('bench-noop'))\nexcept NoReverseMatch: print('absent')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == expected, result.stderr
