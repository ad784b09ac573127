"""Safe YAML loading that remembers where every value came from.

Routine, exercise, pack and profile files are shared between people, so they are
untrusted: the loader bounds the file size, the nesting depth and the number of
nodes (alias "billion laughs" bombs expand into nodes and hit that bound), and it
records the line and column of every key and value so that validation errors can
say ``routines/x.yaml:14:5: steps[2].hold: ...``.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from voiceguide.errors import InvalidInputError
from voiceguide.io.bounded import read_bounded
from voiceguide.limits import (
    MAX_FILE_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    TOO_LARGE,
    too_large,
)

_FAST: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML was built with it (the wheels are), else the Python one."""
MAX_NODES: Final = MAX_YAML_NODES
MAX_DEPTH: Final = MAX_YAML_DEPTH
_SEQ: Final = "tag:yaml.org,2002:seq"
_MAP: Final = "tag:yaml.org,2002:map"

Loc = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed YAML document with the positions of its values."""

    path: Path
    """The file, as the user named it (used in messages)."""
    data: Any
    """Plain Python data: dicts, lists, str, int, float, bool, None."""
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    """1-based (line, column) of each value, by its path in the data."""
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    """1-based (line, column) of each mapping key, by the path of its value."""

    _located: dict[Loc, str] = field(default_factory=dict, repr=False, compare=False)
    _dotted: dict[Loc, str] = field(default_factory=dict, repr=False, compare=False)

    def dotted(self, loc: Loc) -> str:
        """:func:`format_loc` of ``loc`` (remembered, as :meth:`located`)."""
        found = self._dotted.get(loc)
        if found is None:
            found = self._dotted[loc] = format_loc(loc)
        return found

    def located(self, loc: Loc) -> str:
        """``file:line:col: field.path`` of the value at ``loc`` (remembered: a routine
        expanded at many lengths asks for the same places each time)."""
        found = self._located.get(loc)
        if found is None:
            line, col = self.where(loc)
            found = self._located[loc] = f"{self.path}:{line}:{col}: {self.dotted(loc)}"
        return found

    def where(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Best known position for ``loc``: the value (or key), else its nearest parent."""
        parts: Loc = tuple(loc)
        while True:
            if key and parts in self.key_positions:
                return self.key_positions[parts]
            if parts in self.positions:
                return self.positions[parts]
            if not parts:
                return (1, 1)
            parts = parts[:-1]

    def problem(self, loc: Sequence[str | int], message: str, *, key: bool = False) -> str:
        """Format one problem as ``file:line:col: field.path: message``."""
        line, col = self.where(loc, key=key)
        dotted = format_loc(loc)
        prefix = f"{self.path}:{line}:{col}: "
        return f"{prefix}{dotted}: {message}" if dotted else f"{prefix}{message}"


def format_loc(loc: Iterable[str | int]) -> str:
    """``('steps', 2, 'hold')`` -> ``steps[2].hold``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_text(path: Path, what: str) -> str:
    """Read a small UTF-8 text file (a bounded read of a regular file) or raise
    :class:`InvalidInputError` saying why not."""
    raw = read_bounded(path, what, MAX_FILE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path}:{line}: {what} file is not UTF-8 text (byte 0x{raw[exc.start]:02x});"
            " save it as UTF-8"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidInputError(f"{path}:{line}: {what} file contains a NUL byte: not a text file")
    return text


def load_yaml(path: Path, what: str = "routine", *, empty_ok: bool = False) -> Document:
    """Read and parse a YAML file into a :class:`Document` (one mapping expected; with
    ``empty_ok``, a file of only comments is an empty mapping; see :func:`parsing_once`)."""
    text, memo = read_text(path, what), _PARSED.get()
    if memo is None:
        return parse_yaml(text, path, what, empty_ok=empty_ok)
    key = (str(path), empty_ok, text)  # ``what`` words only errors, which are not kept
    if (doc := memo.get(key)) is None:
        doc = memo[key] = parse_yaml(text, path, what, empty_ok=empty_ok)
    return doc


_PARSED: ContextVar[dict[tuple[str, bool, str], Document] | None] = ContextVar(
    "_PARSED", default=None)


@contextlib.contextmanager
def parsing_once() -> Iterator[None]:
    """A block in which :func:`load_yaml` parses a file's text once and hands its readers
    the same :class:`Document` (which they must not change): a check reads a file for its
    kind, to load it and, when it fails, for its templates' problems (a hostile routine
    of 50,000 keys took 3.1 s). Nothing is kept after the block."""
    token = _PARSED.set({})
    try:
        yield
    finally:
        _PARSED.reset(token)


_PLAIN: Final = (str, int, float, dict, list, tuple, type(None), datetime.date)
"""What a routine given as data may hold (as YAML would give it)."""


def bound_data(data: Any, path: Path, what: str = "routine") -> None:
    """Hold plain data given in place of a file (a routine as a dict, from an app) to a
    file's bounds: nesting, number of values and size of text. Iterative, so data
    nested too deeply is an error for people rather than a ``RecursionError``."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    count = size = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InvalidInputError(f"{path}: the {what} has more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise InvalidInputError(f"{path}: the {what} is nested more than {MAX_DEPTH} "
                                    "levels deep")
        if not isinstance(value, _PLAIN):  # a generator, bytes, an object: not data
            raise InvalidInputError(f"{path}: the {what} holds a {type(value).__name__}; "
                                    "give plain data: dicts, lists, text and numbers")
        if isinstance(value, str):
            size += len(value)
        elif too_large(value):  # a string conversion of it alone could fail
            raise InvalidInputError(f"{path}: the {what} holds a number too large "
                                    f"({TOO_LARGE})")
        elif isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise InvalidInputError(f"{path}: the {what} has a key that is not text")
            size += sum(len(k) for k in value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list | tuple):
            stack.extend((v, depth + 1) for v in value)
        if size > MAX_FILE_BYTES:
            raise InvalidInputError(f"{path}: the {what} holds more than "
                                    f"{MAX_FILE_BYTES // 1024} kB of text, the limit of a file")


def parse_yaml(text: str, path: Path, what: str = "routine", *,
               empty_ok: bool = False) -> Document:
    """Parse YAML text into a :class:`Document`, with positions, within the safety bounds
    (a text given in place of a file too: its size); ``empty_ok``: as :func:`load_yaml`."""
    if len(text) > MAX_FILE_BYTES // 4 and \
            len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise InvalidInputError(f"{path}: the {what} is larger than "
                                f"{MAX_FILE_BYTES // 1024} kB, the limit of a file")
    try:
        try:  # libyaml composes ~10x faster; a file it rejects is read again by the Python
            nodes = list(yaml.compose_all(text, Loader=_FAST))
        except yaml.YAMLError:  # loader, whose error messages people know (libyaml's: terse)
            nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        start = exc.context_mark
        if start is not None and mark is not None and start.line < mark.line and \
                str(exc.context).startswith("while scanning"):
            # an unclosed quote is found lines later: name where it began
            problem += f" at line {mark.line + 1}"
            mark = start
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise InvalidInputError(
            f"{path}:{line}:{col}: YAML syntax error: {problem}{context}"
            + _hint(problem, context, text, line)
        ) from None
    except yaml.reader.ReaderError as exc:  # a control character: where, on one line
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - before.rfind("\n")
        raise InvalidInputError(f"{path}:{line}:{col}: the character U+{exc.character:04X} "
                                "(a control character or noncharacter) is not allowed in "
                                "YAML; remove it") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path}:1:1: YAML error: {' '.join(str(exc).split())}"
                                ) from None
    except RecursionError:
        raise InvalidInputError(f"{path}:1:1: YAML is nested too deeply") from None
    if len(nodes) > 1:
        line = nodes[1].start_mark.line + 1
        raise InvalidInputError(
            f"{path}:{line}:1: several YAML documents in one file; keep one {what} per file"
        )
    doc = Document(path=path, data=None)
    if nodes and nodes[0] is not None:
        doc.data = _Builder(doc).build(nodes[0], (), 0)
    if doc.data is None:  # nothing, comments, `---`, `~` or `null`
        if empty_ok:  # a profile all of whose lines are comments, as 'init' writes nearly
            return Document(path=path, data={})
        raise InvalidInputError(f"{path}:1:1: the {what} file is empty")
    if not isinstance(doc.data, dict):
        line, col = doc.where(())
        raise InvalidInputError(
            f"{path}:{line}:{col}: a {what} file must be a mapping of keys"
            f" (got {type(doc.data).__name__})"
        )
    return doc


_QUOTE_TEMPLATE: Final = ("; a value that starts with '{{' or '{%' (a template) must be in "
                          "quotes: say: \"{{ phrase('halfway') }} now.\"")
_INDENT: Final = "; check the indentation: the items of one list start in the same column"


def _hint(problem: str, context: str, text: str, line: int) -> str:
    """The fix for the commonest slips in a hand-written file (tabs, a colon in text, a
    template not in quotes, an indent off by one)."""
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    value = re.match(r"^\s*-?\s*[\w-]+:\s*(.*)", here)
    starts = value.group(1) if value else ""  # what the line's value starts with
    template = starts.startswith(("{{", "{%"))  # a flow mapping `{seconds: 6}` is none
    quoted = starts.startswith(("'", '"'))
    if "'\\t'" in problem:
        return "; indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return _out_of_line(lines, line) or (
            "; put text with ': ' in it in quotes (say: \"Rest here: breathe.\"), "
            "or check the indentation")
    if "expected <block end>" in problem or "did not find expected" in problem:
        if "found '?'" in problem:  # a key where the list's next item was expected
            return ("; check the indentation: a key of the list item above goes in the "
                    "column of its first key (after the '- ')")
        if quoted:  # say: "{{ phrase('x') }}" now
            return "; text goes on after the closing quote: put all of it inside the quotes"
        if template:
            return _QUOTE_TEMPLATE
        if "found '<scalar>'" in problem and starts.startswith(("{", "[")):  # [beat] now
            return "; text that starts with '{' or '[' must be in quotes: say: \"[beat] now\""
        return _out_of_line(lines, line) or _INDENT  # a key under one with its value
    if "found character '%'" in problem and template:  # say: {% if name %}Hi{% endif %}
        return _QUOTE_TEMPLATE
    if "quoted scalar" in context:
        return "; close the quote"
    return ""


def _out_of_line(lines: list[str], line: int) -> str:
    """The fix where line ``line`` is indented deeper than the ``key: value`` line above
    it (a coach moved `max: 60` two spaces left, and was told to quote the next line)."""
    def indent(text: str) -> int:
        return len(text) - len(text.lstrip(" "))

    above = [i for i in range(line - 2, -1, -1)
             if lines[i].strip() and not lines[i].lstrip().startswith("#")][:2]
    if not above or not 0 < line <= len(lines):
        return ""
    here, prev = lines[line - 1], lines[above[0]]
    key = re.match(r"^\s*(?:-\s+)?([\w-]+):\s*[^\s#]", prev)
    if key is None or indent(here) <= indent(prev) or " " in here.strip().split(":")[0]:
        return ""  # (words before its ':': prose wrapped onto this line, to quote)
    if len(above) > 1 and indent(lines[above[1]]) == indent(here):  # its neighbours' column
        return (f"; check the indentation: '{key[1]}' (line {above[0] + 1}) is not in the "
                f"column of the keys around it: move it to column {indent(here) + 1}")
    return (f"; check the indentation: this line is deeper than line {above[0] + 1} above it "
            f"('{key[1]}', which has its value already)")


class _Builder:
    """Turns composed YAML nodes into plain data, counting nodes and depth."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.scalars = yaml.SafeLoader("")

    def _fail(self, node: yaml.Node, message: str) -> InvalidInputError:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        return InvalidInputError(f"{self.doc.path}:{line}:{col}: {message}")

    def _too_large(self, node: yaml.Node, field: str) -> InvalidInputError:
        return self._fail(node, f"{field}: the number {str(node.value)[:20]}... is too large "
                                f"({TOO_LARGE})")

    def _bad_tagged(self, node: yaml.ScalarNode, field: str) -> InvalidInputError:
        tag = node.tag.rsplit(":", 1)[-1]
        return self._fail(node, f"{field}: '{node.value}' is not a valid {tag}; remove the"
                                f" '!!{tag}' tag or give a value of that kind")

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(
                node, f"document expands to more than {MAX_NODES} values (alias bomb?)"
            )
        if depth > MAX_DEPTH:
            raise self._fail(node, f"nested more than {MAX_DEPTH} levels deep")
        self.doc.positions.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            field = format_loc(loc) or "value"
            if node.tag.endswith(":binary"):  # bytes, which no field takes (nor their controls)
                raise self._fail(node, f"{field}: a YAML binary value ('!!binary') is not "
                                       "text; write the text itself")
            if not node.style and ":" in node.value and node.tag.endswith((":int",
                                                                                ":float")):
                return node.value  # YAML 1.1 reads 1:30 as 90 and 10:30 as 630; 1.2 as text
            try:
                value = self.scalars.construct_object(node)
                if too_large(value):
                    raise self._too_large(node, field)
                return value
            except yaml.YAMLError as exc:
                problem = " ".join(str(exc).split())  # one line, without the quoted text
                problem = problem.split(' in "<unicode string>"')[0]
                raise self._fail(node, f"{field}: bad value: {problem}") from None
            except (ValueError, OverflowError) as exc:
                if node.tag.endswith(":int"):  # over 4,300 digits: Python will not read it
                    raise self._too_large(node, field) from None
                if node.tag.endswith(":timestamp"):  # a date such as 2025-13-01
                    raise self._fail(node, f"{field}: '{node.value}' is not a valid date"
                                           f" ({exc}); write a real date as YYYY-MM-DD (in"
                                           " a text field, put it in quotes)") from None
                raise self._bad_tagged(node, field) from None
            except (KeyError, IndexError, AttributeError, TypeError):
                # an explicit tag the value does not fit: !!bool maybe, !!int ""
                raise self._bad_tagged(node, field) from None
        if node.tag not in (_SEQ, _MAP):  # `!!python/object/apply:os.system [...]`
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self._fail(node, f"{format_loc(loc) or 'value'}: a YAML tag such as "
                                   f"'{tag}' is not allowed here; remove it")
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged = self.build(value_node, loc, depth + 1)
                    items = merged if isinstance(merged, list) else [merged]
                    for item in items:
                        if not isinstance(item, dict):
                            raise self._fail(value_node, "'<<' merges only mappings")
                        for k, v in item.items():
                            out.setdefault(k, v)
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    hint = _QUOTE_TEMPLATE if key_node.flow_style else ""
                    raise self._fail(key_node, "mapping keys must be plain words" + hint)
                # keys are taken as written: YAML 1.1 would read `on:` or `no:` as booleans
                key = str(key_node.value)
                if key in out:
                    raise self._fail(key_node, f"duplicate key '{key}'")
                child = (*loc, key)
                self.doc.key_positions[child] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out[key] = self.build(value_node, child, depth + 1)
            return out
        raise self._fail(node, "unsupported YAML node")  # pragma: no cover
