"""Browser tests run under the hub's Content-Security-Policy and fail on any violation.

``watch_csp(context)`` records every violation a Playwright browser context reports: Chromium's own
console message ("Refused to ... because it violates the following Content Security Policy
directive") and, from a script Playwright injects outside the page's policy, each
``securitypolicyviolation`` event (which also covers violations the console does not print).
``watch.check()`` fails the test with the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`Content Security Policy violation: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber} (${e.sample})`);
});
"""
MARKER = "Content Security Policy"


@dataclass
class CspWatch:
    """The violations seen so far in one browser context."""

    violations: list[str] = field(default_factory=list)

    def _on_console(self, message: Any) -> None:
        if MARKER in message.text:
            self.violations.append(f"{message.location.get('url', '?')}: {message.text}")

    def check(self) -> None:
        """Fail when any page of the context broke the policy."""
        assert not self.violations, "Content-Security-Policy violations:\n" + "\n".join(self.violations)


async def watch_csp(context: Any) -> CspWatch:
    """Start recording the violations of ``context`` (a Playwright ``BrowserContext``), before any page opens."""
    watch = CspWatch()
    await context.add_init_script(_REPORTER)
    context.on("console", watch._on_console)
    return watch
