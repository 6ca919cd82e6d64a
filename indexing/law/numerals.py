"""Chinese numerals as the 刑法 writes them: article numbers (第三百零三条) and terms (十五年, 六个月).

A tiny reader instead of cn2an: statute numerals are small integers in one regular form, and the
law table is loaded by every process, so it should not pay for a general numeral library.
"""

from __future__ import annotations

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)


def cn_int(text: str) -> int:
    """'三百零三' → 303, '十五' → 15, '一百一十' → 110; ValueError names the text it cannot read."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
    return total + (digit or 0)
