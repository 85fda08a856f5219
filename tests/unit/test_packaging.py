"""Every folder of the package that holds modules is a regular package (a missing ``__init__.py`` makes a namespace
package, which a wheel built with ``find_packages`` leaves out: ``phasm_perf/search`` once had none)."""

from __future__ import annotations

from pathlib import Path

import phasm_perf

#: folders of modules loaded by path, not imported as packages (put on the program's PYTHONPATH, shipped as data)
NOT_PACKAGES = {"collect/_sitehook", "core/hook/_site"}


def test_every_folder_of_modules_is_a_package():
    root = Path(phasm_perf.__file__).parent
    missing = [str(d.relative_to(root)) for d in root.rglob("*") if d.is_dir() and "__pycache__" not in d.parts
               and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
    assert sorted(set(missing) - NOT_PACKAGES) == []
    assert all((root / p).is_dir() for p in NOT_PACKAGES)
