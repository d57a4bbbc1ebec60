"""`losscli losses`: every loss with its aliases, tasks, formula, options and reference."""

from __future__ import annotations

import sys

import click


def loss_rows() -> list[dict[str, object]]:
    """One row per loss, all from the registry (options as the CLI's flags)."""
    from losscli.engine.registry import SPECS, TASKS
    from losscli.errors import flag

    return [
        {
            "name": s.name,
            "aliases": list(s.aliases),
            "tasks": [t for t in TASKS if t in s.tasks],
            "formula": s.formula,
            "options": [flag(o) for o in s.options],
            "reference": s.reference,
            "summary": s.summary,
            "dataset_level": s.dataset_level,
            "higher_is_better": s.higher_is_better,
        }
        for s in SPECS
    ]


@click.command("losses")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
)
def losses_command(fmt: str) -> None:
    """List every loss: name, aliases, tasks, formula, options, reference."""
    from losscli.report import write_stream

    rows = loss_rows()
    header = ["name", "aliases", "tasks", "formula", "options", "reference"]

    def cells(r: dict[str, object]) -> list[str]:
        return [
            str(r["name"]),
            ", ".join(r["aliases"]),
            ", ".join(r["tasks"]),  # type: ignore[arg-type]
            str(r["formula"]),
            ", ".join(r["options"]),
            str(r["reference"]),
        ]  # type: ignore[arg-type]

    if fmt == "json":
        from losscli.render.json import dumps

        write_stream(sys.stdout, dumps({"losses": rows}))
    elif fmt == "markdown":
        from losscli.render.markdown import table

        write_stream(sys.stdout, table(header, [cells(r) for r in rows]))
    else:
        # one block per loss: a table of six columns does not fit a terminal
        from rich.markup import escape

        from losscli.cli.output import console

        out = console(sys.stdout)
        for r in rows:
            tasks = "all tasks" if len(r["tasks"]) == 3 else ", ".join(r["tasks"])  # type: ignore[arg-type]
            aliases = f" ({', '.join(r['aliases'])})" if r["aliases"] else ""  # type: ignore[arg-type]
            out.print(
                f"[bold]{r['name']}[/bold]{escape(aliases)} · {tasks} · {escape(str(r['summary']))}"
            )
            out.print(f"    ℓ = {escape(str(r['formula']))}")
            if r["options"]:
                out.print(f"    options: {', '.join(r['options'])}")  # type: ignore[arg-type]
            out.print(f"    reference: {escape(str(r['reference']))}")
