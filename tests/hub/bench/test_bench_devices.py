"""``rmmhub bench devices`` with tiny parameters: seeds, starts a hub on loopback, measures, cleans up."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from hub.bench import bench
from tests.conftest import PG_URL

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_devices_smoke(backend: str) -> None:
    args = [
        "devices",
        "--devices",
        "30",
        "--week-hours",
        "3",
        "--recent-minutes",
        "5",
        "--apps",
        "3",
        "--requests",
        "3",
        "--timeout",
        "240",
    ]
    if backend == "postgresql":
        args += ["--database-url", PG_URL]
    result = CliRunner().invoke(bench, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"backend {backend}; seeded 30 devices" in out
    assert "1/hour for 3 h + 1/min for the last 5 min = 8/device, 240 rows" in out
    for label in ("device list /rmm?tab=devices", "device page /rmm/devices/<id>", "device metrics JSON"):
        line = next(line for line in out.splitlines() if line.startswith(label))
        assert re.search(r"p50 +\d+\.\d ms", line) and "n=3" in line, line
