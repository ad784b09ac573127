"""The typer command line: every command registered, errors mapped to exit codes.

Library errors become one line, ``Error: <message>``, on stderr and the exit code of
their class (see :class:`voiceguide.errors.ExitCode`); ``--debug`` shows the traceback
instead.
"""

from __future__ import annotations

import errno
import logging
import sys
import traceback
from typing import Any

import typer

import voiceguide as vg
from voiceguide.cli import interrupted, stop_asked
from voiceguide.cli.app import app, err, state, tidy_help
from voiceguide.cli.terminal import WarningHandler, warning_line

# commands are listed in --help in the order their modules register them; the command
# modules leave out `from __future__ import annotations`: typer reads their annotations
# at every start, and evaluating them from strings cost about 10 ms of `--help`
from voiceguide.cli import tracks  # isort: skip
from voiceguide.cli import starting  # isort: skip
from voiceguide.cli import packs  # isort: skip
from voiceguide.cli import looking  # isort: skip

__all__ = ["app", "looking", "packs", "run", "starting", "tracks"]

PARSER_WORDS = {
    "Input should be a valid integer, unable to parse string as an integer":
        "must be a whole number",
    "Input should be a valid integer, got a number with a fractional part":
        "must be a whole number",
    "Input should be a valid number, unable to parse string as a number":
        "must be a number, such as 12",
    "requires an argument.": "needs a value",
}
"""The option parser's words for a value that is not a number, and ours."""


def repeated_options(command: Any, args: list[str]) -> list[str]:
    """A warning for each option of the command in ``args`` given more than once with
    different values, or both ways (``--optional --no-optional``): the parser takes the
    last without a word, and a coach's mistyped second ``--name`` built the track for the
    wrong listener (a new user's review). Values the option reads alike (``--minutes 5``
    and ``--minutes 05``) are one value; a short option's value may be attached
    (``-oa``), as the parser reads it."""
    i = 0
    while hasattr(command, "commands"):  # a group: its subcommand (`cache info`: two)
        while i < len(args) and args[i].startswith("-"):
            i += 1  # the group's own flags (--debug)
        command = command.commands.get(args[i]) if i < len(args) else None
        if command is None:
            return []
        i += 1
    options = {name: p for p in command.params if p.param_type_name == "option"
               for name in p.opts + p.secondary_opts}
    given: dict[str, list[tuple[str, str]]] = {}
    rest = iter(args[i:])
    for token in rest:
        if token == "--":
            break
        for name, value in _options_in(token, options):
            option = options[name]
            if _takes_value(option) and value is None:
                value = next(rest, "")  # its value, whatever it looks like (-j4)
            if option.name is None or option.multiple or option.count:
                continue  # given as often as wanted: each is kept
            given.setdefault(option.name, []).append((name, name if option.is_flag
                                                      else value or ""))
    said = []
    for ways in given.values():
        if len({value for _, value in ways}) < 2:
            continue  # once, or the same again (read only if not: reading costs time)
        read: list[Any] = []
        for name, value in ways:
            if (seen := _read_as(options[name], name, value)) not in read:
                read.append(seen)
        if len(read) < 2:
            continue  # the same value again changes nothing
        last, value = ways[-1]
        if options[last].is_flag:  # --optional and --no-optional
            said.append(f"{' and '.join(dict.fromkeys(n for n, _ in ways))} given together: "
                        f"the last, {last}, is used")
        else:
            each = ", ".join(f"{n} {v}" for n, v in ways)
            said.append(f"{ways[0][0]} given {len(ways)} times ({each}): the last, "
                        f"{last} {value}, is used")
    return said


def _options_in(token: str, options: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The options ``token`` gives, each with its value if the token holds it (None: the
    next argument is the value of one that takes a value), read as the parser reads
    them: ``--out=a`` and ``-o`` whole, else short options run together (``-qoa``: -q,
    and -o with the value 'a'; ``-o=a`` is the value '=a'). An argument or an unknown
    option: none."""
    long, eq, value = token.partition("=")
    if long in options and (long.startswith("--") or len(long) > 2):
        return [(long, value if eq else None)]
    if not token.startswith("-") or token.startswith("--"):
        return []
    found: list[tuple[str, str | None]] = []
    for k in range(1, len(token)):
        name = "-" + token[k]
        if name not in options:
            break  # the parser refuses it
        if not _takes_value(options[name]):
            found.append((name, None))
            continue
        found.append((name, token[k + 1:] or None))
        break
    return found


def _takes_value(option: Any) -> bool:
    """Whether ``option`` reads a value (a flag or a counter reads none)."""
    return not option.is_flag and not option.count


def _read_as(option: Any, name: str, value: str) -> Any:
    """``value`` as ``option`` (given as ``name``) reads it: ``05`` for a number is 5, a
    flag is on or off (``-q`` and ``--quiet`` alike); as written when it cannot be read
    (the parser says why)."""
    if option.is_flag:
        return name in option.opts  # its other way (--no-optional) turns it off
    state["reading"] = True  # a value compared, not the one used: its parser warns not
    try:
        if hasattr(option, "get_runtime_param"):  # typer's own parser
            return option.get_runtime_param().coerce(value, param=option, ctx=None)
        return option.type.convert(value, option, None)  # click's
    except Exception:  # not a value of its kind: as written
        return value
    finally:
        state["reading"] = False


def run(args: list[str]) -> None:
    """Run the command line on ``args`` and exit with the code of the outcome (the
    signal handlers are :func:`voiceguide.cli.main`'s)."""
    library_log = logging.getLogger("voiceguide")
    if not any(isinstance(h, WarningHandler) for h in library_log.handlers):
        # the library's warnings are said at once and listed in a --json document
        library_log.addHandler(WarningHandler(err, lambda said: state["warnings"].append(said)))
    helping = "--help" in args and len(args) > 1  # a command's help shows format choices
    command = tidy_help(typer.main.get_command(app),
                        sorted(vg.formats()) if helping else None)
    debug = "--debug" in args
    state["warnings"] = repeated_options(command, args)  # --json lists them too
    for warning in state["warnings"]:
        err.print(warning_line(warning), markup=False)
    try:
        code = command.main(args=args, prog_name="voiceguide", standalone_mode=False)
    except vg.VoiceguideError as exc:
        if stop_asked() and not debug:
            interrupted()
        if debug:
            traceback.print_exc()
        lines = exc.problems if isinstance(exc, vg.InvalidInputError) else str(exc).splitlines()
        for line in lines or [str(exc)]:
            err.print(f"Error: {line}", markup=False)
        sys.exit(int(exc.exit_code))
    except (KeyboardInterrupt, typer.Abort):
        interrupted()
    except typer.TyperException as exc:  # usage errors from the option parser
        if type(exc).__name__ == "NoArgsIsHelpError":  # `voiceguide` alone: its help
            # (typer's own copy of click's class, in a private module: named, not imported)
            err.print(exc.format_message(), markup=False, soft_wrap=False)
            sys.exit(int(vg.ExitCode.USAGE))
        # one line, as every other error, with where to look (not click's usage block)
        # (no context where an option given last lacks its value: the command typed)
        ctx = getattr(exc, "ctx", None)
        sub = [args[0]] if args and args[0] in getattr(command, "commands", {}) else []
        path = ctx.command_path if ctx is not None else " ".join(["voiceguide", *sub])
        where = f" (see '{path} --help')"
        message = " ".join(exc.format_message().replace("Value error, ", "").split())
        for said, plain in PARSER_WORDS.items():
            message = message.replace(said, plain)
        err.print(f"Error: {message}{where}", markup=False)
        sys.exit(int(vg.ExitCode.USAGE) if exc.exit_code == 2 else exc.exit_code)
    except Exception as exc:  # a bug: say so in one line unless debugging
        if stop_asked() and not debug:  # the stop, turned into another error on its way
            interrupted()
        if debug:
            traceback.print_exc()
        if isinstance(exc, MemoryError):  # not a bug: the machine's (or a ulimit's) memory
            err.print("Error: not enough memory for this work (the system refused more); "
                      "build a shorter track, use 'pack --jobs 1', or free memory",
                      markup=False)
            sys.exit(int(vg.ExitCode.MEMORY))
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:  # not a bug: a name
            named = str(exc.filename or "")[:60]
            err.print(f"Error: '{named}...': a file name is longer than this system allows; "
                      "shorten it", markup=False)
            sys.exit(int(vg.ExitCode.USAGE))
        err.print(f"Error: internal error ({type(exc).__name__}: {exc}); rerun as "
                  "'voiceguide --debug ...' (before the command) and report it", markup=False)
        sys.exit(int(vg.ExitCode.ERROR))
    if code == vg.ExitCode.INTERRUPTED:  # a command that stopped on its own
        interrupted()
    sys.exit(int(code) if isinstance(code, int) else 0)
