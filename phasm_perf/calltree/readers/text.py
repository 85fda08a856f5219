"""Opening profile text: UTF-8 or UTF-16 (with BOM), LF or CRLF, streamed line by line."""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import Iterator

from ...core.errors import PhasmError, input_error


def head_bytes(path: Path, n: int = 65536) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except FileNotFoundError:
        raise PhasmError(f"{str(path)!r} not found") from None
    except IsADirectoryError:
        raise PhasmError(f"{str(path)!r} is a directory, not a profile file") from None
    except OSError as exc:
        raise input_error(path, exc) from None


def encoding_of(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def head_text(path: Path, n: int = 65536) -> str:
    """The start of a file as text (for format detection), CRLF folded to LF."""
    head = head_bytes(path, n)
    return head.decode(encoding_of(head), errors="replace").replace("\r\n", "\n")


def read_text(path: Path) -> str:
    """A whole (small) text file, decoded from its BOM (UTF-8 default), CRLF folded; one-line errors."""
    enc = encoding_of(head_bytes(path, 4))
    try:
        with io.open(path, encoding=enc, errors="replace", newline=None) as fh:
            return fh.read()
    except OSError as exc:
        raise input_error(path, exc) from None


def open_text_lines(path: Path) -> Iterator[str]:
    """The lines of a text file, each ending in ``\\n`` (CRLF folded), decoded from its BOM (UTF-8 default)."""
    enc = encoding_of(head_bytes(path, 4))
    with io.open(path, encoding=enc, errors="replace", newline=None) as fh:
        yield from fh


__all__ = ["head_bytes", "head_text", "encoding_of", "open_text_lines", "read_text"]
