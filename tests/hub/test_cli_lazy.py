"""The command line imports a subcommand's module only when that subcommand runs or is listed."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from hub.cli import LAZY_COMMANDS, main
from hub.lazycli import LazyGroup

PROBE = """
import sys
from click.testing import CliRunner
from hub.cli import main
result = CliRunner().invoke(main, ["user", "--help"])
assert result.exit_code == 0, result.output
heavy = ("hub.bench", "hub.main", "pydantic_ai", "openai", "connectors.connectwise_rmm.cli", "native_rmm.cli")
print(",".join(m for m in heavy if m in sys.modules))
"""


def test_a_core_command_loads_no_benchmark_model_sdk_or_connector() -> None:
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == ""


def test_every_lazy_command_loads_under_its_name_and_help_lists_them_all() -> None:
    ctx = click.Context(main)
    for name in LAZY_COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
    listed = CliRunner().invoke(main, ["--help"]).output
    assert all(f"  {name} " in listed for name in LAZY_COMMANDS)
    assert "eval" in CliRunner().invoke(main, ["assistant", "--help"]).output
    assert "checkin" in CliRunner().invoke(main, ["bench", "--help"]).output


def test_a_lazy_name_that_is_not_a_command_fails_loudly() -> None:
    group = LazyGroup(name="g", lazy={"broken": "hub.lazycli:LazyGroup"})
    with pytest.raises(TypeError, match="is not a click command"):
        group.get_command(click.Context(group), "broken")
