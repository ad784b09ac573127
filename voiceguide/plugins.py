"""Plug points: speech engines, output formats and pack runners register here.

Like ``llm``'s ``register_models``, each kind of backend has one pluggy hook that is
handed a ``register`` callable. The built-in backends are plugins too: adding one is a
module with a ``@hookimpl`` function plus its line in :data:`BUILTIN_PLUGINS`. Other
packages plug in through the ``voiceguide`` entry-point group. Plugins are loaded on the
first registry lookup, so commands that need no backend never pay for them; and a
lookup of a built-in's name loads the built-ins alone (:func:`lookup`).

An installed plugin cannot take the built-ins down with it: one that fails to load,
whose hook raises, or that registers something incomplete or under a name already
taken is left out with a warning naming it and its distribution (logger
``voiceguide.plugins``; the command line prints it as ``Warning:``), and everything
else works as before. Only asking for what it would have provided is an error.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pluggy

PROJECT: Final = "voiceguide"
ENTRY_POINT_GROUP: Final = "voiceguide"
"""Entry-point group other packages use to add engines, formats or runners."""
NO_ENTRY_POINTS_ENV: Final = "VOICEGUIDE_NO_PLUGINS"
"""Set to 1 to load only the built-in backends (skips installed plugins)."""
PLUGIN_API: Final = 1
"""Version of what plugins are handed and must provide (:mod:`voiceguide.extend`); it
goes up only when a change would break a plugin written for the one before."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[Any], None]
log = logging.getLogger("voiceguide.plugins")


class Hooks:
    """The hooks a plugin may implement (each receives ``register``)."""

    @hookspec
    def register_engines(self, register: Register) -> None:
        """Register speech engine classes: ``register(MyEngine)``."""

    @hookspec
    def register_formats(self, register: Register) -> None:
        """Register output formats: ``register(MY_FORMAT)``."""

    @hookspec
    def register_runners(self, register: Register) -> None:
        """Register pack runner classes: ``register(MyRunner)``."""


REQUIRED: Final = {
    "register_engines": ("class", ("default_voice", "version", "sample_rate", "identity",
                                   "voices", "synthesize", "close")),
    "register_formats": ("format", ("suffix", "mime", "chapters", "write")),
    "register_runners": ("class", ("run",)),
}
"""Of each hook, what a registered item is (a class or an instance) and the members it
must have (see :mod:`voiceguide.extend` for what they do)."""
HOOKS: Final = tuple(REQUIRED)

BUILTIN_PLUGINS: Final = (
    "voiceguide.speech.espeak",
    "voiceguide.speech.piper",
    "voiceguide.speech.testtone",
    "voiceguide.export.mp3",
    "voiceguide.export.wav",
    "voiceguide.export.mp4",
    "voiceguide.export.opus",
    "voiceguide.pack.runners",
    "voiceguide.pack.dask_runner",
)
"""Modules of the built-in backends, registered the same way as outside plugins."""


@dataclass(frozen=True)
class Origin:
    """Where a registered backend comes from."""

    plugin: str
    """The plugin's name (its entry point's, or a built-in module's)."""
    distribution: str | None = None
    """The installed distribution (PyPI package) that provides it; None for built-ins
    and for plugins registered by hand."""
    version: str = ""
    """That distribution's version."""

    def __str__(self) -> str:
        if self.distribution is None:
            return f"plugin '{self.plugin}'"
        return f"plugin '{self.plugin}' ({self.distribution} {self.version})"


_manager: pluggy.PluginManager | None = None
_origins: dict[str, Origin] = {}
"""Of every plugin loaded from an entry point, by its name in the manager, its origin."""
_registered: dict[int, tuple[Any, Origin]] = {}
"""Every backend registered by a plugin that is not built in (by its id), with its
origin (the item is kept, so its id is never reused)."""
MAX_ITEMS: Final = 100
"""The most one plugin may register through one hook."""
NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
"""What a registered backend's name must be (it is typed on command lines)."""
SUFFIX: Final = re.compile(r"\.[a-z0-9]{1,10}")
"""What a registered format's file suffix must be."""
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Log a plugin warning once per process (registries are looked up many times)."""
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def plugin_manager() -> pluggy.PluginManager:
    """The plugin manager, with the built-ins and installed plugins loaded on first use."""
    global _manager
    if _manager is None:
        pm = _with_builtins()
        if not os.environ.get(NO_ENTRY_POINTS_ENV):
            _load_entry_points(pm)
        _manager = pm
    return _manager


def _with_builtins() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(Hooks)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name)
    return pm


_builtins: list[pluggy.PluginManager] = []
"""A manager of the built-ins alone, once made (for :func:`lookup`)."""


def lookup(hook: str, name: str) -> Any | None:
    """What is registered through ``hook`` under ``name``, or None. A built-in's name is
    found without loading the installed plugins (a plugin cannot take a built-in's name),
    so a build with built-in backends never waits for a plugin's imports (one that loads a
    neural network takes seconds) nor hears of one that is broken."""
    return find(hook, lambda item: bool(item.name == name))


def find(hook: str, match: Callable[[Any], bool]) -> Any | None:
    """The first of what is registered through ``hook`` that ``match`` accepts, or None:
    the built-ins' first, without loading the installed plugins (see :func:`lookup`)."""
    if _manager is None:
        if not _builtins:
            _builtins.append(_with_builtins())
        for item in _collect(_builtins[0], hook):
            if match(item):
                return item
    return next((item for item in collect(hook) if match(item)), None)


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register each installed plugin; one that cannot be loaded or registered is left
    out with a warning (the built-ins and the other plugins still load)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        origin = Origin(ep.name, dist.name if dist else None, dist.version if dist else "")
        fix = (f"pip uninstall {origin.distribution}, or " if dist else "") + \
            f"set {NO_ENTRY_POINTS_ENV}=1"
        try:
            plugin = ep.load()
        except (Exception, SystemExit) as exc:  # any failure of outside code
            warn_once(f"{origin} could not be loaded ({type(exc).__name__}: "
                      f"{str(exc)[:200]}) and is left out; {fix}")
            continue
        if pm.is_registered(plugin):
            continue
        # two distributions may pick the same entry-point name: both are loaded
        key = ep.name if pm.get_plugin(ep.name) is None else f"{origin.distribution}:{ep.name}"
        try:
            pm.register(plugin, key)
        except Exception as exc:  # e.g. a hook with arguments we never pass
            warn_once(f"{origin} could not be registered ({type(exc).__name__}: {exc}) "
                      f"and is left out; {fix}")
            continue
        _origins[key] = origin
        hooks = [opts.get("specname") or attr for attr in dir(plugin)
                 if (opts := pm.parse_hookimpl_opts(plugin, attr)) is not None]
        for hook in hooks:
            if hook not in HOOKS:
                warn_once(f"{origin} has a hook '{hook}' that voiceguide never calls; "
                          f"the hooks are {', '.join(HOOKS)}")
        if not hooks:
            warn_once(f"{origin} implements none of voiceguide's hooks "
                      f"({', '.join(HOOKS)}, each marked @hookimpl)")


def collect(hook: str) -> list[Any]:
    """Everything the plugins register through ``hook`` (e.g. ``'register_engines'``),
    the built-ins first. Of an installed plugin, an item without a name or a member it
    must have (:data:`REQUIRED`) or under a name already registered, and everything
    from a hook that raises, is left out with a warning; a built-in's failure is a bug
    and raises."""
    return _collect(plugin_manager(), hook)


def _collect(pm: pluggy.PluginManager, hook: str) -> list[Any]:
    items: list[Any] = []
    taken: dict[str, Origin] = {}
    suffixes: dict[str, str] = {}  # of formats: a suffix, the format's name
    # the built-ins first, whatever order pluggy keeps (a plugin's trylast hook came
    # before them, and a suffix it took made the built-in's a crash: a review)
    for impl in sorted(getattr(pm.hook, hook).get_hookimpls(),
                       key=lambda i: i.plugin_name not in BUILTIN_PLUGINS):
        builtin = impl.plugin_name in BUILTIN_PLUGINS
        origin = _origins.get(impl.plugin_name) or Origin(impl.plugin_name)
        got: list[Any] = []
        if builtin:
            impl.function(register=got.append)
        else:
            try:
                impl.function(**{a: got.append for a in impl.argnames})
            except (Exception, SystemExit) as exc:  # any failure of outside code
                warn_once(f"the {hook} hook of {origin} failed ({type(exc).__name__}: "
                          f"{str(exc)[:200]}); what it registers is left out")
                continue
            if len(got) > MAX_ITEMS:
                warn_once(f"{origin} registered {len(got)} items through {hook}; only the "
                          f"first {MAX_ITEMS} are taken")
                del got[MAX_ITEMS:]
        for item in got:
            try:
                name = getattr(item, "name", None)
                problem = _lacks(item, *REQUIRED[hook]) or (
                    None if type(name) is str and NAME.fullmatch(name) else
                    f"its name must be {NAME.pattern} (letters, digits, '.', '_', '-')") or (
                    _suffix_problem(item.suffix, suffixes) if hook == "register_formats"
                    else None)
            except Exception as exc:  # an item whose attributes raise
                name, problem = None, f"{type(exc).__name__}: {str(exc)[:200]}"
            if problem is not None and builtin:
                raise TypeError(f"built-in {impl.plugin_name}: {problem}")
            if problem is None and name in taken:
                first = taken[str(name)]
                problem = (f"'{name}' is already the name of "
                           + ("a built-in one" if first.plugin in BUILTIN_PLUGINS
                              else f"the one from {first}"))
            if problem is not None:
                warn_once(f"{origin} registered {_what(item)} through {hook}, which is "
                          f"left out: {problem}")
                continue
            taken[str(name)] = origin
            if hook == "register_formats":
                suffixes[item.suffix] = str(name)
            items.append(item)
            if not builtin:
                _registered.setdefault(id(item), (item, origin))
    return items


def _suffix_problem(suffix: Any, suffixes: dict[str, str]) -> str | None:
    """What is wrong with a format's ``suffix`` given those taken (a plugin review: a
    format with '.mp3' replaced a real MP3 track with its own file, without a word, and
    one without the dot wrote 'morning-hipsflac2flac2')."""
    if type(suffix) is not str or not SUFFIX.fullmatch(suffix):
        return (f"its suffix must be a dot and 1-10 lower-case letters or digits "
                f"('.flac'), not {str(suffix)[:40]!r}")
    if suffix in suffixes:
        return f"'{suffix}' is already the suffix of the {suffixes[suffix]} format"
    return None


def _what(item: Any) -> str:
    """A short name for a registered item, for messages."""
    if isinstance(item, type):
        return str(type.__getattribute__(item, "__name__"))[:80]  # past a metaclass
    try:
        name = getattr(item, "name", None)
    except Exception:  # its attributes raise
        return type(item).__name__
    return f"'{name}'" if isinstance(name, str) else f"{type(item).__name__} {item!r:.40}"


def origin_of(item: Any) -> Origin | None:
    """Where a registered backend comes from (None: built in)."""
    found = _registered.get(id(item))
    return found[1] if found is not None and found[0] is item else None


def _lacks(item: Any, kind: str, members: tuple[str, ...]) -> str | None:
    """What is wrong with a registered ``item`` that should be a ``kind`` ('class', or an
    instance) with ``members`` (None: nothing)."""
    if (kind == "class") != isinstance(item, type):
        return f"it is {'not ' if kind == 'class' else ''}a class"
    lacks = [m for m in members if not hasattr(item, m)]
    return f"{_what(item)} lacks {', '.join(lacks)}" if lacks else None


def package_version(name: str) -> str:
    """The installed version of PyPI package ``name`` ('missing' if it is not installed).
    Backends list the packages that decide their output, for manifests and hashes."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"
