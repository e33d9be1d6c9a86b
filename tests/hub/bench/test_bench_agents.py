"""``rmmhub bench checkin`` and ``rmmhub bench push`` with tiny parameters (real hub, real sockets)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from hub.bench import bench
from tests.conftest import PG_URL

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _run(args: list[str], backend: str) -> str:
    if backend == "postgresql":
        args += ["--database-url", PG_URL]
    result = CliRunner().invoke(bench, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_checkin_smoke(backend: str) -> None:
    out = _run(["checkin", "--agents", "5", "--seconds", "1"], backend)
    assert f"backend {backend}, 5 agents" in out
    assert re.search(r"check-ins/s +\d+\.\d", out) and re.search(r"ping req/s +\d+\.\d", out)
    assert re.search(r"ratio +\d+\.\d\d", out)
    assert "SAMPLES MISSING" not in out and "errors 0" in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_push_smoke(backend: str) -> None:
    out = _run(["push", "--agents", "5", "--commands", "10", "--rate", "20"], backend)
    assert f"backend {backend}, 5 agents connected, 10 commands" in out
    assert re.search(r"p50 \d+\.\d ms, p99 \d+\.\d ms", out) and "lost 0" in out
