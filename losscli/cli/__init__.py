"""The `losscli` command: a Click group and `main()`, the only place that turns exceptions
into a line on stderr and an exit code (SPEC §6).

Commands import NumPy, pandas, pyarrow and Rich inside their functions, so that
`losscli --help` and `losscli --version` start fast.
"""

from __future__ import annotations

import os
import sys

import click

from losscli._version import __version__
from losscli.cli.check import check_command
from losscli.cli.compare import compare_command
from losscli.cli.eval import eval_command
from losscli.cli.losses import losses_command

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(
    __version__, "--version", "-V", prog_name="losscli", message="%(prog)s %(version)s"
)
@click.option(
    "--debug", is_flag=True, envvar="LOSSCLI_DEBUG", help="Show tracebacks of internal errors."
)
def cli(debug: bool) -> None:
    """Loss functions for predictions in files: exact, stable, with a CI gate.

    \b
      losscli eval preds.csv labels.csv --loss bce
      losscli check preds.parquet --max bce=0.3
      losscli losses
    """


cli.add_command(eval_command)
cli.add_command(check_command)
cli.add_command(compare_command)
cli.add_command(losses_command)


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("LOSSCLI_DEBUG", "") not in ("", "0")


def _error(message: str, code: int) -> int:
    line = " ".join(message.strip().split("\n")[0].split())
    try:
        sys.stderr.write(f"error: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


def _quiet_broken_pipe() -> int:
    # stdout's reader went away (`| head`): point stdout at /dev/null so that Python's
    # final flush does not print "Exception ignored", and end quietly (BAD_INPUTS 70).
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the testable core of `main`)."""
    from losscli.errors import LossCliError

    args = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to write results
        return _error("standard output is closed; redirect it to a file or /dev/null", 2)
    try:
        rv = cli.main(args=args, prog_name="losscli", standalone_mode=False)
        sys.stdout.flush()
        return rv if isinstance(rv, int) else 0
    except LossCliError as exc:
        return _error(exc.format(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return _error("interrupted", 130)
    except click.ClickException as exc:
        message = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, click.UsageError) and ctx is not None:
            message = message.rstrip(".") + f". See '{ctx.command_path} --help'"
        return _error(message, 2)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:
        if _debug_requested(args):
            raise
        return _error(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in losscli; "
            "rerun with --debug (or LOSSCLI_DEBUG=1) for the traceback and report it",
            3,
        )


def main() -> None:
    sys.exit(run())
