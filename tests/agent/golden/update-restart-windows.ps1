# rmmhub agent: start the agent's scheduled task again after a self-update or its rollback.
# Written by the agent (agent/update_restart.py) and run detached, out of the task's job object.
# After an update: waits for the agent that swapped its files to exit, then starts the task, whose
# new instance runs the new version (a task runs one instance at a time, so the old one must end
# first). After a rollback ($StopFirst): ends the silent new version's task instance first.
# Without the task (removed, or a foreground agent), starts the agent directly.
& {
    $ErrorActionPreference = 'Stop'
    $TaskName = 'rmmhub-agent'
    $WaitPid = 4242
    $StopFirst = $false
    $Python = 'C:\Program Files\rmmhub-agent\venv\Scripts\pythonw.exe'
    $StateDir = 'C:\Program Files\rmmhub-agent\state'
    $Deadline = (Get-Date).AddSeconds(120)

    $task = Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
    if ($StopFirst -and $task) {
        Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
    }
    $old = Get-Process -Id $WaitPid -ErrorAction SilentlyContinue
    if ($old) {
        $old | Wait-Process -Timeout 60 -ErrorAction SilentlyContinue
        Stop-Process -Id $WaitPid -Force -ErrorAction SilentlyContinue
    }
    if ($task) {
        while ($task.State -eq 'Running' -and (Get-Date) -lt $Deadline) {
            Start-Sleep -Milliseconds 500
            $task = Get-ScheduledTask -TaskName $TaskName
        }
        Start-ScheduledTask -TaskName $TaskName
        Write-Host "rmmhub-agent: scheduled task '$TaskName' started"
        return
    }
    $arguments = @('-m', 'agent', 'run', '--state-dir', "`"$StateDir`"")
    Start-Process -FilePath $Python -ArgumentList $arguments -WorkingDirectory $StateDir -WindowStyle Hidden
    Write-Host "rmmhub-agent: no scheduled task '$TaskName'; started $Python directly"
}
