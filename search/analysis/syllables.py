"""Vietnamese syllables: where the tone mark goes, so that hoà and hòa are one term."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Combining tone marks (huyền, sắc, ngã, hỏi, nặng); the other marks (^, breve, horn) make letters.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = frozenset("aăâeêioôơuưy")
_SHAPED_VOWELS = frozenset("ăâêôơư")
_CONSONANTS = frozenset("bcdđghklmnpqrstvxfjwz")
_FINALS = frozenset(("", "c", "ch", "m", "n", "ng", "nh", "p", "t"))
_TONED_LETTERS = frozenset(
    unicodedata.normalize("NFC", vowel + mark) for vowel in _VOWELS for mark in _TONE_MARKS
)


def _split_syllable(base: str) -> tuple[str, str, str] | None:
    """Split an untoned lowercase syllable into onset, vowel nucleus and final consonant.

    "qu" and "gi" before a vowel are onsets ("quý", "già"). Returns None for anything that is
    not shaped like a Vietnamese syllable (English words, numbers), which is then left alone.
    """
    start = 0
    while start < len(base) and base[start] in _CONSONANTS:
        start += 1
    if base[:2] in ("qu", "gi") and start <= 1 and len(base) > 2 and base[2] in _VOWELS:
        start = 2
    end = start
    while end < len(base) and base[end] in _VOWELS:
        end += 1
    onset, nucleus, final = base[:start], base[start:end], base[end:]
    if not nucleus or final not in _FINALS:
        return None
    return onset, nucleus, final


def _tone_position(nucleus: str, final: str) -> int:
    """Index of the vowel that carries the tone, in the old (majority) style: hòa, thủy, khỏe."""
    shaped = [i for i, vowel in enumerate(nucleus) if vowel in _SHAPED_VOWELS]
    if shaped:
        return shaped[-1]  # người, muốn, chuyện, rượu: the last shaped vowel
    if final or len(nucleus) == 1:
        return len(nucleus) - 1  # hoàng, huỳnh, toán
    return 1 if len(nucleus) >= 3 else 0  # ngoài, khuỷu / hòa, mùa, tài


# A memo of a pure text function (its answer depends on no index), bounded.
@lru_cache(maxsize=200_000)
def place_tone(syllable: str) -> str:
    """Put the tone mark of a lowercase syllable where the old style puts it.

    >>> place_tone("hoà"), place_tone("thuỷ"), place_tone("baỏ"), place_tone("lựơng")
    ('hòa', 'thủy', 'bảo', 'lượng')
    """
    if not any(letter in _TONED_LETTERS for letter in syllable):
        return syllable
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [mark for mark in decomposed if mark in _TONE_MARKS]
    if len(tones) != 1:
        return syllable
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    parts = _split_syllable(base)
    if parts is None:
        return syllable
    onset, nucleus, final = parts
    at = _tone_position(nucleus, final)
    toned = unicodedata.normalize("NFC", nucleus[at] + tones[0])
    return onset + nucleus[:at] + toned + nucleus[at + 1 :] + final
