# rmmhub agent installer for Windows, rendered by the hub for one installer token.
#   iwr -UseBasicParsing <hub>/install/<token>/windows | iex      (in an elevated PowerShell)
# Ensures Python 3.11+ (winget when missing), installs the agent wheel into its own virtualenv,
# enrolls this machine and registers a scheduled task that runs the agent as SYSTEM at startup.
# Quick-support mode installs nothing and runs the agent in this window until the session ends.
# Runs inside a script block: piped into iex, an `exit` would close the operator's shell.
& {
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    $HubUrl = 'https://hub.example.com'
    $InstallerToken = 'tok_0123456789abcdef'
    $QuickSupport = $true
    $AgentVersion = '@VERSION@'
    $TaskName = 'rmmhub-agent'
    $Prefix = if ($env:RMMHUB_AGENT_PREFIX) { $env:RMMHUB_AGENT_PREFIX } else { Join-Path $env:ProgramFiles 'rmmhub-agent' }

    function Find-Python {
        foreach ($version in '3.13', '3.12', '3.11') {
            try {
                $exe = & py "-$version" -c 'import sys; print(sys.executable)' 2>$null
                if ($LASTEXITCODE -eq 0 -and $exe) { return $exe.Trim() }
            } catch [System.Management.Automation.CommandNotFoundException] { break }
        }
        $candidate = Get-Command python.exe -ErrorAction SilentlyContinue
        if ($candidate) {
            & $candidate.Source -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>$null
            if ($LASTEXITCODE -eq 0) { return $candidate.Source }
        }
        return $null
    }

    function Install-Venv([string]$Target) {
        $python = Find-Python
        if (-not $python) {
            if (-not (Get-Command winget.exe -ErrorAction SilentlyContinue)) {
                throw 'Python 3.11+ is required and winget is not available: install Python from python.org first.'
            }
            Write-Host 'rmmhub-agent: installing Python 3.12 with winget'
            winget install --id Python.Python.3.12 --exact --scope machine --silent --accept-package-agreements --accept-source-agreements
            $env:Path = [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';' + [Environment]::GetEnvironmentVariable('Path', 'User')
            $python = Find-Python
            if (-not $python) { throw 'Python 3.12 was installed but cannot be found; open a new PowerShell and retry.' }
        }
        $wheelDir = Join-Path ([IO.Path]::GetTempPath()) ('rmmhub-' + [Guid]::NewGuid())
        New-Item -ItemType Directory -Path $wheelDir | Out-Null
        $wheel = Join-Path $wheelDir "rmmhub_agent-$AgentVersion-py3-none-any.whl"
        Write-Host "rmmhub-agent: downloading the agent from $HubUrl"
        Invoke-WebRequest -UseBasicParsing -Uri "$HubUrl/agent/v1/download/agent.whl" -OutFile $wheel
        & $python -m venv (Join-Path $Target 'venv')
        if ($LASTEXITCODE -ne 0) { throw "creating the virtualenv in $Target failed" }
        & (Join-Path $Target 'venv\Scripts\python.exe') -m pip install --quiet --disable-pip-version-check --upgrade $wheel
        if ($LASTEXITCODE -ne 0) { throw 'installing the agent wheel failed' }
        Remove-Item -LiteralPath $wheelDir -Recurse -Force
    }

    if ($QuickSupport) {
        $work = Join-Path ([IO.Path]::GetTempPath()) ('rmmhub-qs-' + [Guid]::NewGuid())
        New-Item -ItemType Directory -Path $work | Out-Null
        try {
            Install-Venv $work
            $env:RMMHUB_AGENT_TOKEN = $InstallerToken
            & (Join-Path $work 'venv\Scripts\python.exe') -m agent run --foreground --quick-support --hub $HubUrl --state-dir (Join-Path $work 'state')
        } finally {
            Remove-Item Env:\RMMHUB_AGENT_TOKEN -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
        }
        return
    }

    $principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        throw 'Run this command in an elevated PowerShell (Run as administrator).'
    }
    New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
    Install-Venv $Prefix
    $python = Join-Path $Prefix 'venv\Scripts\python.exe'
    $stateDir = Join-Path $Prefix 'state'
    $env:RMMHUB_AGENT_TOKEN = $InstallerToken
    try {
        & $python -m agent enroll --hub $HubUrl --state-dir $stateDir --service scheduled_task --install-prefix $Prefix --service-file $TaskName
        if ($LASTEXITCODE -ne 0) { throw "enrolling with $HubUrl failed (exit $LASTEXITCODE)" }
    } finally {
        Remove-Item Env:\RMMHUB_AGENT_TOKEN -ErrorAction SilentlyContinue
    }

    $action = New-ScheduledTaskAction -Execute (Join-Path $Prefix 'venv\Scripts\pythonw.exe') -Argument "-m agent run --state-dir `"$stateDir`"" -WorkingDirectory $Prefix
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $taskPrincipal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero) -MultipleInstances IgnoreNew
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $taskPrincipal -Settings $settings -Force | Out-Null
    Start-ScheduledTask -TaskName $TaskName
    Write-Host "rmmhub-agent: installed in $Prefix; scheduled task '$TaskName' runs as SYSTEM at startup"
}
