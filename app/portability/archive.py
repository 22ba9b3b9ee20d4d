"""Bounded reading of an uploaded zip and of the JSON inside it: nothing in the file decides how much memory, CPU
or time the server spends on it.

- The archive is read from the uploaded stream (spooled to disk by the request parser), never copied whole.
- The number of entries, each entry's size and the total read are limited. Declared sizes are checked first (a
  cheap refusal of an honest 300 MB entry), then every read counts the bytes it actually gets, chunk by chunk,
  and stops one byte past the limit whatever the header says.
- JSON is parsed only if it makes at most :data:`MAX_JSON_OBJECTS` strings, arrays and objects (counted on the
  bytes first: Python objects take far more memory than their text), with bounded nesting (the C parser's
  RecursionError and any depth past :data:`MAX_JSON_DEPTH` are refusals), integers within ±2**53 (what every
  JSON reader represents exactly) and no NaN/Infinity; a problem names the place in the document
  (``experiences[0].team_size``).
"""

from __future__ import annotations

import json
import math
import zipfile
from typing import IO

from flask_babel import lazy_gettext as _l

from app.core.errors import UserError

MAX_MEMBERS = 5000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_JSON_DEPTH = 16
MAX_JSON_INTEGER = 2**53
#: Strings (keys included), arrays and objects: 5,000 records of about 30 fields each fit; 400,000 empty lists
#: or short strings take about 25 MB.
MAX_JSON_OBJECTS = 400_000
_CHUNK = 64 * 1024


class ImportRefused(UserError):
    """An export that cannot be imported (the archive breaks a limit, a record or a framework file is not valid);
    ``message`` is translated, ``details`` lists what is wrong and where."""

    def __init__(self, message, details=()):
        super().__init__(message)
        self.details = list(details)


class BoundedArchive:
    """A zip file whose entries are read with a size limit each and a limit on the total."""

    def __init__(self, source: IO[bytes], *, max_members: int = MAX_MEMBERS, max_total: int = MAX_TOTAL_BYTES):
        try:
            # The end record states the number of entries: refuse before parsing the whole directory.
            end = zipfile._EndRecData(source)
            declared, members = (end[zipfile._ECD_ENTRIES_TOTAL] if end else 0), []
            if declared <= max_members:
                self._zip = zipfile.ZipFile(source)
                members = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise ImportRefused(_l("This is not an Acquis export (a zip file with export.json).")) from None
        if declared > max_members or len(members) > max_members:
            raise ImportRefused(
                _l("This file has too many entries (at most %(max)d).", max=max_members),
                [str(max(declared, len(members)))],
            )
        self._members = {m.filename: m for m in members}
        self._left = max_total

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str, limit: int) -> bytes:
        """The content of entry ``name``, at most ``limit`` bytes; raises :class:`ImportRefused` otherwise."""
        info = self._members.get(name)
        if info is None:
            raise ImportRefused(_l("This export is damaged or incomplete."), [name])
        limit = min(limit, self._left)
        if info.file_size > limit:
            raise self._too_large(name, limit)
        parts, size = [], 0
        try:
            with self._zip.open(info) as entry:
                while chunk := entry.read(min(_CHUNK, limit + 1 - size)):
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large(name, limit)
                    parts.append(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            raise ImportRefused(_l("This export is damaged or incomplete."), [name]) from None
        self._left -= size
        return b"".join(parts)

    @staticmethod
    def _too_large(name: str, limit: int) -> ImportRefused:
        return ImportRefused(
            _l("An entry of this file is too large (at most %(size)s MB).", size=f"{limit / 1024 / 1024:g}"), [name]
        )


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _count_objects(raw: bytes) -> int:
    """An upper bound of the strings, arrays and objects a JSON text makes (bytes counts, no parsing).

    Numbers and literals are not counted: small integers, ``true``, ``false`` and ``null`` cost a reference each.
    Quotes and brackets inside strings only make the bound larger.
    """
    return raw.count(b'"') // 2 + raw.count(b"[") + raw.count(b"{")


def load_json(raw: bytes, origin: str):
    """Parse ``raw`` with the bounds above; raises :class:`ImportRefused` naming ``origin`` and the place."""
    # Python objects take far more memory than their JSON text (8 MB of "[]," become 180 MB of lists).
    if _count_objects(raw) > MAX_JSON_OBJECTS:
        message = _l("This file holds too many values (at most %(max)d).", max=MAX_JSON_OBJECTS)
        raise ImportRefused(message, [origin])
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ImportRefused(_l("This file is nested too deeply."), [origin]) from None
    except (ValueError, UnicodeDecodeError):  # includes integers of more than 4300 digits
        raise ImportRefused(_l("This export is damaged or incomplete."), [origin]) from None
    _check_tree(data, origin)
    return data


def _check_tree(data, origin: str) -> None:
    """Depth and number ranges, walked without recursion."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ImportRefused(_l("This file is nested too deeply."), [f"{origin}: {path}"])
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        elif (isinstance(value, int) and abs(value) > MAX_JSON_INTEGER) or (
            isinstance(value, float) and (not math.isfinite(value) or abs(value) > MAX_JSON_INTEGER)
        ):
            raise ImportRefused(_l("A number in this file is out of range."), [f"{origin}: {path}"])
