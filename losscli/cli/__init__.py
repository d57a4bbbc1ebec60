"""The `losscli` command: a Click group and `main()`, the only place that turns exceptions
into a line on stderr and an exit code (SPEC §6).

Commands import NumPy, pandas, pyarrow and Rich inside their functions, so that
`losscli --help` and `losscli --version` start fast.
"""

from __future__ import annotations

import errno
import os
import re
import sys

import click

from losscli._version import __version__
from losscli.cli.check import check_command
from losscli.cli.compare import compare_command
from losscli.cli.eval import eval_command
from losscli.cli.explain import explain_command
from losscli.cli.losses import losses_command
from losscli.cli.plot import plot_command
from losscli.cli.report import report_command

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class StdoutClosed(Exception):
    """The reader of stdout (or stderr) went away. Not an OSError, so that Click's own
    EPIPE handling (which calls sys.exit(1) even outside standalone mode) lets it through
    to `run`, which exits 141 (M2)."""


class _Group(click.Group):
    """The losscli group: a closed pipe in help, parsing or a command becomes StdoutClosed."""

    def make_context(self, *args: object, **kwargs: object) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)  # type: ignore[arg-type]
        except BrokenPipeError as exc:
            raise StdoutClosed() from exc
        except OSError as exc:  # --help or --version onto a full disk: nothing else writes
            if exc.errno is None or exc.filename is not None:
                raise
            from losscli.report import WriteError

            raise WriteError(f"cannot write to standard output: {exc.strerror}") from None

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise StdoutClosed() from exc


@click.group(cls=_Group, context_settings=CONTEXT)
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
cli.add_command(explain_command)
cli.add_command(plot_command)
cli.add_command(report_command)


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("LOSSCLI_DEBUG", "") not in ("", "0")


def _error(message: str, code: int) -> int:
    """One `error:` line on stderr; on GitHub Actions an input error (exit 2) is also a
    `::error` annotation, as failed gates are."""
    line = " ".join(message.strip().split("\n")[0].split())
    line = re.sub(r"([?!])\.(?=\s|$)", r"\1", line)  # "Did you mean 'eval'?." → "?"
    try:
        sys.stderr.write(f"error: {line}\n")
        if code == 2 and os.environ.get("GITHUB_ACTIONS") == "true":
            sys.stderr.write(f"::error title=losscli::{_github_escape(line)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


def _github_escape(text: str) -> str:
    """The escapes of GitHub's workflow commands for a message: %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of what is left in its
    buffer neither fails again nor prints "Exception ignored" (BAD_INPUTS 70)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _quiet_broken_pipe() -> int:
    # stdout's reader went away (`| head`): end quietly with 128 + SIGPIPE, as a shell would
    _silence_stdout()
    return 141


def _stdout_failed() -> bool:
    """Whether stdout cannot be written: a failed flush keeps its data buffered, so a
    second flush fails the same way."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return True
    return False


def _os_error(exc: OSError) -> int:
    """An operating-system error that reached `run` (disk full, a broken device) is the
    environment's, not a bug: exit 2 with what failed (C5)."""
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
    if exc.filename is not None:
        message = f"{exc.filename}: {reason}"
    elif _stdout_failed():
        _silence_stdout()
        message = f"cannot write to standard output: {reason}"
    else:
        message = f"cannot write the output (standard output or standard error): {reason}"
    return _error(message, 2)


def _help_for_no_arguments(exc: click.UsageError) -> int:
    """`losscli` alone prints the help and succeeds, as `git` does (M9)."""
    ctx = exc.ctx
    from losscli.errors import LossCliError
    from losscli.report import write_stream

    text = ctx.get_help() if ctx is not None else str(exc)
    try:
        write_stream(sys.stdout, text + "\n")
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except LossCliError as error:
        _silence_stdout()
        return _error(error.format(), error.exit_code)
    return 0


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
        from losscli.report import WriteError

        if isinstance(exc, WriteError):  # what is left in stdout's buffer cannot go out
            _silence_stdout()
        return _error(exc.format(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return _error("interrupted", 130)
    except click.exceptions.NoArgsIsHelpError as exc:
        return _help_for_no_arguments(exc)
    except click.ClickException as exc:
        message = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, click.UsageError) and ctx is not None:
            message = message.rstrip(".") + f". See '{ctx.command_path} --help'"
        return _error(message, 2)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except (BrokenPipeError, StdoutClosed):
        return _quiet_broken_pipe()
    except OSError as exc:
        if exc.errno is None:
            return _internal_error(exc, args)
        return _os_error(exc)
    except Exception as exc:
        return _internal_error(exc, args)


def _internal_error(exc: Exception, args: list[str]) -> int:
    if _debug_requested(args):
        raise exc
    return _error(
        f"internal error: {type(exc).__name__}: {exc}. This is a bug in losscli; "
        "rerun with --debug (or LOSSCLI_DEBUG=1) for the traceback and report it",
        3,
    )


def main() -> None:
    sys.exit(run())
