"""Compiled programs under dynamic instrumentation (Frida), and the native surrogate runtime.

- :mod:`.frida_run`  spawn a program under an agent (``agents/*.js``), collect its messages and output


Low in the house (beside ``collect`` and ``hardware``): it imports only ``core``.
"""
