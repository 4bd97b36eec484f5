"""Hostile queries: 1,000 seeded random nasty requests to /api/search; each must be answered
with 200 or 400 (JSON) in under 3 s.

Against a running server (--url http://127.0.0.1:PORT) or one it starts itself on the index
(--index-dir, --workers; stopped with SIGTERM at the end). The requests (seeded; words drawn
from corpus titles at run time) come from these families:

  operators   AND OR NOT - + " ( ) ^ ~ : [ ] { } \\ * && || ! among words
  wildcards   *a*  a*  *  ?  *ng  word*  w?rd  prefixes of 3 letters
  ranges      [a TO zzzz]  {a TO}  title:[a TO z]  date:[2020-13-45 to x]
  fuzzy       n~9/0  a~2/0  word~2  "a b"~100
  regex       r"(a+)+b"  r".*"  /(a+)+b/
  fields      nosuch:x  id:*  body:*  title:*  id:baomoi-*  url:*
  boosts      x^1e308  x^-1  word^NaN
  controls    NUL, U+202E, U+200B-D, U+FEFF, U+2028, CR LF, ESC ... inside words
  encoding    lone surrogates (%ED%A0%80), overlong UTF-8 (%C0%AF, %E0%80%AF, %C0%80),
              truncated sequences, %FF, a malformed escape (%E0%A4%A)
  long        500-character strings (200 or 400) and 501+ (must be 400)
  parens      1,000-deep (2,001 characters: must be 400), deep but under 500, unbalanced
  ors         2,000 ORs and 1,500 ORs of letters (over 500 characters: must be 400; the
              2,000 ORs make a URL over 8,192 characters, where the app's JSON 414 is right
              too); 100 ORs, NOT chains
  costly      what the parser accepts but may cost: 32 fuzzy words, 32 three-letter prefixes
              OR-ed, phrases of common syllables, 32 common words
  injection   <script>, "><img onerror>, {{7*7}}, ${7*7}, %0d%0aSet-Cookie ...
  params      ordinary words with hostile page/per_page/sort/from/to/category/source/facets

About a third of the other requests also get random page/per_page/sort/from/to values. Apart
from the 2,000 ORs, only URLs under 8,192 characters are sent (longer ones are a 414 by
design, before the query is read).

Requests go one at a time by default. A request that gets no answer in 15 s is a violation;
the server this run started is then restarted (SIGTERM, wait), since the request would keep a
worker busy and slow every later one; afterwards each violating request is sent again alone
on an idle server ("alone"), to tell slow requests from requests slowed by an earlier one.
After each start a self-started server gets 32 ordinary searches, 8 at a time (not measured),
so that no hostile request pays for the cold start of a worker (1-2 s on the full index).

A violation: a status other than 200 or 400, a body that is not JSON (or a 400 without the
error shape), an answer in 3 s or more (or none: timeout, reset), or a 200 for a request that
must be a 400. Prints counts per status and per family, p50/p99/max latency, and every
violation with its exact request; exits 1 when there is any.

    .venv/bin/python bench/hostile.py                    # starts a server on full156k
    .venv/bin/python bench/hostile.py --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from common import (
    DANTRI,
    DEFAULT_INDEX_DIR,
    NEWS,
    OUT_DIR,
    git_state,
    load_docs,
    median,
    percentile,
    strip_accents,
    words,
)
from load import Server, exit_on_sigterm

LIMIT_S = 3.0  # every answer must come faster than this
MAX_Q = 500  # the server's max_query_chars
MAX_URL = 8192  # the app refuses longer URLs with 414
TIMEOUT_S = 15.0  # the client gives up here (a violation anyway)
RUN_LIMIT_S = 1800.0  # the whole run, whatever happens

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


# --- running -------------------------------------------------------------------------------


def send(host: str, port: int, case: Case) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    started = time.perf_counter()
    try:
        conn.request("GET", case.path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        case.ms = (time.perf_counter() - started) * 1000
        case.status = response.status
        case.content_type = response.getheader("Content-Type") or ""
        case.body = body[:300].decode("utf-8", errors="replace")
        check(case, body)
    except (OSError, http.client.HTTPException) as error:
        case.ms = (time.perf_counter() - started) * 1000
        case.problem = f"no answer: {error!r}"
    finally:
        conn.close()


def check(case: Case, body: bytes) -> None:
    problems = []
    if case.status not in (200, 400) and not (case.allow_414 and case.status == 414):
        problems.append(f"status {case.status}")
    if "json" not in case.content_type:
        problems.append(f"content type {case.content_type!r}")
    try:
        data = json.loads(body)
    except ValueError:
        problems.append("body is not JSON")
        data = None
    if case.status >= 400 and isinstance(data, dict) and "error" not in data:
        problems.append(f"{case.status} without an error object")
    if case.status == 200 and isinstance(data, dict):
        case.partial = bool(data.get("partial"))
    if case.must_400 and case.status != 400 and not (case.allow_414 and case.status == 414):
        problems.append(f"must be 400 ({case.why_400})")
    if case.ms >= LIMIT_S * 1000:
        problems.append(f"took {case.ms / 1000:.2f} s")
    case.problem = "; ".join(problems)


class Target:
    """Where requests go: a running server, or one this run started (and may restart)."""

    def __init__(self, host: str, port: int, server: Server | None = None) -> None:
        self.host, self.port, self.server = host, port, server
        self.restarts = 0
        self.warmup: list[str] = []  # ordinary requests (paths) sent after each (re)start

    def warm(self, concurrency: int = 8) -> None:
        """Open every worker thread's searcher and load its caches, so that the first hostile
        requests do not pay for a cold start (1-2 s on the full index). Not measured."""

        def client(paths: list[str]) -> None:
            for path in paths:
                http_get(self.host, self.port, path)

        threads = [
            threading.Thread(target=client, args=(self.warmup[i::concurrency],), daemon=True)
            for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    def restart(self) -> bool:
        """Stop and start our own server (SIGTERM, wait): requests it still runs are dropped,
        so the next ones are measured on an idle server. False for a server not ours."""
        if self.server is None:
            return False
        self.server.stop()
        self.server.__enter__()
        self.host, self.port = self.server.host, self.server.port
        self.restarts += 1
        self.warm()
        return True

    def wait_idle(self, limit_s: float) -> None:
        """Until /healthz answers at once (a server busy with a slow request answers late)."""
        deadline = time.perf_counter() + limit_s
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            status, _ = http_get(self.host, self.port, "/healthz")
            if status == 200 and time.perf_counter() - began < 0.1:
                return
            time.sleep(1.0)


def run(target: Target, cases: list[Case], clients: int) -> float:
    """Send every case; the wall time. Bounded by RUN_LIMIT_S.

    One client (the default): after a request that got no answer in TIMEOUT_S, our own server
    is restarted (a server given by --url is waited for, up to 120 s), so that one runaway
    request is reported once instead of slowing every later one. Several clients: no restarts.
    """
    started = time.perf_counter()
    if clients == 1:
        for case in cases:
            if time.perf_counter() - started > RUN_LIMIT_S:
                break
            send(target.host, target.port, case)
            if case.problem.startswith("no answer"):
                case.extra["restarted"] = target.restart()
                if not case.extra["restarted"]:
                    target.wait_idle(120)
        return time.perf_counter() - started
    next_index = iter(range(len(cases)))
    lock = threading.Lock()

    def worker() -> None:
        while time.perf_counter() - started < RUN_LIMIT_S:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            send(target.host, target.port, cases[i])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RUN_LIMIT_S + TIMEOUT_S + 10)
    return time.perf_counter() - started


def recheck(target: Target, violations: list[Case], limit: int = 30) -> None:
    """Send each violating request again, alone, on an idle server: was it slow by itself, or
    only behind an earlier slow request? (case.extra["alone"]). Bounded to 10 minutes."""
    stop = time.perf_counter() + 600
    for case in violations[:limit]:
        if time.perf_counter() > stop:
            break
        target.wait_idle(min(120.0, max(0.0, stop - time.perf_counter())))
        again = Case(case.family, case.params, case.must_400, case.why_400, case.allow_414)
        send(target.host, target.port, again)
        case.extra["alone"] = {
            "status": again.status,
            "ms": round(again.ms),
            "problem": again.problem,
        }
        if again.problem.startswith("no answer"):
            target.restart()


def report(cases: list[Case], wall: float) -> tuple[list[str], list[Case]]:
    sent = [c for c in cases if c.status or c.problem]
    ms = [c.ms for c in sent]
    statuses = Counter(str(c.status) if c.status else "none" for c in sent)
    lines = [
        f"{len(sent)} requests in {wall:.0f} s; statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        + f"; partial 200s: {sum(c.partial for c in sent)}",
        f"latency ms: p50 {median(ms):.0f}, p99 {percentile(ms, 99):.0f}, max {max(ms):.0f}",
        "",
        f"{'family':<11}{'n':>5}{'200':>6}{'400':>6}{'414':>6}{'other':>6}{'must400':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'bad':>5}",
    ]
    for family in FAMILIES:
        mine = [c for c in sent if c.family == family]
        if not mine:
            continue
        fm = [c.ms for c in mine]
        lines.append(
            f"{family:<11}{len(mine):>5}{sum(c.status == 200 for c in mine):>6}"
            f"{sum(c.status == 400 for c in mine):>6}"
            f"{sum(c.status == 414 for c in mine):>6}"
            f"{sum(c.status not in (200, 400, 414) for c in mine):>6}"
            f"{sum(c.must_400 for c in mine):>8}{median(fm):>8.0f}{percentile(fm, 99):>8.0f}"
            f"{max(fm):>8.0f}{sum(bool(c.problem) for c in mine):>5}"
        )
    unsent = len(cases) - len(sent)
    if unsent:
        lines.append(f"{unsent} requests not sent: the run hit its {RUN_LIMIT_S:.0f} s limit")
    violations = [c for c in sent if c.problem]
    return lines, violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server on 127.0.0.1 (else one is started)")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX_DIR)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, help="threads per worker (default: serve's)")
    parser.add_argument("--n", type=int, default=1000, help="requests (default 1,000)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients (default 1)")
    parser.add_argument("--seed", type=int, default=20260606)
    parser.add_argument(
        "--no-recheck",
        dest="recheck",
        action="store_false",
        help="do not resend violating requests alone afterwards",
    )
    parser.add_argument("--json", type=Path, help="details (default bench/out/hostile.json)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    args.n = max(1, min(args.n, 100_000))
    args.clients = max(1, min(args.clients, 64))

    loadavg = os.getloadavg()  # the machine is shared: say how busy it was
    out = args.json or OUT_DIR / "hostile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    vocabulary = vocabulary_from_titles(args.seed)
    cases = make_cases(vocabulary, args.n, args.seed)
    when = datetime.now().astimezone().isoformat(timespec="seconds")
    server: Server | None = None
    if args.url:
        parts = urllib.parse.urlsplit(args.url)
        if parts.hostname not in ("127.0.0.1", "localhost") or not parts.port:
            parser.error("--url must be http://127.0.0.1:PORT")
        shown = args.url
    else:
        log = out.with_name(out.stem + "-serve.log")
        log.unlink(missing_ok=True)
        server = Server(args.index_dir, args.workers, args.threads, log)
        shown = f"{args.index_dir} (workers {args.workers})"
    try:
        if server is not None:
            server.__enter__()
            target = Target(server.host, server.port, server)
            target.warmup = warmup_paths(vocabulary, args.seed)
            target.warm()
        else:
            target = Target("127.0.0.1", int(urllib.parse.urlsplit(args.url).port or 0))
        print(f"hostile: {len(cases)} requests, {args.clients} client(s), {shown}, {when}")
        wall = run(target, cases, args.clients)
        restarts = target.restarts
        status, _ = http_get(target.host, target.port, "/healthz")
        alive = f"/healthz after the run: {status}; server restarts after a timeout: {restarts}"
        if args.recheck:
            recheck(target, [c for c in cases if c.problem])
    finally:
        stopped = server.stop() if server is not None else None
    lines, violations = report(cases, wall)
    print(
        f"\n{when}, {git_state()}, {os.cpu_count()} cores, seed {args.seed}, "
        f"load average before {loadavg[0]:.2f}"
    )
    for line in lines:
        print(line)
    print(alive + ("" if stopped is None else f"; server exit status {stopped}"))
    if server is not None:
        text = server.log_path.read_text(errors="replace")
        for marker in ("Traceback", "unhandled error", "exited (", "did not stop"):
            if marker in text:
                print(f"server log {server.log_path} contains {marker!r}")
    print(f"\nviolations: {len(violations)}")
    for case in violations[:50]:
        path = case.path if len(case.path) <= 300 else case.path[:300] + f"...({len(case.path)})"
        alone = case.extra.get("alone")
        again = f"; alone: {alone['status'] or '-'} {alone['ms']} ms" if alone else ""
        print(f"  [{case.family}] {case.status or '-'} {case.ms:.0f} ms {case.problem}{again}")
        print(f"    {path}")
    out.write_text(
        json.dumps(
            {
                "date": when,
                "git": git_state(),
                "argv": sys.argv[1:],
                "summary": lines,
                "violations": [
                    {
                        "family": c.family,
                        "path": c.path,
                        "status": c.status,
                        "ms": c.ms,
                        "problem": c.problem,
                        "body": c.body,
                        "alone": c.extra.get("alone"),
                        "restarted_after": c.extra.get("restarted"),
                    }
                    for c in violations
                ],
                "slowest": [
                    {"family": c.family, "path": c.path[:2000], "status": c.status, "ms": c.ms}
                    for c in sorted(cases, key=lambda c: -c.ms)[:20]
                ],
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"details: {out}")
    return 1 if violations or not status == 200 else 0


def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
