"""MkDocs hook: `<!-- witgen-cli -->` in a page becomes the help of every `witgen` command.

The text is what `witgen COMMAND --help` prints, rendered from the click definitions at
build time, so the reference cannot drift from the command line. Commands are listed
as the group lists them (a new command appears on its own); groups (`witgen wire`)
are followed by their subcommands.
"""

from __future__ import annotations

from typing import Any

import click

MARKER = "<!-- witgen-cli -->"
WIDTH = 100


def _help(command: click.Command, path: list[str], parent: click.Context | None) -> tuple[str, click.Context]:
    ctx = click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    return command.get_help(ctx), ctx


def _sections(command: click.Command, path: list[str], parent: click.Context | None, level: int) -> list[str]:
    text, ctx = _help(command, path, parent)
    name = " ".join(path)
    out = [f"{'#' * level} `{name}`", "", command.get_short_help_str(limit=200), "", "```text", text, "```", ""]
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            child = command.get_command(ctx, sub)
            if child is not None and not child.hidden:
                out += _sections(child, [*path, sub], ctx, level + 1)
    return out


def render() -> str:
    """The reference of every command, as Markdown."""
    from witgen.cli import main

    text, ctx = _help(main, ["witgen"], None)
    out = ["```text", text, "```", ""]
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        if command is not None and not command.hidden:
            out += _sections(command, ["witgen", name], ctx, 2)
    return "\n".join(out)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render())
    return markdown
