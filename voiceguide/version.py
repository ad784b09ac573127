"""The version of voiceguide (read by the build backend, written into tags and feeds)."""

__version__ = "0.3.6"
