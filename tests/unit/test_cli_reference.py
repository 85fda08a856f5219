"""playbook/cli.md's option tables are what the argparse parsers give (phasm_perf.cli.reference): an option added,
renamed or re-explained in the code without `python -m phasm_perf.cli.reference playbook/cli.md` fails here."""

from __future__ import annotations

import argparse
import subprocess
import sys

from phasm_perf.cli import reference
from tests.conftest import ROOT

PAGE = ROOT / "playbook" / "cli.md"


def test_the_committed_page_is_what_the_parsers_give():
    text = PAGE.read_text()
    assert reference.update(text) == text, "run: python -m phasm_perf.cli.reference playbook/cli.md"


def test_every_command_has_its_generated_section_and_every_option_is_in_it():
    text = PAGE.read_text()
    for prog, parser in reference.commands():
        if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            continue                                   # phasm-perf, phasm-perf hw: their subcommands have sections
        assert f"<!-- cli-reference: {prog} -->" in text, f"{prog} has no generated section on cli.md"
        body = reference.render(prog, parser)
        for action in parser._actions:
            for spelling in action.option_strings:
                assert f"`{spelling}`" in body, (prog, spelling)


def test_a_changed_option_makes_the_page_stale():
    parser = dict(reference.commands())["phasm-perf predict"]
    before = reference.render("phasm-perf predict", parser)
    parser.add_argument("--brand-new", metavar="X", help="an option the page does not have yet")
    assert "`--brand-new` | `X` | an option the page does not have yet" in reference.render("phasm-perf predict", parser)
    assert reference.render("phasm-perf predict", parser) != before


def test_check_mode_says_what_to_run_when_the_page_is_stale(tmp_path):
    stale = tmp_path / "cli.md"
    stale.write_text("<!-- cli-reference: phasm-perf predict -->\nold\n<!-- /cli-reference -->\n")
    proc = subprocess.run([sys.executable, "-m", "phasm_perf.cli.reference", "--check", str(stale)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "python -m phasm_perf.cli.reference" in proc.stderr
    assert subprocess.run([sys.executable, "-m", "phasm_perf.cli.reference", str(stale)]).returncode == 0
    assert "`--inputs`" in stale.read_text()
    unknown = tmp_path / "bad.md"
    unknown.write_text("<!-- cli-reference: phasm-perf nope -->\n<!-- /cli-reference -->\n")
    proc = subprocess.run([sys.executable, "-m", "phasm_perf.cli.reference", str(unknown)], capture_output=True, text=True)
    assert proc.returncode != 0 and "no command" in proc.stderr
