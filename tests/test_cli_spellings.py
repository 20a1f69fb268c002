"""Short options reach click in their long spellings, and read the same."""

from __future__ import annotations

import click
from click.testing import CliRunner

from witgen.cli import long_spellings, main
from witgen.cli.generate_cmd import generate


def params() -> list[click.Parameter]:
    ctx = main.make_context("witgen", ["generate"], resilient_parsing=True)
    return generate.get_params(generate.make_context("generate", [], parent=ctx, resilient_parsing=True))


def test_exact_short_options_are_spelled_long_and_values_are_kept() -> None:
    assert long_spellings(params(), ["wit", "-o", "out", "-w", "-", "-q", "-h"]) == [
        "wit", "--out", "out", "--world", "-", "--quiet", "--help"
    ]
    assert long_spellings(params(), ["-q", "-o", "-q"]) == ["--quiet", "-o", "-q"]  # a value like an option


def test_the_rest_is_left_to_click_after_anything_else() -> None:
    for args in (["-o"], ["-qv", "-o", "x"], ["x", "--", "-o", "y"], ["--out=x", "-q"], ["-ox", "-q"], ["-1", "-q"]):
        assert long_spellings(params(), args) == args


def test_errors_name_the_option_as_typed() -> None:
    result = CliRunner().invoke(main, ["generate", "wit", "-q", "-o"])
    assert result.exit_code == 2 and "Option '-o' requires an argument" in result.output
    result = CliRunner().invoke(main, ["generate", "wit", "-x"])
    assert result.exit_code == 2 and "No such option '-x'" in result.output
