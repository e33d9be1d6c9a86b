"""The PowerShell checks that stand in for pwsh's AST parser: they pass every script the hub and the
agent generate, and fail on broken ones (each kind of break, with the line it is on)."""

from __future__ import annotations

import pytest

from agent.installers.render import render_installer
from agent.rustdesk import install_script
from agent.update_restart import render_windows_helper
from tests.agent.powershell_check import PowerShellSyntaxError, check_powershell, tree_sitter_errors

GOOD = """& {
    $ErrorActionPreference = 'Stop'
    function Get-Thing([string]$Name) { return "it's $Name" }
    $here = @'
    { unbalanced ( inside a literal here-string is text
'@
    $expanding = @"
    value: $(Get-Date -Format 'yyyy') and "quotes" and a `$dollar
"@
    $list = @('a', 'b''s', "c `"quoted`" $($here.Length)")
    $map = @{ Key = [int]'1'; Other = (Get-Thing 'x') }
    <# a block comment with } and ' #>
    if ($list.Count -gt 1 -and $map['Key']) { Write-Host "ok: $(Get-Thing -Name "nested $(1 + 2)")" }
    Get-Process -Id 1 -ErrorAction SilentlyContinue | Out-Null
}
"""

BROKEN = [
    ("& { if ($x) { 'a' }", "unclosed '{' ", 1),
    ("& { if ($x)) { 'a' } }", "unbalanced ')'", 1),
    ("$a = @(1, 2]\n", "unbalanced ']' (open '(' from line 1)", 1),
    ("$a = 'never closed\n$b = 1\n", "string ' never closes", 1),
    ('$a = 1\n$b = "never closed\n', 'string " never closes', 2),
    ("$a = @'\ntext\n  '@\n$b = 1\n", "here-string @' never closes", 1),
    ('$a = @"\ntext\n', 'here-string @" never closes', 1),
    ("$a = @'text\n'@\n", "the rest of its line must be empty", 1),
    ("<# a comment\n$x = 1\n", "block comment <# never closes", 1),
    ('Write-Host "now: $(Get-Date"\n', 'string " never closes', 1),  # the " opens a string inside $( )
    ('$a = @"\n$(Get-Date\n"@\n', "unclosed '('", 2),
    ("$x = 1\nGet-Thingamajig -Name x\n", "Get-Thingamajig is not a known cmdlet", 2),
    ("Grab-Item -Path x\n", "'Grab' is not an approved PowerShell verb", 1),
    ("$HubUrl = @@HUB_URL@@\n", "@@HUB_URL@@ left unrendered", 1),
]


def test_a_good_script_passes_both_checks() -> None:
    check_powershell(GOOD)
    assert tree_sitter_errors(GOOD) == []


@pytest.mark.parametrize(("script", "message", "line"), BROKEN)
def test_the_tokenizer_fails_on_broken_scripts(script: str, message: str, line: int) -> None:
    with pytest.raises(PowerShellSyntaxError) as caught:
        check_powershell(script)
    assert str(caught.value).startswith(f"line {line}: "), caught.value
    assert message.strip() in str(caught.value)


@pytest.mark.parametrize(
    "script",
    ["& { if ($x) { 'a' }", '$b = "never closed\n', "$a = @(1, 2\n", "function f( { }\n", "$a = @'\ntext\n"],
)
def test_the_grammar_fails_on_broken_scripts(script: str) -> None:
    assert tree_sitter_errors(script), script


def test_every_generated_powershell_script_passes() -> None:
    token, hub = "tok_0123456789abcdef", "https://hub.example.com"
    scripts = {
        "installer": render_installer("windows", hub_url=hub, token=token, uv={"windows-x86_64": "a" * 64}),
        "quick support": render_installer("windows", hub_url=hub, token=token, quick_support=True),
        "rustdesk": install_script("windows", "C:\\Temp\\it's\\rustdesk.exe"),
        "update helper": render_windows_helper(
            "rmmhub-agent", pid=4242, stop_first=False, python="C:\\it's\\pythonw.exe", state_dir="C:\\x y\\state"
        ),
    }
    for name, script in scripts.items():
        check_powershell(script)
        assert tree_sitter_errors(script) == [], name
