# rmmhub agent installer for Windows, rendered by the hub for one installer token.
#   iwr -UseBasicParsing <hub>/install/<token>/windows | iex      (in an elevated PowerShell)
# Needs no Python and no winget (bare Windows Server 2019/2022): downloads uv from the hub, which
# provisions a private CPython under the agent's folder (RMMHUB_AGENT_PYTHON_MIRROR names the
# CPython download source) and installs the agent wheel from the hub; enrolls this machine and registers a scheduled task that runs the agent as SYSTEM at startup.
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

    $UvList = ''
    $PythonMirror = ''
    $PythonVersion = '3.12'

    function Get-PublishedSha256([string]$List, [string]$Name) {
        foreach ($entry in ($List -split ' ')) {
            $parts = $entry -split ':', 2
            if ($parts.Count -eq 2 -and $parts[0] -eq $Name) { return $parts[1] }
        }
        return $null
    }

    function Save-Verified([string]$Uri, [string]$Target, [string]$Expected) {
        $download = "$Target.download"
        Invoke-WebRequest -UseBasicParsing -Uri $Uri -OutFile $download
        $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $download).Hash.ToLowerInvariant()
        if ($actual -ne $Expected) {
            Remove-Item -LiteralPath $download -Force
            throw "the SHA-256 of $Uri is $actual, not the published $Expected"
        }
        Move-Item -LiteralPath $download -Destination $Target -Force
    }

    # uv from the hub provisions a private CPython under the agent's folder: no system Python, no winget.
    function Install-Venv([string]$Target) {
        $arch = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'aarch64' } else { 'x86_64' }
        $platform = "windows-$arch"
        $expected = Get-PublishedSha256 $UvList $platform
        if (-not $expected) { throw "this hub serves no uv for $platform; run 'rmmhub agent stage' on the hub." }
        $bin = Join-Path $Target 'bin'
        New-Item -ItemType Directory -Force -Path $bin | Out-Null
        $uv = Join-Path $bin 'uv.exe'
        Write-Host "rmmhub-agent: downloading uv for $platform from $HubUrl"
        Save-Verified "$HubUrl/agent/v1/download/uv/$platform" $uv $expected
        $env:UV_PYTHON_INSTALL_DIR = Join-Path $Target 'python'
        $env:UV_CACHE_DIR = Join-Path $Target 'cache'
        $env:UV_NO_CONFIG = '1'
        $mirror = if ($env:RMMHUB_AGENT_PYTHON_MIRROR) { $env:RMMHUB_AGENT_PYTHON_MIRROR } else { $PythonMirror }
        if ($mirror) { $env:UV_PYTHON_INSTALL_MIRROR = $mirror }
        Write-Host "rmmhub-agent: provisioning a private CPython $PythonVersion in $env:UV_PYTHON_INSTALL_DIR"
        & $uv python install --quiet $PythonVersion
        if ($LASTEXITCODE -ne 0) { throw "uv could not install CPython $PythonVersion (set RMMHUB_AGENT_PYTHON_MIRROR for offline sites)" }
        $wheelDir = Join-Path ([IO.Path]::GetTempPath()) ('rmmhub-' + [Guid]::NewGuid())
        New-Item -ItemType Directory -Path $wheelDir | Out-Null
        $wheel = Join-Path $wheelDir "rmmhub_agent-$AgentVersion-py3-none-any.whl"
        Write-Host "rmmhub-agent: downloading the agent from $HubUrl"
        Invoke-WebRequest -UseBasicParsing -Uri "$HubUrl/agent/v1/download/agent.whl" -OutFile $wheel
        & $uv venv --quiet --python $PythonVersion --managed-python (Join-Path $Target 'venv')
        if ($LASTEXITCODE -ne 0) { throw "creating the virtualenv in $Target failed" }
        & $uv pip install --quiet --python (Join-Path $Target 'venv\Scripts\python.exe') $wheel
        if ($LASTEXITCODE -ne 0) { throw 'installing the agent wheel failed' }
        Remove-Item -LiteralPath $wheelDir -Recurse -Force
        Remove-Item -LiteralPath $env:UV_CACHE_DIR -Recurse -Force -ErrorAction SilentlyContinue
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
