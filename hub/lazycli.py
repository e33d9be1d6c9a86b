"""A click group whose subcommands import their module only when used.

``rmmhub user create`` should not pay for the benchmarks, the assistant's model SDKs and every
connector: importing them all costs seconds of CPU per invocation. A lazy subcommand is named
``"package.module:attribute"`` and imported when it runs or when ``--help`` lists it.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """``click.Group`` plus ``lazy={"name": "module:attribute"}`` subcommands."""

    def __init__(self, *args: object, lazy: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, name: str) -> click.Command:
        module, _, attribute = self.lazy[name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[name]} is not a click command")
        return command
