# rmmhub agent uninstall routine for Windows (scheduled task). Started detached by the agent after
# it reported the uninstall to the hub; waits for the agent to exit, then removes task and files.
param(
    [Parameter(Mandatory = $true)][string]$Prefix,
    [string]$TaskName = 'rmmhub-agent',
    [int]$WaitPid = 0
)
$ErrorActionPreference = 'Stop'

if ($Prefix.Length -lt 4 -or $Prefix -eq $env:SystemRoot -or $Prefix -eq $env:ProgramFiles) {
    throw "refusing to remove prefix '$Prefix'"
}
if ($WaitPid -gt 0) {
    Wait-Process -Id $WaitPid -Timeout 120 -ErrorAction SilentlyContinue
}
Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
Remove-Item -LiteralPath $Prefix -Recurse -Force -ErrorAction SilentlyContinue
Write-Output "removed task $TaskName and $Prefix"
