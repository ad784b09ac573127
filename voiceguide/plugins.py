"""Plug points: speech engines, output formats and pack runners register here.

Like ``llm``'s ``register_models``, each kind of backend has one pluggy hook that is
handed a ``register`` callable. The built-in backends are plugins too: adding one is a
module with a ``@hookimpl`` function plus its line in :data:`BUILTIN_PLUGINS`. Other
packages plug in through the ``voiceguide`` entry-point group. Plugins are loaded on the
first registry lookup, so commands that need no backend never pay for them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any, Final

import pluggy

PROJECT: Final = "voiceguide"
ENTRY_POINT_GROUP: Final = "voiceguide"
"""Entry-point group other packages use to add engines, formats or runners."""
NO_ENTRY_POINTS_ENV: Final = "VOICEGUIDE_NO_PLUGINS"
"""Set to 1 to load only the built-in backends (skips installed plugins)."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[Any], None]


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

_manager: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The plugin manager, with the built-ins and installed plugins loaded on first use."""
    global _manager
    if _manager is None:
        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(Hooks)
        for name in BUILTIN_PLUGINS:
            pm.register(importlib.import_module(name), name)
        if not os.environ.get(NO_ENTRY_POINTS_ENV):
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        _manager = pm
    return _manager


def collect(hook: str) -> list[Any]:
    """Everything the plugins register through ``hook`` (e.g. ``'register_engines'``)."""
    items: list[Any] = []
    getattr(plugin_manager().hook, hook)(register=items.append)
    return items


def package_version(name: str) -> str:
    """The installed version of PyPI package ``name`` ('missing' if it is not installed).
    Backends list the packages that decide their output, for manifests and hashes."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"
