"""The hostile requests of bench/hostile.py: seeded generators, one per family (see there)."""

from __future__ import annotations

import random
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common import DANTRI, NEWS, load_docs, strip_accents, words

MAX_Q = 500  # the server's max_query_chars
MAX_URL = 8192  # the app refuses longer URLs with 414

OPERATORS = [
    "AND", "OR", "NOT", "-", "+", '"', "(", ")", "^", "~", ":", "[", "]", "{", "}", "\\", "*",
    "&&", "||", "!", "TO", "?", "/", "'", "`", ";", "%", "&", "=", "#", "|",
]  # fmt: skip
CONTROLS = [
    "\x00", "\u202e", "\u202d", "\u200b", "\u200c", "\u200d", "\ufeff", "\u2028", "\u2029",
    "\x85", "\xad", "\t", "\r\n", "\x1b", "\x7f", "\ufffd", "\uffff", "\U0001f600", "\u0301",
    "\u2066", "\u061c", "\u3000",
]  # fmt: skip
BAD_BYTES = [
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xc0\x80",
    b"\xf0\x80\x80\xaf", b"\xe0\xa4", b"\xff", b"\xfe\xff", b"\x80", b"\xf4\x90\x80\x80",
    b"\xed\xa0\x80\xed\xb0\x80",
]  # fmt: skip
INJECTIONS = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'onmouseover=alert(1) x='",
    "</title><script>alert(1)</script>", "{{7*7}}", "${7*7}", "&lt;script&gt;", "<!--",
    "javascript:alert(1)", "%0d%0aSet-Cookie:x=1", "\r\nSet-Cookie: x=1", "' OR 1=1 --",
    "\"; DROP TABLE articles; --", "{% raw %}", "<svg/onload=alert(1)>", "../../etc/passwd",
]  # fmt: skip
WILDCARDS = [
    "*a*", "a*", "*", "?", "*ng", "n*", "??", "a?c*", "*:*", "**", "*?*", "?*", "ng*", "*nh",
    "a*b", "tr?n", "việ*", "đ*", "*đ*",
]  # fmt: skip
RANGES = [
    "[a TO zzzz]", "{a TO}", "[TO z]", "{* TO *}", "title:[a TO z]", "published:[2020 TO 2030]",
    "date:[2020-13-45 to x]", "[a to z]", "[0 TO 99999999]", "{a TO z}", "[* TO *]",
    "date:today", "published:>2020", "[a TO]", "id:[0 TO f]",
]  # fmt: skip
FUZZY = ["n~9/0", "a~2/0", "nguyen~2", "n~", "~", "~~~", "a~99999999999", "n~1e308", "x~-1"]
REGEXES = ['r"(a+)+b"', 'r".*"', 'r"(a|aa)*c"', "/.*/", "/(a+)+b/", 'r"' + "a" * 30 + '"']
FIELDS = [
    "nosuch:x", "id:*", "body:*", "title:*", "id:baomoi-*", "source:*", "category:*", "url:*",
    "author:*", "published:today", "date:today", "nosuchfield:{w}", "title:{w}", "summary:{w}",
    "body:{w}", "id:{w}", "title:", ":{w}", "title:title:{w}", "TITLE:{w}", "_folded:{w}",
    "title_folded:{w}", "body_bigram:{w}", "source:\"{w}\"", "category:-{w}",
]  # fmt: skip
BOOSTS = ["x^1e308", "x^-1", "{w}^1000000", "{w}^NaN", "{w}^inf", "{w}^", "^{w}", "{w}^0"]
PAGES = [
    "0", "-1", "abc", "1.5", " 1", "１", "1000000000", "9" * 5000, "", "2", "3", "500", "10000",
    "1e3", "0x10", "+1", "01", "٣", "²", "1 ", "%", "NaN",
]  # fmt: skip
PER_PAGES = ["0", "101", "10000000", "100", "1", "-5", "20", "1e2", "", "50", "99", "abc"]
SORTS = [
    "relevance", "newest", "oldest", "nosuch", "body", "", "published", "NEWEST", "-published",
    "score", "title", "<script>",
]  # fmt: skip
DATES = [
    "2025", "2025-13", "2020-13-45", "0000", "9999-12-31", "1/1/1", "31/2/2025", "2026-02-29",
    "x", "-1", "2025-01-01T00:00:00", "１９９９", "", "99999", "2021-04-31", "0001-01-01",
    "2025-06", "1/6/2025", "29/2/2024", "2025/06/01", "today", "1e10", "\x00", "2025-1-1",
    "32/1/2025", "2020-02-30",
]  # fmt: skip
FACETS = ["true", "false", "year,category", "nosuch", "", "year,year", "1", "none", ","]

FAMILIES = {
    "operators": 90, "wildcards": 60, "ranges": 50, "fuzzy": 45, "regex": 30, "fields": 60,
    "boosts": 25, "controls": 80, "encoding": 80, "long": 60, "parens": 45, "ors": 45,
    "costly": 70, "injection": 40, "params": 120,
}  # fmt: skip


class Raw(str):
    """A value sent exactly as written (already percent-encoded, or malformed on purpose)."""


Value = str | bytes


@dataclass
class Case:
    family: str
    params: list[tuple[str, Value]]
    must_400: bool = False
    why_400: str = ""
    allow_414: bool = False  # a URL over MAX_URL: the app's URL limit answers before q is read
    # filled in by the run
    status: int = 0
    ms: float = 0.0
    content_type: str = ""
    problem: str = ""
    partial: bool = False
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return "/api/search?" + "&".join(f"{name}={encode(v)}" for name, v in self.params)


def encode(value: Value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bytes):
        return urllib.parse.quote_from_bytes(value, safe="")
    return urllib.parse.quote_plus(value, safe="", errors="surrogatepass")


class Maker:
    """Seeded generators, one per family; words come from corpus titles."""

    def __init__(self, vocabulary: list[str], seed: int) -> None:
        self.rng = random.Random(f"{seed}:hostile")
        self.vocabulary = vocabulary
        self.common = vocabulary[:200]  # the most frequent words first

    def word(self, accented: bool | None = None) -> str:
        w = self.rng.choice(self.vocabulary)
        if accented is None:
            accented = self.rng.random() < 0.5
        return w if accented else strip_accents(w)

    def words(self, lo: int = 1, hi: int = 3) -> str:
        return " ".join(self.word() for _ in range(self.rng.randint(lo, hi)))

    def fill(self, template: str) -> str:
        return template.replace("{w}", self.word())

    def case(self, family: str) -> Case:
        q: Value = getattr(self, "q_" + family)()
        params: list[tuple[str, Value]] = [("q", q)]
        if family == "params":
            params += self.hostile_params(always=True)
        elif self.rng.random() < 0.33:
            params += self.hostile_params(always=False)
        case = Case(family, params)
        if isinstance(q, str) and not isinstance(q, Raw) and len(q.strip()) > MAX_Q:
            case.must_400, case.why_400 = True, f"q has {len(q.strip())} characters"
        return case

    # --- families of q ---------------------------------------------------------------------

    def q_operators(self) -> str:
        parts = []
        for _ in range(self.rng.randint(1, 8)):
            if self.rng.random() < 0.5:
                parts.append(self.rng.choice(OPERATORS))
            elif self.rng.random() < 0.5:
                parts.append(self.rng.choice(OPERATORS) + self.word() + self.rng.choice(OPERATORS))
            else:
                parts.append(self.word())
        joiner = self.rng.choice((" ", "", "  "))
        return joiner.join(parts)

    def q_wildcards(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(WILDCARDS)
        w = self.word()
        if r < 0.65:
            return w[:3] + "*"
        if r < 0.8:
            return "*" + w
        if r < 0.9:
            return w[:1] + "?" + w[2:] if len(w) > 2 else w + "?"
        return f"{self.words()} {self.rng.choice(WILDCARDS)}"

    def q_ranges(self) -> str:
        base = self.rng.choice(RANGES)
        return base if self.rng.random() < 0.7 else f"{self.word()} {base}"

    def q_fuzzy(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(FUZZY)
        if r < 0.7:
            return f"{self.word()}~{self.rng.choice(('2', '9', '2/0', '9/0', '1/1', ''))}"
        return f'"{self.words(2, 4)}"~{self.rng.choice(("100", "1", "0", "-1", "1e9"))}'

    def q_regex(self) -> str:
        return self.rng.choice(REGEXES)

    def q_fields(self) -> str:
        return self.fill(self.rng.choice(FIELDS))

    def q_boosts(self) -> str:
        return self.fill(self.rng.choice(BOOSTS))

    def q_controls(self) -> str:
        text = list(self.words(1, 4))
        for _ in range(self.rng.randint(1, 4)):
            text.insert(self.rng.randint(0, len(text)), self.rng.choice(CONTROLS))
        if self.rng.random() < 0.1:
            return self.rng.choice(CONTROLS) * self.rng.randint(1, 50)
        return "".join(text)

    def q_encoding(self) -> Value:
        r = self.rng.random()
        if r < 0.1:
            return Raw(self.rng.choice(("%E0%A4%A", "%", "%%", "%zz", "%E0%A4%A%41", "%u202E")))
        text = self.words(1, 3).encode("utf-8")
        for _ in range(self.rng.randint(1, 3)):
            cut = self.rng.randint(0, len(text))
            text = text[:cut] + self.rng.choice(BAD_BYTES) + text[cut:]
        return text

    def q_long(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            size = self.rng.choice((499, 500, 500, 500))
        elif r < 0.7:
            size = self.rng.choice((501, 502, 600, 1000, 1500))
        else:
            size = self.rng.randint(400, 1200)
        style = self.rng.choice(("words", "one", "stars", "letters", "accents"))
        if style == "words":
            text = ""
            while len(text) < size:
                text += self.word() + " "
        elif style == "one":
            text = self.word() * (size // 2 + 2)
        elif style == "stars":
            text = "a*" * (size // 2 + 1)
        elif style == "letters":
            text = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(size))
        else:
            text = "ệ" * size
        text = text[:size]
        # The server strips the ends: keep them visible so the length is what was sent.
        return "x" + text[1:-1] + "x" if size > 2 else text

    def q_parens(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            return "(" * 1000 + self.word() + ")" * 1000
        if r < 0.65:
            depth = self.rng.randint(10, 240)
            return "(" * depth + self.word()[:10] + ")" * depth
        if r < 0.85:
            return self.rng.choice("()[]{}") * self.rng.randint(1, 500)
        return "(" * self.rng.randint(1, 200) + self.words()

    def q_ors(self) -> str:
        r = self.rng.random()
        letters = "abcdefghijklmnopqrstuvwxyz"
        if r < 0.2:
            return " OR ".join(self.word() for _ in range(2001))  # 2,000 ORs
        if r < 0.4:  # 1,500 ORs of letters: over 500 characters, still under MAX_URL
            return " OR ".join(self.rng.choice(letters) for _ in range(1501))
        if r < 0.7:
            return " OR ".join(self.rng.choice(letters) for _ in range(100))
        if r < 0.85:
            return "NOT " * self.rng.randint(1, 120) + self.word()
        return " ".join(f"-{self.word()}" for _ in range(self.rng.randint(5, 60)))[:MAX_Q]

    def q_costly(self) -> str:
        r = self.rng.random()
        if r < 0.25:
            picks = [w for w in self.vocabulary if len(strip_accents(w)) >= 3]
            text = " ".join(f"{self.rng.choice(picks)}~2" for _ in range(40))
        elif r < 0.5:
            stems = [strip_accents(w)[:3] for w in self.common if len(strip_accents(w)) >= 3]
            text = " OR ".join(f"{self.rng.choice(stems)}*" for _ in range(40))
        elif r < 0.65:
            stems = [strip_accents(w)[:3] for w in self.common if len(strip_accents(w)) >= 3]
            text = " ".join(f"{self.rng.choice(stems)}*" for _ in range(40))
        elif r < 0.8:
            text = " ".join(f'"{self.common_words(2)}"' for _ in range(20))
        else:
            text = " ".join(self.rng.choice(self.common) for _ in range(60))
        cut = text[:MAX_Q]
        return cut[: cut.rfind(" ")] if " " in cut else cut

    def common_words(self, n: int) -> str:
        return " ".join(self.rng.choice(self.common) for _ in range(n))

    def q_injection(self) -> str:
        bad = self.rng.choice(INJECTIONS)
        return bad if self.rng.random() < 0.6 else f"{self.word()} {bad}"

    def q_params(self) -> str:
        return self.words(1, 3) if self.rng.random() < 0.85 else ""

    # --- other parameters ------------------------------------------------------------------

    def hostile_params(self, always: bool) -> list[tuple[str, Value]]:
        out: list[tuple[str, Value]] = []
        choices = [
            ("page", PAGES),
            ("per_page", PER_PAGES),
            ("sort", SORTS),
            ("from", DATES),
            ("to", DATES),
            ("facets", FACETS),
        ]
        for name, values in choices:
            if self.rng.random() < (0.5 if always else 0.3):
                out.append((name, self.rng.choice(values)))
                if self.rng.random() < 0.05:
                    out.append((name, self.rng.choice(values)))  # repeated
        if self.rng.random() < 0.15:
            name = self.rng.choice(("category", "source", "author"))
            value = self.rng.choice(
                ("Thể thao", "Tuổi Trẻ", "<script>", "\x00", "nosuch", "*", "a" * 300, "")
            )
            out.append((name, value))
        if always and not out:
            out.append(("page", self.rng.choice(PAGES)))
        return out


def make_cases(vocabulary: list[str], n: int, seed: int) -> list[Case]:
    """n cases in the FAMILIES proportions (each family at least once), shuffled."""
    maker = Maker(vocabulary, seed)
    total = sum(FAMILIES.values())
    cases: list[Case] = []
    for family, share in FAMILIES.items():
        for _ in range(max(1, round(n * share / total))):
            cases.append(maker.case(family))
    maker.rng.shuffle(cases)
    cases = cases[:n]
    while len(cases) < n:
        cases.append(maker.case(maker.rng.choice(list(FAMILIES))))
    # Keep to URLs the app treats as queries (longer ones are a 414 by design): drop the extra
    # parameters, else draw again; only the 2,000 ORs stay longer (400 or a JSON 414 is right).
    for i, case in enumerate(cases):
        tries = 0
        while len(case.path) >= MAX_URL - 64 and tries < 100:
            if len(case.params) > 1:
                case.params = case.params[:1]
            elif case.family == "ors":
                case.allow_414 = True
                break
            else:
                case = maker.case(case.family)
                tries += 1
        cases[i] = case
    return cases


def warmup_paths(vocabulary: list[str], seed: int, n: int = 32) -> list[str]:
    """Ordinary searches (two common words, facets on) and browse pages."""
    rng = random.Random(f"{seed}:warmup")
    paths = ["/api/search?sort=newest", "/api/search?q="]
    while len(paths) < n:
        words = " ".join(rng.choice(vocabulary[:2000]) for _ in range(2))
        paths.append("/api/search?q=" + urllib.parse.quote_plus(words))
    return paths


def vocabulary_from_titles(seed: int) -> list[str]:
    """Title words of the corpus, most frequent first (no text is kept beyond the run)."""
    counts: Counter[str] = Counter()
    for doc in load_docs([NEWS, DANTRI]):
        counts.update(w.lower() for w in words(doc.title))
    ranked = [w for w, _ in counts.most_common(20_000)]
    rng = random.Random(f"{seed}:vocabulary")
    head, tail = ranked[:200], ranked[200:]
    rng.shuffle(tail)
    return head + tail
