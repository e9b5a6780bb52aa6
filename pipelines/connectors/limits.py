"""Bounds on what one input may cost: decompressed size (zip members, gzip bodies) and JSON nesting.

Everything here refuses in one line naming the limit, before the memory is spent: a zip's members are
summed from its directory (``ZipInfo.file_size``) before any is read, then read in bounded chunks
that stop at the cap, since a crafted directory may lie about sizes.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable

import orjson
from django.conf import settings

CHUNK = 1024 * 1024
# orjson stores at most 255 levels; well under it, so an envelope around the data still fits.
MAX_DEPTH = 200


def payload_cap() -> int:
    """MAX_PAYLOAD_BYTES: the most decompressed bytes one input may hold."""
    return int(settings.MAX_PAYLOAD_BYTES)


def over_cap(what: str, size: int, cap: int) -> str:
    return f"{what}: {size:,} bytes decompressed is over the MAX_PAYLOAD_BYTES cap of {cap:,} bytes; refused"


def zip_members_read(
    data: bytes, *, filename: str, want: Callable[[zipfile.ZipInfo], bool], cap: int | None = None
) -> tuple[list[tuple[str, bytes]], str | None]:
    """(name, bytes) of the wanted members of a zip, or an error line; never more than ``cap`` bytes."""
    cap = payload_cap() if cap is None else cap
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir() and want(m)]
        declared = sum(m.file_size for m in members)
        if declared > cap:
            return [], over_cap(f"{filename} ({len(members)} member(s))", declared, cap)
        out, total = [], 0
        for member in members:
            chunks = []
            with archive.open(member) as handle:
                while chunk := handle.read(CHUNK):
                    total += len(chunk)
                    if total > cap:
                        return [], over_cap(f"{filename} (its directory understates the sizes)", total, cap)
                    chunks.append(chunk)
            out.append((member.filename, b"".join(chunks)))
        return out, None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, zlib.error) as exc:
        return [], f"{filename}: not a readable zip: {exc}"


def nesting_too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests lists/dicts more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False


def json_decode(data: bytes | str) -> tuple[object, str | None]:
    """(value, None) or (None, one-line reason): orjson (no recursion error), depth-checked, BOM-tolerant."""
    if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return None, str(exc).splitlines()[0]
    if nesting_too_deep(value):
        return None, f"nested more than {MAX_DEPTH} levels deep"
    return value, None
