"""The `witgen` command line.

Start-up stays light: this module imports only click. Each command lives in its
own module and imports the heavy phases (lark, jinja2, black) when it runs.
Exit codes: 0 ok, 1 invalid input or stale output, 2 usage error.
"""

from __future__ import annotations

import os
import sys

import click

from witgen import __version__
from witgen.cli import ending


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used."""

    commands_by_module = {
        "parse": "witgen.cli.parse_cmd:parse",
        "fmt": "witgen.cli.fmt_cmd:fmt",
        "generate": "witgen.cli.generate_cmd:generate",
        "check": "witgen.cli.check_cmd:check",
        "wire": "witgen.cli.wire_cmd:wire",
        "call": "witgen.cli.call_cmd:call",
        "launcher": "witgen.cli.launcher_cmd:launcher",
        "host": "witgen.cli.host_cmd:host",
        "bridge": "witgen.cli.bridge_cmd:bridge",
        "new": "witgen.cli.new_cmd:new",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands_by_module)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.commands_by_module.get(cmd_name)
        if target is None:
            return None
        import importlib

        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


class Command(click.Command):
    """A command that hands click its short options in their long spellings.

    click looks every option up as a long one first; a short one (`-o`) fails that
    look-up by building an error, whose message is translated and offered close matches
    (gettext, locale and difflib: about 1 ms per short option in a fresh process). Only
    exact spellings are rewritten, up to the first argument whose reading depends on more
    (`--`, bundled or attached short options, `--name=value`, an option's value that looks
    like an option, a missing value): click reads the rest as given, and reads the same."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, long_spellings(self.get_params(ctx), args))


def long_spellings(params: list[click.Parameter], args: list[str]) -> list[str]:
    """`args` with each short option of `params` that has a long spelling spelled so."""
    longs: dict[str, str] = {}
    takes_value: dict[str, int] = {}  # spelling -> how many values follow it
    for param in params:
        if not isinstance(param, click.Option):
            continue
        long = next((o for o in param.opts if o.startswith("--")), None)
        for spelling in (*param.opts, *param.secondary_opts):
            longs[spelling] = long if long is not None and not spelling.startswith("--") else spelling
            takes_value[spelling] = 0 if param.is_flag or param.count else param.nargs
    out = list(args)
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg[:1] != "-" or arg == "-":
            continue  # an argument
        elif arg not in longs:
            break
        elif takes_value[arg]:
            if takes_value[arg] != 1 or i + 1 == len(args) or (args[i + 1][:1] == "-" and args[i + 1] != "-"):
                break
            out[i], skip = longs[arg], True
        else:
            out[i] = longs[arg]
    return out


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="witgen")
def main() -> None:
    """Generate typed Python from WIT: types, provider stubs, dispatch tables and bus shims."""



def run() -> None:
    """The console entry point: `main`, then, after a command that holds no threads and
    no open files (`witgen.cli.ending.mark_clean`), an immediate exit. Every file is
    written and closed by then; what is skipped is the interpreter's teardown of the
    objects a run built, which takes longer than a short run's own work."""
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if not ending.clean or not (code is None or isinstance(code, int)):
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: the normal exit reports it
            raise exc from None
        os._exit(code or 0)
