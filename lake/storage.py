"""The lake's storage: one fsspec filesystem rooted at LAKE_URL (a local folder or s3://bucket/prefix)."""

import json
import uuid
from dataclasses import dataclass
from functools import cache

import fsspec
from django.conf import settings


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

    def check_writable(self) -> None:
        """Write and remove a probe object; raises when the lake cannot be written."""
        key = f"_health/{uuid.uuid4().hex}.probe"
        path = self.path(key)
        if self.is_local:
            self.fs.makedirs(self.path("_health"), exist_ok=True)
        self.fs.pipe_file(path, b"ok")
        self.fs.rm_file(path)


@cache
def _storage_for(url: str, options_json: str) -> LakeStorage:
    options = json.loads(options_json) if options_json else {}
    fs, root = fsspec.core.url_to_fs(url, **options)
    if "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        fs.makedirs(root, exist_ok=True)
    return LakeStorage(url=url, fs=fs, root=root)


def lake_storage() -> LakeStorage:
    """The lake for the current settings (re-read each call, so tests can point LAKE_URL elsewhere)."""
    return _storage_for(settings.LAKE_URL, settings.LAKE_STORAGE_OPTIONS_JSON)
