"""The fuzz run's counts go to pytest's terminal summary, so ``make test`` prints them even when it passes."""

from __future__ import annotations

import pytest

#: One line per fuzz run (per database backend), filled by the fuzz test.
FUZZ_REPORT: list[str] = []


@pytest.fixture
def fuzz_report() -> list[str]:
    """Where the fuzz test leaves its counts for the summary."""
    return FUZZ_REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the schemathesis counts of this session."""
    if FUZZ_REPORT:
        terminalreporter.section("schemathesis")
        for line in FUZZ_REPORT:
            terminalreporter.write_line(line)
