"""The lake's storage: one fsspec filesystem rooted at LAKE_URL (a local folder or s3://bucket/prefix).

Objects are written once and never overwritten. On a local disk a write goes to a temporary name in
the same folder, is flushed and fsynced, then linked into place (which fails instead of replacing an
existing object) and the folder is fsynced; on an object store it is one whole PUT. Temporary names
start with a dot and end with ``.tmp``: every reader skips them and ``lake_verify`` sweeps them.
"""

import errno
import json
import os
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import fsspec
from django.conf import settings

# A catalogued key: {source}/{YYYY}/{MM}/{DD}/{name}.json.gz, nothing else (no "..", no absolute path).
KEY_RE = re.compile(r"[a-z0-9_]{1,64}/\d{4}/\d{2}/\d{2}/[0-9A-Za-z][0-9A-Za-z._-]{0,200}\.json\.gz")
# The original bytes of an envelope's batch live beside it: the same name ending in .raw.gz.
RAW_SUFFIX = ".raw.gz"
RAW_KEY_RE = re.compile(r"[a-z0-9_]{1,64}/\d{4}/\d{2}/\d{2}/[0-9A-Za-z][0-9A-Za-z._-]{0,200}\.raw\.gz")
TMP_SUFFIX = ".tmp"
# Storage folders that are not lake data (the health probe).
SKIP_TOP = {"_health"}


class LakeWriteError(OSError):
    """The lake could not store an object (disk full, no permission, storage down); nothing was left visible."""


def key_is_valid(key: str) -> bool:
    """An envelope's key (what the catalog lists)."""
    return bool(KEY_RE.fullmatch(key)) and ".." not in key


def raw_key_is_valid(key: str) -> bool:
    return bool(RAW_KEY_RE.fullmatch(key)) and ".." not in key


def raw_key_for(key: str) -> str:
    """Where the original bytes of the envelope ``key`` are kept."""
    return key.removesuffix(".json.gz") + RAW_SUFFIX


def _stored_key_is_valid(key: str) -> bool:
    return key_is_valid(key) or raw_key_is_valid(key)


def is_tmp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    mtime: float | None


@dataclass(frozen=True)
class LakeStorage:
    url: str
    fs: fsspec.AbstractFileSystem
    root: str

    def path(self, key: str) -> str:
        """Absolute storage path for a key relative to the lake root."""
        return f"{self.root.rstrip('/')}/{key.lstrip('/')}"

    @property
    def is_local(self) -> bool:
        return "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))

    @property
    def scheme(self) -> str:
        return "file" if self.is_local else self.url.split("://", 1)[0]

    def check_writable(self) -> None:
        """Write and remove a probe object; raises when the lake cannot be written."""
        key = f"_health/{uuid.uuid4().hex}.probe"
        path = self.path(key)
        if self.is_local:
            self.fs.makedirs(self.path("_health"), exist_ok=True)
        self.fs.pipe_file(path, b"ok")
        self.fs.rm_file(path)

    # -- writing ------------------------------------------------------------------------------------

    def write_new(self, key: str, data: bytes | Iterable[bytes]) -> None:
        """Store ``data`` (bytes, or chunks of them) under ``key`` atomically; never replaces an object.

        Raises FileExistsError when the key is taken (the caller picks another name) and
        LakeWriteError when storage refuses the write; in both cases nothing new is visible.
        """
        if not _stored_key_is_valid(key):
            raise ValueError(f"not a lake object key: {key!r}")
        if self.is_local:
            self._write_local(key, data)
        else:
            self._write_remote(key, data)

    def _safe_local_path(self, key: str) -> str:
        root = os.path.realpath(self.root)
        path = os.path.realpath(os.path.join(root, key))
        # The catalog is the only source of keys, but a tampered row must still never reach outside.
        if os.path.commonpath([root, path]) != root or path == root:
            raise ValueError(f"key {key!r} points outside the lake root")
        return path

    def _write_local(self, key: str, data: bytes) -> None:
        final = self._safe_local_path(key)
        folder, name = os.path.split(final)
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
        try:
            created = _makedirs_durable(folder)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                for chunk in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                # link() refuses to replace an existing name, unlike rename(): no overwrite, ever.
                os.link(tmp, final)
                os.unlink(tmp)
            except FileExistsError:
                os.unlink(tmp)
                raise
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                # Filesystems without hard links: rename (the unique name makes a clash practically impossible).
                if os.path.exists(final):
                    os.unlink(tmp)
                    raise FileExistsError(errno.EEXIST, "lake object exists", final) from exc
                os.replace(tmp, final)
            _fsync_dir(folder)
            for parent in created:
                _fsync_dir(os.path.dirname(parent))
        except FileExistsError:
            raise
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise LakeWriteError(
                exc.errno, f"could not write lake object {key} under {self.root}: {exc.strerror or exc}"
            ) from exc

    def _write_remote(self, key: str, data: bytes) -> None:
        path = self.path(key)
        try:
            self.fs.invalidate_cache(path)
            if self.fs.exists(path):
                raise FileExistsError(errno.EEXIST, "lake object exists", path)
            # One PUT: an object store never shows a partial object.
            self.fs.pipe_file(path, data if isinstance(data, bytes) else b"".join(data))
        except FileExistsError:
            raise
        except Exception as exc:  # botocore/aiohttp raise many kinds; callers get one clear error
            raise LakeWriteError(errno.EIO, f"could not write lake object {key} to {self.url}: {exc}") from exc

    # -- reading ------------------------------------------------------------------------------------

    def read(self, key: str) -> bytes:
        if not _stored_key_is_valid(key):
            raise ValueError(f"not a lake object key: {key!r}")
        if self.is_local:
            with open(self._safe_local_path(key), "rb") as fh:
                return fh.read()
        return self.fs.cat_file(self.path(key))

    def open(self, key: str):
        """A binary file object for streaming (downloads)."""
        if not _stored_key_is_valid(key):
            raise ValueError(f"not a lake object key: {key!r}")
        if self.is_local:
            return open(self._safe_local_path(key), "rb")  # the response closes it
        return self.fs.open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        if self.is_local:
            return os.path.isfile(self._safe_local_path(key))
        self.fs.invalidate_cache(self.path(key))
        return self.fs.exists(self.path(key))

    def delete(self, key: str) -> bool:
        """Remove one object; False when it was already gone."""
        if not _stored_key_is_valid(key):
            raise ValueError(f"not a lake object key: {key!r}")
        if self.is_local:
            try:
                os.unlink(self._safe_local_path(key))
            except FileNotFoundError:
                return False
            return True
        path = self.path(key)
        # S3 deletes of absent keys succeed silently: ask first, so retention can report lost objects.
        self.fs.invalidate_cache(path)
        if not self.fs.exists(path):
            return False
        self.fs.rm_file(path)
        return True

    def delete_tmp(self, key: str) -> None:
        """Remove a crash leftover (a name listed by ``walk``)."""
        if not is_tmp_name(key.rsplit("/", 1)[-1]):
            raise ValueError(f"not a temporary lake file: {key!r}")
        if self.is_local:
            path = self._safe_local_path(key)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        else:
            self.fs.rm_file(self.path(key))

    def prune_empty_folders(self, folders: set[str]) -> int:
        """Remove the given day folders and their month/year/source parents when empty (local only)."""
        if not self.is_local:
            return 0  # object stores have no folders
        removed = 0
        root = os.path.realpath(self.root)
        candidates = set()
        for folder in folders:
            parts = folder.strip("/").split("/")
            for depth in range(len(parts), 0, -1):
                candidates.add("/".join(parts[:depth]))
        # Deepest first, so a month folder is tried after its days.
        for rel in sorted(candidates, key=lambda f: f.count("/"), reverse=True):
            path = os.path.realpath(os.path.join(root, rel))
            if os.path.commonpath([root, path]) != root or path == root:
                continue
            try:
                os.rmdir(path)
                removed += 1
            except OSError:
                pass  # not empty, or gone
        return removed

    def walk(self) -> Iterator[StoredFile]:
        """Every file under the root (lake objects, temp leftovers, strangers), as keys."""
        if self.is_local:
            root = os.path.realpath(self.root)
            for dirpath, dirnames, filenames in os.walk(root):
                if dirpath == root:
                    dirnames[:] = [d for d in dirnames if d not in SKIP_TOP]
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    try:
                        st = os.stat(path)
                    except FileNotFoundError:
                        continue
                    yield StoredFile(os.path.relpath(path, root).replace(os.sep, "/"), st.st_size, st.st_mtime)
            return
        self.fs.invalidate_cache()  # s3fs caches listings; another process may have written
        root = self.root.rstrip("/")
        try:
            found = self.fs.find(root, detail=True)
        except FileNotFoundError:
            return
        for path, info in found.items():
            key = path[len(root) :].lstrip("/")
            if key.split("/", 1)[0] in SKIP_TOP:
                continue
            modified = info.get("LastModified")
            yield StoredFile(key, int(info.get("size") or 0), modified.timestamp() if modified else None)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _makedirs_durable(folder: str) -> list[str]:
    """Create ``folder`` and missing parents; return the created ones (their parents need an fsync)."""
    missing = []
    current = folder
    while not os.path.isdir(current) and current != "/":
        missing.append(current)
        current = os.path.dirname(current)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
    return missing


@cache
def _storage_for(url: str, options_json: str) -> LakeStorage:
    options = json.loads(options_json) if options_json else {}
    fs, root = fsspec.core.url_to_fs(url, **options)
    if "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        try:
            fs.makedirs(root, exist_ok=True)
        except OSError:
            pass  # reported by the first write (LakeWriteError) or the health check, with the path
    return LakeStorage(url=url, fs=fs, root=root)


def lake_storage() -> LakeStorage:
    """The lake for the current settings (re-read each call, so tests can point LAKE_URL elsewhere)."""
    return _storage_for(settings.LAKE_URL, settings.LAKE_STORAGE_OPTIONS_JSON)
