"""Static checks of the PowerShell the hub and the agent generate, for a machine without pwsh.

pwsh is not installable here: Debian does not package it, PyPI has no build of it, and the npm
package ``pwsh`` only downloads Microsoft's archive from GitHub in its install step (no internet).
Two checks stand in for ``[System.Management.Automation.Language.Parser]::ParseFile``:

* :func:`tree_sitter_errors`: the tree-sitter PowerShell grammar (PyPI ``tree-sitter-powershell``),
  a real parser; it reports ERROR and MISSING nodes with their line.
* :func:`check_powershell`: a tokenizer of our own that is stricter where tree-sitter recovers
  silently: every ``(){}[]`` (and ``@( @{ $(``) closes in order, single, double and here-strings
  close (here-string terminators at the start of a line), ``<# #>`` comments close, double-quoted
  strings' ``$( )`` subexpressions are checked the same way, every command of the ``Verb-Noun``
  form is a known cmdlet with an approved verb or a function the script defines, and no
  ``@@PLACEHOLDER@@`` is left unrendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter_powershell
from tree_sitter import Language, Parser

#: The verbs PowerShell approves (Get-Verb) that scripts of ours may use.
APPROVED_VERBS = frozenset(
    [
        "Add",
        "Clear",
        "Close",
        "Copy",
        "Enter",
        "Exit",
        "Find",
        "Format",
        "Get",
        "Hide",
        "Join",
        "Lock",
        "Move",
        "New",
        "Open",
        "Optimize",
        "Pop",
        "Push",
        "Redo",
        "Remove",
        "Rename",
        "Reset",
        "Resize",
        "Search",
        "Select",
        "Set",
        "Show",
        "Skip",
        "Split",
        "Step",
        "Switch",
        "Undo",
        "Unlock",
        "Watch",
        "Connect",
        "Disconnect",
        "Read",
        "Receive",
        "Send",
        "Write",
        "Backup",
        "Checkpoint",
        "Compare",
        "Compress",
        "Convert",
        "ConvertFrom",
        "ConvertTo",
        "Dismount",
        "Edit",
        "Expand",
        "Export",
        "Group",
        "Import",
        "Initialize",
        "Limit",
        "Merge",
        "Mount",
        "Out",
        "Publish",
        "Restore",
        "Save",
        "Sync",
        "Unpublish",
        "Update",
        "Debug",
        "Measure",
        "Repair",
        "Resolve",
        "Test",
        "Trace",
        "Approve",
        "Assert",
        "Build",
        "Complete",
        "Confirm",
        "Deny",
        "Deploy",
        "Disable",
        "Enable",
        "Install",
        "Invoke",
        "Register",
        "Request",
        "Restart",
        "Resume",
        "Start",
        "Stop",
        "Submit",
        "Suspend",
        "Uninstall",
        "Unregister",
        "Wait",
        "Block",
        "Grant",
        "Protect",
        "Revoke",
        "Unblock",
        "Unprotect",
        "Use",
    ]
)
#: Cmdlets (and their modules' functions) that exist on Windows PowerShell 5.1 / Server 2019.
KNOWN_CMDLETS = frozenset(
    [
        "Add-Type",
        "Copy-Item",
        "ConvertFrom-Json",
        "ConvertTo-Json",
        "Expand-Archive",
        "ForEach-Object",
        "Get-ChildItem",
        "Get-CimInstance",
        "Get-Command",
        "Get-Content",
        "Get-Date",
        "Get-FileHash",
        "Get-Item",
        "Get-ItemProperty",
        "Get-Location",
        "Get-Process",
        "Get-ScheduledTask",
        "Get-Service",
        "Invoke-Expression",
        "Invoke-RestMethod",
        "Invoke-WebRequest",
        "Join-Path",
        "Move-Item",
        "New-Item",
        "New-ItemProperty",
        "New-Object",
        "New-ScheduledTaskAction",
        "New-ScheduledTaskPrincipal",
        "New-ScheduledTaskSettingsSet",
        "New-ScheduledTaskTrigger",
        "New-TimeSpan",
        "Out-File",
        "Out-Null",
        "Out-String",
        "Register-ScheduledTask",
        "Remove-Item",
        "Remove-ItemProperty",
        "Rename-Item",
        "Resolve-Path",
        "Select-Object",
        "Set-Content",
        "Set-ItemProperty",
        "Set-Location",
        "Sort-Object",
        "Split-Path",
        "Start-Process",
        "Start-ScheduledTask",
        "Start-Service",
        "Start-Sleep",
        "Stop-Process",
        "Stop-ScheduledTask",
        "Stop-Service",
        "Test-Path",
        "Unregister-ScheduledTask",
        "Wait-Process",
        "Where-Object",
        "Write-Error",
        "Write-Host",
        "Write-Output",
        "Write-Verbose",
        "Write-Warning",
    ]
)
_COMMAND = re.compile(r"(?<![\w$.\-:@\\/])([A-Za-z]+)-([A-Za-z][A-Za-z0-9]*)\b")
_FUNCTION = re.compile(r"\bfunction\s+([A-Za-z]+-[A-Za-z0-9]+)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"@@[A-Z_]+@@")
_CLOSE = {")": "(", "}": "{", "]": "["}


class PowerShellSyntaxError(AssertionError):
    """The script does not tokenize; the message names the line."""


@dataclass
class _Scan:
    text: str
    i: int = 0
    line: int = 1
    code: list[str] = field(default_factory=list)  # the script with strings and comments blanked

    def fail(self, message: str, line: int | None = None) -> PowerShellSyntaxError:
        return PowerShellSyntaxError(f"line {line or self.line}: {message}")


def _advance(scan: _Scan, end: int) -> None:
    chunk = scan.text[scan.i : end]
    scan.line += chunk.count("\n")
    scan.code.append(re.sub(r"[^\n]", " ", chunk))
    scan.i = end


def _here_string(scan: _Scan, quote: str) -> None:
    start = scan.line
    head = scan.text.find("\n", scan.i)
    if head < 0 or scan.text[scan.i + 2 : head].strip():
        raise scan.fail(f"a here-string @{quote} must end its line")
    match = re.compile(rf"^{re.escape(quote)}@", re.MULTILINE).search(scan.text, head + 1)
    if match is None:
        raise scan.fail(f"here-string @{quote} never closes (its {quote}@ must start a line)", start)
    if quote == '"':
        _subexpressions(scan, scan.text[head + 1 : match.start()], start + 1)
    _advance(scan, match.end())


def _quoted(scan: _Scan, quote: str) -> None:
    start, j, n = scan.line, scan.i + 1, len(scan.text)
    while j < n:
        ch = scan.text[j]
        if ch == quote and scan.text[j + 1 : j + 2] == quote:
            j += 2
            continue
        if quote == '"' and ch == "`":
            j += 2
            continue
        if quote == '"' and scan.text.startswith("$(", j):
            j = _subexpression_end(scan, j + 1, scan.line + scan.text[scan.i : j].count("\n"))
            continue
        if ch == quote:
            break
        j += 1
    if j >= n:
        raise scan.fail(f"string {quote} never closes", start)
    _advance(scan, j + 1)


def _subexpression_end(scan: _Scan, open_at: int, line: int) -> int:
    """Index after the ``)`` closing the subexpression whose ``(`` is at ``open_at`` (checked recursively)."""
    inner = _Scan(scan.text, open_at + 1, line)
    depth = [("(", line)]
    _tokens(inner, depth, stop_when_empty=True)
    return inner.i


def _subexpressions(scan: _Scan, body: str, line: int) -> None:
    j = body.find("$(")
    while j >= 0:
        if j == 0 or body[j - 1] != "`":
            sub = _Scan(body, j + 2, line + body[:j].count("\n"))
            _tokens(sub, [("(", sub.line)], stop_when_empty=True)
            j = body.find("$(", sub.i)
        else:
            j = body.find("$(", j + 2)


def _tokens(scan: _Scan, stack: list[tuple[str, int]], *, stop_when_empty: bool = False) -> None:
    text, n = scan.text, len(scan.text)
    while scan.i < n:
        ch = text[scan.i]
        if text.startswith("<#", scan.i):
            end = text.find("#>", scan.i + 2)
            if end < 0:
                raise scan.fail("block comment <# never closes")
            _advance(scan, end + 2)
        elif ch == "#":
            end = text.find("\n", scan.i)
            _advance(scan, n if end < 0 else end)
        elif text.startswith("@'", scan.i) or text.startswith('@"', scan.i):
            if text[scan.i + 2 : scan.i + 3] in ("\n", "\r", " ", "\t", ""):
                _here_string(scan, text[scan.i + 1])
            else:
                _quoted_at(scan)
        elif ch in "'\"":
            _quoted(scan, ch)
        elif ch == "`":
            _advance(scan, scan.i + 2)
        elif ch in "({[":
            stack.append((ch, scan.line))
            scan.code.append(ch)
            scan.i += 1
        elif ch in ")}]":
            if not stack or stack[-1][0] != _CLOSE[ch]:
                opened = f" (open {stack[-1][0]!r} from line {stack[-1][1]})" if stack else ""
                raise scan.fail(f"unbalanced {ch!r}{opened}")
            stack.pop()
            scan.code.append(ch)
            scan.i += 1
            if stop_when_empty and not stack:
                return
        else:
            if ch == "\n":
                scan.line += 1
            scan.code.append(ch)
            scan.i += 1
    if stack:
        raise scan.fail(f"unclosed {stack[-1][0]!r}", stack[-1][1])


def _quoted_at(scan: _Scan) -> None:
    raise scan.fail(f"@{scan.text[scan.i + 1]} starts a here-string: the rest of its line must be empty")


def check_powershell(script: str) -> None:
    """Raise :class:`PowerShellSyntaxError` naming the first problem (see the module docstring)."""
    left = _PLACEHOLDER.search(script)
    if left:
        raise PowerShellSyntaxError(f"line {script[: left.start()].count(chr(10)) + 1}: {left.group()} left unrendered")
    scan = _Scan(script)
    _tokens(scan, [])
    code = "".join(scan.code)
    defined = {name.lower() for name in _FUNCTION.findall(code)}
    for number, line in enumerate(code.splitlines(), 1):
        for match in _COMMAND.finditer(line):
            verb, name = match.group(1), match.group(0)
            if name.lower() in defined or name.lower().startswith("function"):
                continue
            if verb not in APPROVED_VERBS:
                raise PowerShellSyntaxError(f"line {number}: {name}: {verb!r} is not an approved PowerShell verb")
            if name not in KNOWN_CMDLETS:
                raise PowerShellSyntaxError(f"line {number}: {name} is not a known cmdlet nor defined in the script")


_PARSER = Parser(Language(tree_sitter_powershell.language()))


def tree_sitter_errors(script: str) -> list[str]:
    """The syntax errors the tree-sitter PowerShell grammar finds (``line N: ERROR|MISSING ...``)."""
    tree = _PARSER.parse(script.encode("utf-8"))
    found: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            kind = "MISSING " + node.type if node.is_missing else "ERROR"
            snippet = script.encode()[node.start_byte : node.end_byte][:40].decode(errors="replace")
            found.append(f"line {node.start_point[0] + 1}: {kind} {snippet!r}")
        elif node.has_error:
            stack.extend(node.children)
    return sorted(found)
