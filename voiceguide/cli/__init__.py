"""The ``voiceguide`` command line: a thin typer layer over the public API.

This is the only package that prints or exits. Library errors become one line,
``Error: <message>``, on stderr and the exit code of their class (see
:class:`voiceguide.errors.ExitCode`); ``--debug`` shows the traceback instead. The
commands live in :mod:`voiceguide.cli.run`; an up-to-date ``build`` or ``pack`` is
answered by :mod:`voiceguide.cli.quick` before typer loads.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any, NoReturn, TextIO

__all__ = ["catch_stops", "interrupted", "main", "on_term", "stop_asked"]


_asked: list[int] = []
"""The stop signals received (a library may turn the KeyboardInterrupt into an error of
its own: pydantic building a schema makes it a SchemaError)."""


def on_term(signum: int, frame: Any) -> None:
    """Ctrl-C and SIGTERM stop a run, and are remembered (see :func:`stop_asked`)."""
    _asked.append(signum)
    raise KeyboardInterrupt


def _unraisable(info: Any) -> None:
    """A Ctrl-C that lands in a finaliser (``__del__``, a weakref callback, a generator
    closed by the garbage collector) cannot propagate: Python prints it and goes on, so
    the run went on too. It is raised again a moment later (from a timer's signal: any
    Python code run from here would still be inside), to stop the run where it can."""
    if isinstance(info.exc_value, KeyboardInterrupt) and _asked and hasattr(signal, "SIGALRM"):
        if not _alarm:  # the handler it had, put back when the timer fires
            _alarm.append(signal.signal(signal.SIGALRM, _again))
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        return
    sys.__unraisablehook__(info)


_alarm: list[Any] = []


def _again(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGALRM, _alarm.pop() if _alarm else signal.SIG_DFL)
    raise KeyboardInterrupt


def catch_stops() -> None:
    """Make Ctrl-C and SIGTERM stop the run, however deep the code is when they come
    (see :func:`on_term`)."""
    _asked.clear()  # a run of its own (tests run the CLI in one process)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    sys.unraisablehook = _unraisable


def stop_asked() -> bool:
    """Whether Ctrl-C or SIGTERM came: an error that follows is the stop, not a bug."""
    return bool(_asked)


def interrupted() -> NoReturn:
    """Say the run was interrupted and exit 130; a second Ctrl-C (or a SIGTERM) while
    saying it is ignored, where it printed a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stderr.write("Error: interrupted; no partial files were left\n")
    # CPython ends the process by SIGINT, whatever the exit code, when a KeyboardInterrupt
    # once left an exec() of a string (dataclasses and namedtuples are made so while
    # modules import) even though it was caught later; a string run to its end clears that
    exec("pass")
    sys.exit(130)  # ExitCode.INTERRUPTED, without importing anything now


class _Unbroken:
    """Standard output (or error) that goes quiet once its reader has gone (``voiceguide
    script ... | head -1``): the command runs to its end and exits with its own code,
    where the broken pipe was a traceback or an "internal error" (exit 1). Standard
    output that cannot be written (``> /dev/full``) is an OutputError (exit 9) once, and
    quiet after; standard error that cannot is quiet (nothing could say so), and the
    command keeps its own exit code (an attack: tracebacks, and exit 1 for exit 3)."""

    def __init__(self, stream: TextIO, output: bool) -> None:
        self._stream, self._output = stream, output
        self.unwritten: Exception | None = None
        """The error said once standard output could not be written (kept: a caller may
        swallow it, as the help's writer does)."""

    def write(self, text: str) -> int:
        """Write ``text``, or drop it if nobody reads any more; a character the stream's
        encoding lacks (a Latin-1 locale) is written as its escape, ``\\u6668``."""
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:  # (an attack: 'internal error', exit 1)
                code = getattr(self._stream, "encoding", None) or "utf-8"
                return self._stream.write(text.encode(code, "backslashreplace").decode(code))
        except OSError as exc:
            self._failed(exc)
            return len(text)

    def flush(self) -> None:
        """Flush, or drop what was buffered if nobody reads any more."""
        try:
            self._stream.flush()
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self._gone()
        if self._output and not isinstance(exc, BrokenPipeError):
            from voiceguide import OutputError

            self.unwritten = OutputError(f"cannot write to standard output: "
                                         f"{exc.strerror or exc}")
            raise self.unwritten from None

    def _gone(self) -> None:
        import os

        # what is still buffered, and Python's own flush at exit, go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _PlainWarnings(logging.Handler):
    """The library's warnings as ``Warning:`` lines on stderr while a command is answered
    before the CLI framework loads (a plugin left out: the warning is given once)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        from voiceguide.cli.terminal import warning_line

        sys.stderr.write(warning_line(record.getMessage()) + "\n")


def _nowhere() -> TextIO:
    """A text stream to the null device, for one closed before the program started."""
    import os

    return open(os.devnull, "w", encoding="utf-8")  # the process's own, never closed


def _unwritten(exc: Exception) -> None:
    """Say that standard output could not be written and exit 9; any other error is
    raised again."""
    from voiceguide import OutputError

    if not isinstance(exc, OutputError):
        raise exc
    try:  # standard error may be full or closed too: the code says it then
        sys.stderr.write(f"Error: {exc}\n")
        sys.stderr.flush()
    except (OSError, AttributeError, ValueError):
        pass
    sys.exit(int(exc.exit_code))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to exit codes. A Ctrl-C or SIGTERM at any
    moment, the first imports too, exits 130 with one line."""
    hook, streams = sys.unraisablehook, (sys.stdout, sys.stderr)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:  # a Ctrl-C the moment the handlers are set is caught too (it came between them
        catch_stops()  # and the try, a traceback, in one run of a fresh clone's suite)
        # a stream closed before the start (`2>&-`, `>&-`: None here) says nothing, and
        # the command keeps its own code (a closed stderr stopped every build, exit 1)
        sys.stdout, sys.stderr = (_Unbroken(s, s is streams[0]) if s is not None and not
                                  isinstance(s, _Unbroken) else s or _nowhere()
                                  for s in streams)
        import voiceguide as vg
        from voiceguide.cli.quick import answer, answer_pack

        args = sys.argv[1:] if argv is None else argv
        said = _PlainWarnings()  # before the CLI framework (and its handler) loads
        logging.getLogger("voiceguide").addHandler(said)
        with vg.cli_messages():  # "--minutes", not "'minutes'", in what the library says
            try:
                if answer(args) or answer_pack(args):
                    sys.exit(0)
            finally:
                logging.getLogger("voiceguide").removeHandler(said)
            from voiceguide.cli.run import run

            run(args)  # it says what stopped it; only what comes before its try is left
    except KeyboardInterrupt:
        interrupted()
    except Exception as exc:  # standard output that cannot be written, before the CLI's
        _unwritten(exc)  # own handling (an up-to-date build's answer)
    finally:
        unwritten: Exception | None = None
        stopped = sys.exc_info()[1]  # a swallowed failure counts where the command
        went_well = isinstance(stopped, SystemExit) and not stopped.code  # says all is well
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, _Unbroken):
                try:
                    stream.flush()  # here, where a reader gone is quiet, not at exit
                except Exception as exc:  # said (or raised again) once all is restored
                    unwritten = exc
                if went_well:
                    unwritten = unwritten or stream.unwritten
        # as they were, for a program that runs the command line in its own process
        # (given argv; the command's own process keeps its handlers to the end)
        (sys.stdout, sys.stderr), sys.unraisablehook = streams, hook
        if argv is not None:
            for signum, handler in handlers.items():
                if handler is not None:  # None: not set from Python
                    signal.signal(signum, handler)
        if unwritten is not None:
            _unwritten(unwritten)

