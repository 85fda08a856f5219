"""Count a function's calls with a few instructions added to its own code (CPython 3.11), part of the counting hook.

Right after the ``RESUME`` that starts every function, the code gets the equivalent of::

    __phasm_perf_counts__[i] += 1          # the new count stays on the stack for the test
    if <the new count> <= CAPTURE:
        __phasm_perf_first__(i)

with both names found in ``builtins`` (the user's module globals are not touched). The increment is the bytecode
the compiler itself writes for ``a[i] += 1`` on a list: specialised by 3.11's adaptive interpreter (list and int
fast paths), no call, no frame, no tracing, and atomic between threads (none of those instructions lets another
thread run). The first ``CAPTURE`` calls also call the hook's own function, which sizes their arguments.
Jumps in 3.11 are all relative and none crosses the insertion point (only ``MAKE_CELL``, ``COPY_FREE_VARS`` and
``RETURN_GENERATOR`` come before ``RESUME``), so the rest of the code is untouched; the exception table's offsets
move by the length of the insertion, and the line table gets entries for it on the ``def`` line. A code object
this module does not understand is left as it is (that function is then not counted, never miscounted).

Imports nothing but the standard library: it runs inside the user's program.
"""

import opcode
import sys
import types

_OP = opcode.opmap
_CACHES = getattr(opcode, "_inline_cache_entries", None)
SUPPORTED = sys.version_info[:2] == (3, 11) and _CACHES is not None
CO_OPTIMIZED = 0x0001


def _instr(name, arg=0):
    """One instruction (after the EXTENDED_ARG prefixes a large argument needs) and its inline cache units."""
    out = bytearray()
    for shift in (24, 16, 8):
        if arg >> shift:
            out += bytes([_OP["EXTENDED_ARG"], (arg >> shift) & 0xFF])
    op = _OP[name]
    out += bytes([op, arg & 0xFF]) + bytes(2 * _CACHES[op])
    return bytes(out)


def _read_varint(data, i):
    b = data[i]
    val = b & 63
    i += 1
    while b & 64:
        b = data[i]
        i += 1
        val = (val << 6) | (b & 63)
    return val, i


def _write_varint(value, first):
    chunks = [value & 63]
    value >>= 6
    while value:
        chunks.append(value & 63)
        value >>= 6
    chunks.reverse()
    out = [c | 64 for c in chunks[:-1]] + [chunks[-1]]
    if first:
        out[0] |= 128
    return bytes(out)


def _shift_exception_table(table, at, by):
    """Every offset at or after unit ``at`` moves by ``by`` units."""
    out = bytearray()
    i = 0
    while i < len(table):
        start, i = _read_varint(table, i)
        size, i = _read_varint(table, i)
        target, i = _read_varint(table, i)
        depth_lasti, i = _read_varint(table, i)
        if start >= at:
            start += by
        if target >= at:
            target += by
        out += _write_varint(start, True) + _write_varint(size, False) + _write_varint(target, False)
        out += _write_varint(depth_lasti, False)
    return bytes(out)


def _entry_length(table, i):
    """The byte length of the line-table entry at ``i``, and the code units it covers."""
    first = table[i]
    units = (first & 7) + 1
    code = (first >> 3) & 15
    j = i + 1
    if code == 15:            # no location
        return j - i, units
    if code == 14:            # long form: line delta, end line delta, column, end column
        for _ in range(4):
            while table[j] & 64:
                j += 1
            j += 1
        return j - i, units
    if code == 13:            # no columns: line delta
        while table[j] & 64:
            j += 1
        return j + 1 - i, units
    if code >= 10:            # one line forms: two column bytes
        return 3, units
    return 2, units           # short forms: one column byte


def _split_line_table(table, at):
    """The byte offset in the line table where code unit ``at`` starts, or None if an entry straddles it."""
    i = unit = 0
    while i < len(table) and unit < at:
        size, units = _entry_length(table, i)
        i += size
        unit += units
    return i if unit == at else None


def _line_entries(units):
    """Entries covering ``units`` code units on the previous entry's line (code 13, line delta 0)."""
    out = bytearray()
    while units > 0:
        n = min(8, units)
        out += bytes([0x80 | (13 << 3) | (n - 1), 0])
        units -= n
    return bytes(out)


def counts_calls_of(code):
    """Functions and methods are counted; module and class bodies, comprehensions and lambdas are not."""
    return bool(code.co_flags & CO_OPTIMIZED) and not code.co_name.startswith("<")


COUNTS_NAME = "__phasm_perf_counts__"
FIRST_NAME = "__phasm_perf_first__"


def _const(consts, value):
    """The index of ``value`` (an int, matched by type too) in ``consts``, appending it if needed."""
    for k, c in enumerate(consts):
        if type(c) is int and c == value:
            return consts, k
    return consts + (value,), len(consts)


def _name(names, name):
    if name in names:
        return names, names.index(name)
    return names + (name,), len(names)


def _counter_code(consts, names, index, capture):
    """The inserted instructions, and the constants and names they need."""
    consts, c_i = _const(consts, index)
    consts, c_1 = _const(consts, 1)
    consts, c_cap = _const(consts, capture)
    names, n_counts = _name(names, COUNTS_NAME)
    names, n_first = _name(names, FIRST_NAME)
    # counts[i] += 1, leaving the new count on the stack for the test (COPY/SWAP: the compiler's own sequence)
    count = (_instr("LOAD_GLOBAL", n_counts << 1) + _instr("LOAD_CONST", c_i) + _instr("COPY", 2)
             + _instr("COPY", 2) + _instr("BINARY_SUBSCR") + _instr("LOAD_CONST", c_1)
             + _instr("BINARY_OP", 13) + _instr("COPY", 1) + _instr("SWAP", 4) + _instr("SWAP", 2)
             + _instr("SWAP", 3) + _instr("STORE_SUBSCR"))
    call = (_instr("LOAD_GLOBAL", (n_first << 1) | 1) + _instr("LOAD_CONST", c_i) + _instr("PRECALL", 1)
            + _instr("CALL", 1) + _instr("POP_TOP"))
    test = _instr("LOAD_CONST", c_cap) + _instr("COMPARE_OP", 1)  # 1: <=
    jump = _instr("POP_JUMP_FORWARD_IF_FALSE", len(call) // 2)
    return count + test + jump + call, consts, names


def add_counter(code, index, capture):
    """``code`` counting its calls in ``__phasm_perf_counts__[index]``, or None when its shape is not understood."""
    raw = code.co_code
    resume = _OP["RESUME"]
    at = next((k // 2 for k in range(0, len(raw), 2) if raw[k] == resume), None)
    if at is None:
        return None
    at += 1 + _CACHES[resume]
    split = _split_line_table(code.co_linetable, at)
    if split is None:
        return None
    prefix, consts, names = _counter_code(code.co_consts, code.co_names, index, capture)
    units = len(prefix) // 2
    table = code.co_linetable
    try:
        return code.replace(
            co_code=raw[: 2 * at] + prefix + raw[2 * at:],
            co_consts=consts,
            co_names=names,
            co_stacksize=max(code.co_stacksize, 4),
            co_linetable=table[:split] + _line_entries(units) + table[split:],
            co_exceptiontable=_shift_exception_table(code.co_exceptiontable, at, units),
        )
    except (ValueError, TypeError, OverflowError):
        return None


def instrument(code, register, capture, done):
    """``code`` and every code object in its constants, each function counting its calls in the slot that
    ``register(code)`` gives (None: not counted). ``done`` maps every original code object seen to its replacement
    (the watcher of ``__main__`` swaps functions' ``__code__`` with it)."""
    got = done.get(code)
    if got is not None:
        return got
    consts = code.co_consts
    new_consts = tuple(instrument(c, register, capture, done) if isinstance(c, types.CodeType) else c for c in consts)
    changed = any(a is not b for a, b in zip(consts, new_consts))
    new = code.replace(co_consts=new_consts) if changed else code
    if counts_calls_of(code):
        index = register(code)
        if index is not None:
            new = add_counter(new, index, capture) or new
    done[code] = new
    return new
