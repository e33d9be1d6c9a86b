"""``rmmhub bench relay`` runs every scenario and ends with one JSON line of figures."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hub.bench.relay import relay_bench


def test_bench_relay_prints_every_figure() -> None:
    result = CliRunner().invoke(relay_bench, ["--megabytes", "16", "--round-trips", "200", "--connections", "200"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert set(figures) == {
        "tcp_mb_s",
        "relay_mb_s",
        "ratio",
        "vnc_path_mb_s",
        "fanout4_mb_s_per_viewer",
        "rtt_p50_ms",
        "rtt_p99_ms",
        "idle_kb_per_conn",
        "loop",
        "load_1m",
    }
    assert figures.pop("loop") in ("uvloop", "asyncio")
    assert figures.pop("load_1m") >= 0
    assert all(value > 0 for value in figures.values())
    assert abs(figures["ratio"] - figures["relay_mb_s"] / figures["tcp_mb_s"]) < 0.01


def test_bench_relay_runs_on_the_stock_loop_too() -> None:
    args = ["--megabytes", "16", "--round-trips", "100", "--connections", "20", "--loop", "asyncio"]
    result = CliRunner().invoke(relay_bench, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["loop"] == "asyncio"
