"""voiceguide: turn exercise routines into calm, exactly timed voice-guided audio tracks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voiceguide")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
