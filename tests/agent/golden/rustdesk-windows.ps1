# RustDesk client install steps for Windows, run by the rmmhub agent (as SYSTEM) when the installer
# opted in to RustDesk and no client is installed: the client's own silent install (it installs
# under Program Files and registers the RustDesk service), then wait for the service.
$ErrorActionPreference = 'Stop'
$Package = '/tmp/rmmhub-rustdesk-x/rustdesk pkg'
$Kind = 'windows'
if ($Kind -ne 'windows') { throw "not a Windows RustDesk package: $Kind" }
if ($Package -like '*.msi') {
    $proc = Start-Process -FilePath 'msiexec.exe' -ArgumentList @('/i', "`"$Package`"", '/qn', '/norestart') -Wait -PassThru
} else {
    $proc = Start-Process -FilePath $Package -ArgumentList '--silent-install' -Wait -PassThru
}
if ($proc.ExitCode -ne 0) { throw "the RustDesk installer exited with $($proc.ExitCode)" }
$exe = Join-Path $env:ProgramFiles 'RustDesk\rustdesk.exe'
$deadline = (Get-Date).AddMinutes(3)
while (-not ((Test-Path $exe) -and (Get-Service -Name 'RustDesk' -ErrorAction SilentlyContinue))) {
    if ((Get-Date) -gt $deadline) { throw "RustDesk did not appear at $exe with its service" }
    Start-Sleep -Seconds 2
}
Start-Service -Name 'RustDesk' -ErrorAction SilentlyContinue
