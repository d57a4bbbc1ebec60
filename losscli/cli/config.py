"""Merge a settings file into a command's parameters (the Click side of `losscli.config`).

`losscli.config` finds, reads and type-checks the file; this module needs the Click
context to know which parameters the user typed, since flags win over the file.
"""

from __future__ import annotations

from typing import Any

import click


def apply_config(
    ctx: click.Context, params: dict[str, Any], config_path: str | None
) -> dict[str, Any]:
    """Fill options the user did not type from the config file; returns its gate settings.

    Flags win: a parameter whose value came from the command line is left as it is. Every
    value in the file is checked with its flag's Click type first (W5), and a file that was
    read says so on stderr (unless --quiet), since it changes results without a flag.
    """
    from click.core import ParameterSource

    from losscli.config import find_config, split_config

    found = find_config(config_path)
    if found is None:
        return {}
    path, table = found
    defaults, gates = split_config(path, table, {p.name: p for p in ctx.command.params})
    for name, value in defaults.items():
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            params[name] = value
    if "storage_options" in defaults:  # the file's storage-option, unless flags gave one
        from losscli.readers.remote import parse_storage_options, set_storage_options

        set_storage_options(parse_storage_options(params.get("storage_options")))
    if not params.get("quiet"):
        click.echo(f"note: settings from {path}", err=True)
    gates["source"] = path
    return gates
