"""How an observed call is watched, instruction by instruction, only in the program's own code.

- :class:`MonitoringBackend` (CPython 3.12+): ``sys.monitoring``. ``PY_START`` (on only during an observed call)
  finds each code object the call runs; the program's own code gets local ``INSTRUCTION`` events, and every
  instruction that is not a site, or whose site has settled (it gave the same names :data:`~._call.SETTLE` times
  in a row), is disabled for the rest of the call (``DISABLE``; ``restart_events`` at the next observed call).
  Library code is disabled at its first start. Opcode tracing through ``sys.settrace`` does not work on 3.13
  (``f_trace_opcodes`` set in a trace function is ignored), hence this backend.
- :class:`SettraceBackend` (3.10, 3.11): ``sys.settrace`` with ``f_trace_opcodes`` on the program's own frames.
  A frame stops being traced once it ran a while with nothing new (eight passes over its sites), and a function
  whose last two calls with the same named arguments, or last eight calls, found nothing new is not traced again
  in this call.

Both call ``on_start(frame)`` when a frame of the program's code starts and ``call.on_sites(frame, sites, key)``
at each site. Neither is active between observed calls: the program then runs untraced.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Callable

from .bytecode import sites

QUIET_CALLS = 2  # skip a function after this many calls (same named arguments) that found nothing new
SILENT_CALLS = 8  # skip a function after this many calls in a row that found nothing new, whatever its arguments


class SettraceBackend:
    """3.10, 3.11: the observer's global trace function hands each new frame to :meth:`on_call`."""

    def __init__(self, is_user: Callable[[types.CodeType], bool], on_start: Callable) -> None:
        self.is_user = is_user
        self.on_start = on_start
        self.call = None
        self.quiet: dict[tuple, int] = {}
        self.silent: dict = {}  # code -> calls in a row that found nothing new

    def start(self, call) -> None:
        self.call = call
        self.quiet = {}
        self.silent = {}

    def stop(self) -> None:
        self.call = None

    def on_call(self, frame):
        code = frame.f_code
        call = self.call
        if call is None or self.silent.get(code, 0) >= SILENT_CALLS or not self.is_user(code):
            return None
        self.on_start(frame)
        table = sites(code)
        if not table:
            return None
        key = (code, tuple(getattr(call.names.get(id(frame.f_locals.get(v))), "name", None)
                           for v in code.co_varnames[:code.co_argcount]))
        if self.quiet.get(key, 0) >= QUIET_CALLS:
            return None
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        state = [call.novel, 0, call.novel]  # novelty at the last check, events since, at the frame's start
        limit = 8 * len(table) + 16

        def local(frame, event, arg):
            if event == "opcode":
                found = table.get(frame.f_lasti)
                if found:
                    call.on_sites(frame, found, (code, frame.f_lasti))
                    if call.novel != state[0]:
                        state[0], state[1] = call.novel, 0
                    else:
                        state[1] += 1
                        if state[1] > limit:
                            frame.f_trace_opcodes = False
            elif event == "return":
                quiet = call.novel == state[2]
                self.quiet[key] = self.quiet.get(key, 0) + 1 if quiet else 0
                self.silent[code] = self.silent.get(code, 0) + 1 if quiet else 0
            return local

        return local


class MonitoringBackend:
    """3.12+: ``sys.monitoring``, local instruction events on the program's own code objects."""

    def __init__(self, is_user: Callable[[types.CodeType], bool], on_start: Callable) -> None:
        mon = sys.monitoring
        self.mon = mon
        self.is_user = is_user
        self.on_start = on_start
        self.call = None
        self.tid = threading.get_ident()
        self.codes: set = set()
        self.tool = next((t for t in (3, 4, 5, 2, 1, 0) if mon.get_tool(t) is None), None)
        if self.tool is None:
            raise RuntimeError("every sys.monitoring tool id is taken (another profiler or debugger is active)")
        mon.use_tool_id(self.tool, "phasm-perf vars")
        mon.register_callback(self.tool, mon.events.PY_START, self._py_start)
        mon.register_callback(self.tool, mon.events.INSTRUCTION, self._instruction)

    def start(self, call) -> None:
        self.call = call
        self.tid = threading.get_ident()
        self.mon.restart_events()
        self.mon.set_events(self.tool, self.mon.events.PY_START)

    def stop(self) -> None:
        self.mon.set_events(self.tool, 0)
        for code in self.codes:
            self.mon.set_local_events(self.tool, code, 0)
        self.codes.clear()
        self.call = None

    def _py_start(self, code, offset):
        if self.call is None or threading.get_ident() != self.tid:
            return None
        if not self.is_user(code):
            return self.mon.DISABLE
        self.on_start(sys._getframe(1))
        if code not in self.codes and sites(code):
            self.codes.add(code)
            self.mon.set_local_events(self.tool, code, self.mon.events.INSTRUCTION)
        return self.mon.DISABLE

    def _instruction(self, code, offset):
        call = self.call
        if call is None or threading.get_ident() != self.tid:
            return None
        found = sites(code).get(offset)
        if not found:
            return self.mon.DISABLE
        if call.on_sites(sys._getframe(1), found, (code, offset)):
            return self.mon.DISABLE
        return None


def backend(is_user, on_start):
    cls = MonitoringBackend if sys.version_info >= (3, 12) else SettraceBackend
    return cls(is_user, on_start)
