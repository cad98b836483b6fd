"""Run a server and everything it starts as one process group, and stop all of it on request.

`sna ui` runs `dg dev`, which starts the webserver, the daemon and code servers. Killing only the
process we started leaves those running (and holding the port). So `dg dev` leads its own process
group, and stopping means: ask the leader to shut down, wait for the whole group, kill what is
left. Plain standard library, no Dagster import, so it can be tested quickly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

STOP_GRACE_S = 30.0  # dagster dev gives each of its services up to 30 s to stop


def run_process_group(
    command: list[str],
    env: dict[str, str],
    *,
    grace_s: float = STOP_GRACE_S,
    on_stop: Callable[[], None] | None = None,
) -> int:
    """Run `command` as the leader of a new process group until it ends or we get SIGINT/SIGTERM.

    On SIGINT (Ctrl-C) or SIGTERM the leader gets SIGTERM (dagster dev then stops its webserver,
    daemon and code servers in order); whatever of the group is still alive after `grace_s` is
    killed, so nothing outlives us. Our handlers are installed before the child starts, so it never
    inherits an ignored SIGINT (a shell's background job has one, and dagster copies SIGINT's
    handler to SIGTERM). Returns the leader's exit code, or 0 when stopped on request.
    """
    stop: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        child = subprocess.Popen(command, env=env, process_group=0, stdin=subprocess.DEVNULL)
        while child.poll() is None and not stop:
            time.sleep(0.2)
        if child.poll() is None:
            if on_stop is not None:
                on_stop()
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        end_group(child, grace_s)
        return 0 if stop else int(child.returncode or 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end_group(child: subprocess.Popen, grace_s: float) -> None:
    """Wait up to `grace_s` for the child's whole process group to end, then kill what is left."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        child.poll()  # reap the leader, or it would count as alive
        if not group_members(child.pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if fields and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def descendants(pid: int) -> list[int]:
    """Live (not zombie) processes started by `pid`, directly or not, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if fields and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stat_fields(stat: Path) -> list[str] | None:
    """state, ppid, pgrp, ... from /proc/PID/stat (the fields after "pid (command name)")."""
    try:
        text = stat.read_text()
    except OSError:  # the process ended while we looked
        return None
    return text[text.rindex(")") + 2 :].split()
