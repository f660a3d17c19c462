"""The processes a run starts: the loopback server, and child interpreters that measure a
client away from everything the parent has imported."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks.context import ROOT, Context, log


class ServerProcess:
    """benchmarks.server in a child process; it exits when our end of its stdin closes."""

    def __enter__(self) -> int:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server"], cwd=ROOT, env=child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        return int(self.proc.stdout.readline())

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


PYCACHE = Path(tempfile.gettempdir()) / "streamchat-benchmarks-pycache"


def child_env() -> Dict[str, str]:
    """Child interpreters see this tree first and cache bytecode outside it: without
    cached bytecode every import would also compile, and only streamchat would pay."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def server_saw_close(port: int, token: str) -> Optional[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", f"/closed/{token}")
        value = json.loads(conn.getresponse().read())["t"]
        return None if value is None else float(value)
    finally:
        conn.close()


def run_peer(ctx: Context, name: str, scenario: str) -> Any:
    """A peer SDK measured in a child process: importing one changes the process for
    everything measured after it (litellm starts threads; a larger heap makes every
    full garbage collection slower), so none is ever imported here."""
    log(f"  ({name}: {scenario} in a child process)")
    command = [sys.executable, "-m", "benchmarks.run", "--peer-child", name, "--scenario",
               scenario, "--port", str(ctx.port)] + (["--quick"] if ctx.quick else [])
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        return f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1]:.60}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(args: List[str]) -> Dict[str, Any]:
    """`python -m benchmarks.run ARGS` in a fresh process: its last line of output, as
    JSON, and how many warnings it logged (urllib3's "pool is full" among them)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["warnings"] = sum(1 for line in done.stderr.splitlines() if "WARNING" in line
                             or "pool is full" in line)
    return result
