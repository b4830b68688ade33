"""Text from servers, files and the network shown safely: control characters (ANSI escape
sequences, OSC 52 clipboard writes, title changes, bells, NUL) become visible symbols instead of
reaching the terminal. Applied where text is displayed; transcripts keep exactly what was sent."""

from __future__ import annotations

_KEEP = {"\n", "\t"}
_VISIBLE = {code: chr(0x2400 + code) for code in range(0x20)}  # ␀ ␁ … ␛ …, the Unicode control pictures
_VISIBLE[0x7F] = "\u2421"  # ␡


def _picture(code: int) -> str:
    # C1 controls (0x80-0x9f) have no picture. One character for one keeps offsets (search
    # highlights) valid.
    return _VISIBLE.get(code, "\ufffd")


_TABLE = {code: _picture(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in _KEEP}


def visible(text: str) -> str:
    """`text` with every control character but newline and tab replaced by a visible stand-in."""
    return text.translate(_TABLE)


def one_line(text: str) -> str:
    """`visible(text)` on a single line, for titles, sidebar labels and status lines."""
    return visible(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, the last one an ellipsis when it was longer."""
    return text if len(text) <= width else text[: width - 1] + "…"
