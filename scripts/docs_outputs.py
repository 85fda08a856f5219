"""Regenerate the outputs shown on the playbook's pages (and the README) from real runs of the shipped examples.

An output on a page is the ``text`` block right after an HTML comment naming it::

    <!-- docs-output: step1-rank -->
    ```text
    ...
    ```

``OUTPUTS`` says which command prints it; each runs in a fresh folder holding a copy of ``examples/`` and a ``.venv``
link to this environment, exactly as the page's own blocks run in ``tests/docs/plugin.py``. Usage::

    python scripts/docs_outputs.py                 # regenerate every output (make docs-outputs); the slow ones too
    python scripts/docs_outputs.py --fast          # only those that take seconds
    python scripts/docs_outputs.py step1-rank      # one
    python scripts/docs_outputs.py --list

``same_shape(page, fresh)`` is what a page's output must keep from a fresh run (``tests/docs/check_outputs.py``): the
columns of each table, and the rows' names (candidates, variables, batch sizes) in their order, two rows marked as
tied (``≈``) in either order. Numbers may differ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = "<!-- docs-output: {} -->\n"
#: the column that names a table's rows, by table header (the first one a table has)
ROW_NAMES = ("function", "name", "batch", "run", "operator")


@dataclass(frozen=True)
class Output:
    page: str
    command: str            # bash, run in the fresh folder
    slow: bool = False
    echo: bool = False      # print the command as `$ command` before its output


OUTPUTS: dict[str, Output] = {
    # the rankings of particles.py are slow checks (out of make test) only because field_at (a fifth of the run)
    # comes and goes between runs since rank-default (missing in about half the fresh runs on 2026-12-02): a
    # product question, not the page's; put them back once rank's candidate set is stable
    "readme-rank": Output("README.md", "phasm-perf rank examples/particles.py", slow=True),   # what make demo runs
    "step1-rank": Output("playbook/step1-profile-and-rank.md",
                         "phasm-perf rank --event-loop run --bundle run.phasm examples/particles.py", slow=True),
    "step3-vars": Output("playbook/step3-find-inputs-and-outputs.md",
                         "phasm-perf vars --function optics:Surface.refract -- examples/optics.py"),
    "step4-rank-hardware": Output("playbook/step3-will-it-pay-off.md",
                                  "phasm-perf rank --event-loop run --hardware a100-40gb-sxm --surrogate mlp:64x64 "
                                  "--html report.html examples/particles.py",
                                  slow=True),         # field_at comes and goes (above)
    "step4-predict": Output("playbook/step3-will-it-pay-off.md",
                            "phasm-perf predict --hardware a100-40gb-sxm --inputs 3 --outputs 3 --surrogate mlp:64x64 "
                            "--batch 1,64,128,4096,65536"),
    "compiled-rank": Output("playbook/profiling-compiled-code.md",
                            "phasm-perf rank --event-loop sim::run_events examples/shower/shower 100 200 2"),
    "cpp-case-rank": Output("playbook/case-study-cpp.md",
                            "phasm-perf rank --bundle shower.phasm examples/shower/shower 100 200 2"),
    "cpp-case-vars": Output("playbook/case-study-cpp.md",
                            "phasm-perf vars --function 'phys::shower::GammaProfile<double>::deposit' "
                            "-- examples/shower/shower 2 20 0"),
    "cpp-case-rank-epyc": Output("playbook/case-study-cpp.md",
                                 "phasm-perf rank --bundle shower.phasm examples/shower/shower 100 200 2 >/dev/null "
                                 "2>&1 && phasm-perf rank shower.phasm --hardware epyc-7763 --surrogate mlp:64x64 "
                                 "--inputs 2 --outputs 48 --independent 800"),
    "gpu-torch-rank": Output("playbook/gpu-and-pytorch.md",
                             "phasm-perf hw measure --quick -o local.yaml >/dev/null 2>&1 && "
                             "phasm-perf rank --torch-profiler --bundle torch-run --hardware local.yaml "
                             "--html report.html examples/torch_mlp/fit.py --steps 40", slow=True),
    "step5-bench-batched": Output("playbook/step4-check-the-prediction.md",
                                  "phasm-perf hw measure --quick --threads 1 -o local-1t.yaml >/dev/null 2>&1 && "
                                  "phasm-perf bench --function particles:boris_push --hardware local-1t.yaml "
                                  "--threads 1 --out bench-out -- examples/particles_batched.py --events 40",
                                  slow=True),
}


@dataclass(frozen=True)
class Image:
    command: str            # bash, run in a fresh folder; makes `file`
    file: str               # what the command writes, in the folder
    target: str             # where it goes in the repository
    screenshot: bool = False    # an HTML page: a headless Chromium screenshot of it (1300x560) is the image


IMAGES: dict[str, Image] = {
    "step2-particles-svg": Image("phasm-perf profile --event-loop run -o run.phasm -- examples/particles.py >/dev/null 2>&1"
                                 " && phasm-perf flamegraph run.phasm -o particles.svg", "particles.svg",
                                 "playbook/img/step2-particles.svg"),
    "step2-particles-html": Image("phasm-perf profile --event-loop run -o run.phasm -- examples/particles.py >/dev/null "
                                  "2>&1 && phasm-perf flamegraph run.phasm -o particles.html", "particles.html",
                                  "playbook/img/step2-particles-html.png", screenshot=True),
    "step2-heat-diff": Image("phasm-perf profile -o heat64.phasm -- examples/heat.py --n 64 >/dev/null 2>&1 && "
                             "phasm-perf profile -o heat32.phasm -- examples/heat.py --n 32 >/dev/null 2>&1 "
                             "&& phasm-perf flamegraph heat64.phasm --diff heat32.phasm -o heat-diff.html",
                             "heat-diff.html", "playbook/img/step2-heat-diff.png", screenshot=True),
}


def image(name: str) -> None:
    """Make ``IMAGES[name]`` in a fresh folder and copy it to its place in the repository."""
    img = IMAGES[name]
    folder = fresh_folder(Path(tempfile.gettempdir()) / "phasm-docs-example")   # the same path in every picture
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    try:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", img.command], cwd=folder, env=env, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise SystemExit(f"docs_outputs: {name}: exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        made = folder / img.file
        if img.screenshot:
            browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
            if not browser:
                raise SystemExit(f"docs_outputs: {name}: no chromium to take the screenshot with")
            shot = folder / "shot.png"
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--window-size=1300,560", f"--screenshot={shot}", made.as_uri()],
                           check=True, capture_output=True, timeout=120)
            made = shot
        data = made.read_bytes()
        if not img.screenshot:           # a text image (SVG): the folder's paths made relative
            data = data.replace(f"{folder}/".encode(), b"").replace(str(folder).encode(), b".")
        (ROOT / img.target).write_bytes(data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_folder(at: Path | None = None) -> Path:
    if at is not None:
        shutil.rmtree(at, ignore_errors=True)
        at.mkdir(parents=True)
    folder = at or Path(tempfile.mkdtemp(prefix="phasm-outputs-"))
    shutil.copytree(ROOT / "examples", folder / "examples", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.o"))
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent, target_is_directory=True)
    return folder


def run(name: str) -> str:
    """The output of ``OUTPUTS[name]``, as the page shows it (paths relative to the folder)."""
    out = OUTPUTS[name]
    folder = fresh_folder()
    env = dict(os.environ, MPLBACKEND="Agg", PHASM_PERF_LOCAL_PROFILE=str(folder / "local.yaml"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("MLFLOW_TRACKING_URI", None)
    try:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", out.command], cwd=folder, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise SystemExit(f"docs_outputs: {name}: exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        text = proc.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = text.replace(f"{folder}/", "").replace(str(folder), ".")
    text = text.replace(str(Path(sys.executable).parent), ".venv/bin")
    text = "\n".join(line.rstrip() for line in text.rstrip().splitlines())
    return (f"$ {out.command.split('&& ')[-1]}\n" if out.echo else "") + text + "\n"


def block(text: str, name: str) -> tuple[int, int]:
    """Start and end offsets of the body of output ``name``'s ``text`` block in a page's text."""
    at = text.find(MARK.format(name))
    if at < 0:
        raise SystemExit(f"docs_outputs: no '{MARK.format(name).strip()}' on {OUTPUTS[name].page}")
    fence = text.index("```text\n", at) + len("```text\n")
    return fence, text.index("\n```", fence - 1) + 1


def page_output(name: str) -> str:
    text = (ROOT / OUTPUTS[name].page).read_text()
    start, end = block(text, name)
    return text[start:end]


def write(name: str, output: str) -> None:
    path = ROOT / OUTPUTS[name].page
    text = path.read_text()
    start, end = block(text, name)
    path.write_text(text[:start] + output + text[end:])


def _cells(line: str, sep: str) -> list[str]:
    return [c.strip() for c in line.strip()[1:-1].split(sep)]


def tables(text: str) -> list[tuple[tuple[str, ...], list[tuple[str, bool]]]]:
    """Per table: its columns, and its rows as (name, tied with the row above: the rank column says ``≈``). A name
    is its first 24 characters, as a narrower terminal may cut it; wrapped continuation rows are left out."""
    out: list[tuple[tuple[str, ...], list[tuple[str, bool]]]] = []
    key = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("┃"):
            head = tuple(_cells(s, "┃"))
            key = next((head.index(k) for k in ROW_NAMES if k in head), 0)
            out.append((head, []))
        elif s.startswith("│") and out and key is not None:
            cells = _cells(s, "│")
            if len(cells) == len(out[-1][0]) and cells[key] and cells[0]:
                out[-1][1].append((cells[key][:24].rstrip("…"), cells[0].startswith("≈")))
    return out


def shape(text: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per table: (its columns, the names of its rows in order)."""
    return [(head, tuple(n for n, _ in rows)) for head, rows in tables(text)]


def same_shape(page: str, fresh: str) -> bool:
    """The same tables with the same columns and the same rows in the same order, except that two rows either output
    marks as tied (``≈``: within sampling noise of each other) may come in either order."""
    a, b = tables(page), tables(fresh)
    if [h for h, _ in a] != [h for h, _ in b]:
        return False
    for (_, ra), (_, rb) in zip(a, b):
        if sorted(n for n, _ in ra) != sorted(n for n, _ in rb):
            return False
        group = {n: n for n, _ in ra}                      # union-find over the tied pairs of both outputs

        def find(n):
            while group[n] != n:
                n = group[n]
            return n
        for rows in (ra, rb):
            for (above, _), (name, tied) in zip(rows, rows[1:]):
                if tied:
                    group[find(name)] = find(above)

        def order(rows):
            out = [find(n) for n, _ in rows]
            return [g for i, g in enumerate(out) if i == 0 or g != out[i - 1]]
        if order(ra) != order(rb):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="outputs to regenerate (default: all)")
    ap.add_argument("--fast", action="store_true", help="only the outputs that take seconds")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)
    names = args.names or [n for n, o in OUTPUTS.items() if not (args.fast and o.slow)] + list(IMAGES)
    for name in names:
        if name in IMAGES:
            print(f"docs_outputs: {name}: {IMAGES[name].target}", file=sys.stderr)
            if not args.list:
                image(name)
            continue
        if name not in OUTPUTS:
            ap.error(f"unknown output {name!r}; known: {', '.join([*OUTPUTS, *IMAGES])}")
        if args.list:
            print(f"{name:24} {OUTPUTS[name].page}{'  (slow)' if OUTPUTS[name].slow else ''}")
            continue
        print(f"docs_outputs: {name}: {OUTPUTS[name].command}", file=sys.stderr)
        write(name, run(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
