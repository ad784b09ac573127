"""Where a pack goes: a local folder, or any fsspec URL (``s3://bucket/prefix``,
``gcs://...``, ``file://...``).

Local folders are written with :mod:`voiceguide.io.atomic` (a track and its cue sheets
as one unit). Object stores have no atomic rename, so each file is uploaded under a
temporary key and then moved to its name, and a track counts as built only once the
manifest lists it: the manifest is written last, and lists completed tracks only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import OutputError, UsageError, VoiceguideError, option
from voiceguide.io.atomic import TMP_PREFIX, ensure_dir, write_bytes
from voiceguide.io.bounded import file_digest, read_bounded
from voiceguide.io.paths import path_arg
from voiceguide.limits import MAX_MANIFEST_BYTES

REMOTE_EXTRA: Final = "pip install 'voiceguide[storage]'"
"""What installs the fsspec back ends for object storage."""


@dataclass(frozen=True)
class LocalDest:
    """A folder on this machine (or one every worker mounts)."""

    path: Path

    @property
    def local(self) -> Path | None:
        """The folder, for writers that need a path."""
        return self.path

    def __str__(self) -> str:
        return str(self.path)

    def child(self, name: str) -> LocalDest:
        """The folder ``name`` inside this one (a plain name, checked by the caller); a
        symbolic link there is refused, so nothing is written or deleted through it."""
        path = self.path / name
        if path.is_symlink():
            raise OutputError(f"{path}: is a symbolic link; a listener's folder must be a "
                              "real folder inside the pack: remove the link and run again")
        return LocalDest(path)

    def prepare(self) -> None:
        """Create the folder."""
        ensure_dir(self.path)

    def listing(self) -> dict[str, int]:
        """Regular files directly in the folder (no symlinks), with their sizes."""
        out: dict[str, int] = {}
        try:
            with os.scandir(self.path) as it:
                for e in it:
                    st = e.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        out[e.name] = st.st_size
        except OSError:
            pass
        return out

    def digest(self, name: str) -> str | None:
        """SHA-256 of a regular file in the folder (None if it is missing or not regular)."""
        p = self.path / name
        try:
            if not stat.S_ISREG(p.lstat().st_mode):
                return None
            return file_digest(p)
        except OSError:
            return None

    def read_bytes(self, name: str) -> bytes | None:
        """A file's bytes, or None (also for anything but a regular file, or one larger
        than :data:`~voiceguide.limits.MAX_MANIFEST_BYTES`: the tool only reads back its
        own manifests, journals and cue sheets)."""
        try:
            return read_bounded(self.path / name, "pack", MAX_MANIFEST_BYTES)
        except VoiceguideError:
            return None

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write a file atomically."""
        write_bytes(self.path / name, data)

    def put(self, files: Iterable[Path]) -> None:
        """Move finished local files into the folder (each rename atomic)."""
        for f in files:
            if f.parent != self.path:
                try:
                    os.replace(f, self.path / f.name)
                except OSError as exc:
                    raise OutputError(f"{self.path / f.name}: cannot write ({exc.strerror})"
                                      ) from None

    def remove(self, name: str) -> None:
        """Delete a regular file (never follows a symlink)."""
        p = self.path / name
        try:
            if stat.S_ISREG(p.lstat().st_mode):
                p.unlink()
        except OSError:
            pass


@dataclass(frozen=True)
class RemoteDest:
    """An fsspec URL: objects are uploaded under a temporary key, then moved."""

    url: str
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def local(self) -> Path | None:
        """None: not a local folder."""
        return None

    def __str__(self) -> str:
        return self.url

    def child(self, name: str) -> RemoteDest:
        """The prefix ``name`` under this one (a plain name, checked by the caller)."""
        return RemoteDest(f"{self.url}/{name}", self.options)

    def _fs(self) -> tuple[Any, str]:
        try:
            import fsspec
        except ImportError:
            raise UsageError(f"{option('out_dir', self.url, '--out', bare=True)}: writing to a "
                             f"URL needs fsspec; {REMOTE_EXTRA}") from None
        # settings may come from FSSPEC_<PROTOCOL>_<OPTION> variables set after import
        fsspec.config.set_conf_env(fsspec.config.conf)
        try:
            fs, root = fsspec.core.url_to_fs(self.url, **self.options)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"{option('out_dir', self.url, '--out', bare=True)}: {exc}; "
                             f"{REMOTE_EXTRA}") from None
        return fs, str(root).rstrip("/")

    def _fail(self, name: str, exc: Exception) -> OutputError:
        return OutputError(f"{self.url}/{name}: cannot write ({exc})")

    def prepare(self) -> None:
        """Check the location answers (buckets are not created)."""
        fs, root = self._fs()
        try:
            fs.makedirs(root, exist_ok=True)
        except Exception as exc:  # object stores: any client error
            if not fs.exists(root.split("/")[0]):
                raise OutputError(f"{self.url}: cannot write there ({exc})") from None

    def listing(self) -> dict[str, int]:
        """Objects directly under the prefix, with their sizes."""
        fs, root = self._fs()
        try:
            found = fs.ls(root, detail=True, refresh=True)
        except (FileNotFoundError, OSError):
            return {}
        out: dict[str, int] = {}
        for info in found:
            if info.get("type") == "file":
                out[str(info["name"]).rstrip("/").rsplit("/", 1)[-1]] = int(info.get("size", 0))
        return out

    def digest(self, name: str) -> str | None:
        """SHA-256 of an object, read in blocks (a track is tens of megabytes)."""
        fs, root = self._fs()
        h = hashlib.sha256()
        try:
            with fs.open(f"{root}/{name}", "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
        except (FileNotFoundError, OSError):
            return None
        return h.hexdigest()

    def read_bytes(self, name: str) -> bytes | None:
        """An object's bytes, or None (also for one larger than
        :data:`~voiceguide.limits.MAX_MANIFEST_BYTES`, checked before it is read: the tool
        only reads back its own manifests, journals and cue sheets)."""
        fs, root = self._fs()
        try:
            if int(fs.size(f"{root}/{name}") or 0) > MAX_MANIFEST_BYTES:
                return None
            data: bytes = fs.cat_file(f"{root}/{name}")
        except (FileNotFoundError, OSError):
            return None
        return data if len(data) <= MAX_MANIFEST_BYTES else None  # grown since

    def write_bytes(self, name: str, data: bytes) -> None:
        """Upload under a temporary key, then move it to ``name``."""
        fs, root = self._fs()
        tmp = f"{root}/{TMP_PREFIX}{secrets.token_hex(6)}-{name}"
        try:
            fs.pipe_file(tmp, data)
            fs.mv(tmp, f"{root}/{name}")
        except Exception as exc:  # object stores: any client error
            raise self._fail(name, exc) from None

    def put(self, files: Iterable[Path]) -> None:
        """Upload local files: all under temporary keys first, then each moved in place."""
        fs, root = self._fs()
        moves: list[tuple[str, str]] = []
        try:
            for f in files:
                tmp = f"{root}/{TMP_PREFIX}{secrets.token_hex(6)}-{f.name}"
                fs.put_file(str(f), tmp)
                moves.append((tmp, f"{root}/{f.name}"))
            for tmp, final in moves:
                fs.mv(tmp, final)
        except Exception as exc:  # object stores: any client error
            for tmp, _ in moves:
                with contextlib.suppress(Exception):  # best effort on the way out
                    fs.rm(tmp)
            raise OutputError(f"{self.url}: cannot upload ({exc})") from None

    def remove(self, name: str) -> None:
        """Delete an object."""
        fs, root = self._fs()
        with contextlib.suppress(FileNotFoundError, OSError):
            fs.rm(f"{root}/{name}")


Destination = LocalDest | RemoteDest
"""Where a pack's files go."""


def is_url(out: str | Path) -> bool:
    """Whether ``out`` names an fsspec URL rather than a local folder."""
    return isinstance(out, str) and "://" in out


def destination(out: str | Path) -> Destination:
    """The destination ``--out`` names: a folder, ``file://`` path or an fsspec URL."""
    if not isinstance(out, str):  # a path-like (or something else: said as such)
        return LocalDest(path_arg(out, "out_dir"))
    if "\0" in out:
        raise UsageError("out_dir: a path cannot hold a NUL character")
    if out.startswith("file://"):
        return LocalDest(Path(out[len("file://"):]))
    if is_url(out):
        return RemoteDest(out.rstrip("/"))
    return LocalDest(Path(out))
