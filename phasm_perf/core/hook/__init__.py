"""Code that runs inside the user's Python program, and the one way it gets there.

- :mod:`._site`       the ``sitecustomize`` put on the program's ``PYTHONPATH``: it loads the agent a spec names
- :mod:`.run`         the parent's side: run the program once with a spec, read the agent's JSON report
- :mod:`.trampoline`  the agent's side: find ``MODULE:QUALNAME`` as the program defines it and swap a trampoline
                      into its code object (bench's capture and surrogate runs, ``vars``' observation)
- :mod:`.function`    ``MODULE:QUALNAME`` checked against the program's source before it runs (close names)
"""
