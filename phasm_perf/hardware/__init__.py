"""Hardware profiles (one YAML file per device, every figure with its source) and ``hw measure``.

- :mod:`.profile`   the schema, loading by name / ``local`` / path, the shipped profiles
- :mod:`.measure`   an empirical roofline of this machine, written in the same format
"""

from .profile import HardwareProfile, available, dump, load, load_file, local_path, parse_profile

__all__ = ["HardwareProfile", "available", "dump", "load", "load_file", "local_path", "parse_profile", "resolve"]


def resolve(name: str, *, measure_if_missing: bool = True, on_status=None) -> HardwareProfile:
    """:func:`load`, except that ``local`` is measured (and kept) the first time it is asked for."""
    if name == "local" and measure_if_missing and not local_path().exists():
        from .measure import MeasureOptions, measure_and_save

        if on_status:
            on_status(f"no profile of this machine yet: measuring it (under a minute) into {local_path()}")
        measure_and_save(local_path(), MeasureOptions())
    return load(name)
