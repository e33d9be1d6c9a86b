"""The evaluation set passes against the built-in model (the figure ``rmmhub assistant eval`` prints)."""

from __future__ import annotations

from click.testing import CliRunner

from hub.bench.assistant_eval import run_eval
from hub.cli import main


async def test_builtin_model_meets_the_accuracy_target() -> None:
    verdicts = await run_eval()
    assert len(verdicts) >= 40
    failed = [(v.case.request, v.calls, v.reply) for v in verdicts if not v.passed]
    assert len(failed) <= len(verdicts) // 10, failed


def test_eval_command_ends_with_one_json_line() -> None:
    result = CliRunner().invoke(main, ["assistant", "eval"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith('{"accuracy": ') and '"cases": ' in last
