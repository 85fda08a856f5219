"""bench for compiled programs: capture, train, time and swap a native surrogate into an unmodified binary.

- :mod:`.plan`  the discovered variables as C: the shim's parameter types, what it reads and writes
- :mod:`.run`   the whole check, as one library call (the same report as for Python)
"""
