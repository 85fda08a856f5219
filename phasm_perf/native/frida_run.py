"""Run a program under a Frida agent: spawn it paused, load the agent, call its ``init``, resume, collect.

    run = run_agent(["./prog", "3"], "trace.js", params, timeout=60)
    run.messages   # what the agent sent, in order
    run.stdout     # what the program printed
    run.exit_status, run.crashed

Nothing stays attached: the session is detached (and the program killed on a timeout) before this returns. The
program's binary is only read, never written.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from ..core.errors import PhasmError

PTRACE_SCOPE = Path("/proc/sys/kernel/yama/ptrace_scope")


@dataclass
class AgentRun:
    messages: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None
    crashed: str | None = None       # the agent's description of the crash, or Frida's detach reason
    seconds: float = 0.0             # from resume to the end of the program
    errors: list[str] = field(default_factory=list)
    init_result: Any = None

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("type") == kind]


def agent_source(name: str) -> str:
    return resources.files("phasm_perf.native").joinpath("agents", name).read_text()


def _frida():
    try:
        import frida
    except ImportError:
        raise PhasmError("compiled programs need Frida: pip install 'phasm-perf[native]'") from None
    return frida


def check_permitted() -> None:
    """Fail early, with the fix, where the kernel will not let a process be instrumented."""
    try:
        scope = int(PTRACE_SCOPE.read_text().strip())
    except (OSError, ValueError):
        return
    if scope >= 3:
        raise PhasmError("instrumentation is not permitted: kernel.yama.ptrace_scope is 3 (no attaching at all); "
                         "it can only be lowered by rebooting with a lower value")
    if scope >= 2 and os.geteuid() != 0:
        raise PhasmError("instrumentation is not permitted: kernel.yama.ptrace_scope is 2 (root only); run as root "
                         "or `sudo sysctl kernel.yama.ptrace_scope=1`")


def _permission_error(exc: Exception) -> PhasmError:
    return PhasmError(f"instrumentation is not permitted ({exc}): allow it with `sudo sysctl "
                      f"kernel.yama.ptrace_scope=0` (or run as root); in a container add --cap-add=SYS_PTRACE")


class _Listener:
    """Frida's callbacks for one run: the agent's messages (acknowledging the exit), the detach, the output."""

    def __init__(self, run: AgentRun, on_message: Callable[[dict], None] | None) -> None:
        self.run = run
        self.on_message = on_message
        self.done = threading.Event()
        self.script = None
        self.out: dict[int, list[bytes]] = {1: [], 2: []}

    def output(self, pid, fd, data) -> None:
        if fd in self.out and data:
            self.out[fd].append(data)

    def detached(self, reason, crash) -> None:
        if reason not in ("application-requested", "process-terminated"):
            self.run.crashed = self.run.crashed or (crash.summary if crash is not None else str(reason))
        self.done.set()

    def message(self, message, data) -> None:
        if message.get("type") == "error":
            self.run.errors.append(message.get("description", "agent error"))
            return
        if message.get("type") != "send":
            return
        payload = message["payload"]
        self.run.messages.append(payload)
        kind = payload.get("type")
        if kind == "exit":
            self.run.exit_status = payload.get("status")
        elif kind == "crash":
            self.run.crashed = payload.get("description")
        if kind in ("exit", "crash"):
            try:
                self.script.post({"type": "ack"})  # the exiting thread waits for it
            except Exception:
                pass
        if self.on_message is not None:
            self.on_message(payload)

    def texts(self) -> tuple[str, str]:
        return tuple(b"".join(self.out[fd]).decode("utf-8", "replace") for fd in (1, 2))  # type: ignore[return-value]


def _spawn(frida, device, argv: list[str], cwd: str | None, env: dict | None) -> int:
    try:
        return device.spawn(argv, stdio="pipe", cwd=cwd, env=env)
    except frida.PermissionDeniedError as exc:
        raise _permission_error(exc) from None
    except (frida.ExecutableNotFoundError, frida.NotSupportedError, frida.ProcessNotFoundError) as exc:
        raise PhasmError(f"cannot start {argv[0]}: {exc}") from None


def run_agent(argv: list[str], agent: str, params: dict, *, timeout: float | None = None, cwd: str | None = None,
              on_message: Callable[[dict], None] | None = None, env: dict | None = None) -> AgentRun:
    """Spawn ``argv`` paused, load ``agent`` (a file in ``phasm_perf/native/agents``), ``init(params)``, resume."""
    frida = _frida()
    check_permitted()
    run = AgentRun()
    ears = _Listener(run, on_message)
    device = frida.get_local_device()
    device.on("output", ears.output)
    session = None
    try:
        pid = _spawn(frida, device, argv, cwd, env)
        session = device.attach(pid)
        session.on("detached", ears.detached)
        ears.script = script = session.create_script(agent_source(agent))
        script.on("message", ears.message)
        script.load()
        try:
            run.init_result = script.exports_sync.init(params)
        except frida.core.RPCException as exc:
            _kill(device, pid)
            first = str(exc).splitlines()[0] if str(exc) else "unknown error"
            raise PhasmError(f"the instrumentation could not start in {argv[0]}: {first}", 1) from None
        t0 = time.perf_counter()
        device.resume(pid)
        if not ears.done.wait(timeout):
            _kill(device, pid)
            ears.done.wait(5)
            raise PhasmError(f"{argv[0]} did not finish within {timeout:g} s under instrumentation (killed)", 1)
        run.seconds = time.perf_counter() - t0
    except frida.PermissionDeniedError as exc:
        raise _permission_error(exc) from None
    except (frida.TransportError, frida.InvalidOperationError, frida.ProcessNotFoundError) as exc:
        run.crashed = run.crashed or f"the program ended during set-up ({exc})"
    finally:
        device.off("output", ears.output)
        if session is not None:
            try:
                session.detach()
            except Exception:
                pass
    time.sleep(0.05)  # the last output chunks arrive just after the detach
    run.stdout, run.stderr = ears.texts()
    return run


def _kill(device, pid: int) -> None:
    try:
        device.kill(pid)
    except Exception:
        pass
