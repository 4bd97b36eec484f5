"""Whole hostile requests as Hypothesis strategies: the fuzzer's input.

Shared by the bounded fuzzer of `make test` (tests/test_fuzz_requests.py: Flask's test client,
and a real waitress for its size limits) and the long run of `bench/hostile.py --long` (a live
server); both judge the answers with tests/hostile_checks.py. A request is the method, the
path (any route, an article id from the importer's alphabet, doubled or trailing slashes),
repeated and reserved parameter names, punctuation-joined and very long word lists, every
filter at once, and odd Host, forwarding and conditional headers.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from indexer.records import RawRecord
from indexer.validate import RecordError, check_record

HOST_MARKER = "hostile.invalid"  # every untrusted host the strategies send ends with it
FILTERS = ("category", "source", "author")
KNOWN = ("q", "page", "per_page", "sort", "from", "to", *FILTERS, "facets", "format", "limit")
RESERVED = ("_anchor", "_scheme", "_method", "_external", "endpoint", "values")
CONDITIONS = ("If-None-Match", "If-Modified-Since", "If-Match", "If-Range", "If-Unmodified-Since")
WORDS = (
    "đà", "nẵng", "da", "nang", "giao", "thông", "song", "hau", "nông", "lúa", "bão", "mưa",
    "tỉnh", "bệnh", "viện", "x", "OR", "NOT", "-bão", "nguy*", "nguyen~1", '"giao thông"',
    "title:mưa", "author:", "*", "~", "１", "\u202e", "<b>",
)  # fmt: skip
HOSTILE_VALUES = (
    "", " ", "0", "1", "2", "5", "-1", "1e3", "9" * 30, "１", "NaN", "true", "false",
    "year,category", "csv", "jsonl", "newest", "2020", "2020-13-45", "31/2/2025",
    "<script>alert(1)</script>",
    "\r\nSet-Cookie: x=1", "../../etc/passwd", "%00", "{{7*7}}", "javascript:alert(1)",
)  # fmt: skip
SEARCHES = ("/search", "/api/search", "/search.atom")  # the most parameters: drawn most
ROUTES = (
    *SEARCHES * 4, "/", "/advanced", "/healthz", "/api", "/api/suggest", "/api/openapi.json",
    "/api/nope", "/static/style.css", "/nope", "/api/articles/{id}",
    "/api/articles/{id}/related", "/article/{id}", "/bai-viet/{id}", "/bai-viet/tieu-de-{id}",
)  # fmt: skip
ID_ALPHABET = "abcz09-_.~/ ?#%&+=;:,!$'()*@\\\n\tđẠ\u2028"
PATH_SAFE = "/!$&'()*+,:;=@"  # what Werkzeug leaves unescaped in a path


def accepted_id(text: str) -> str | None:
    """The id the importer keeps for `text` as a record's id, or None if it refuses it."""
    try:
        return check_record(RawRecord("fuzz", 1, {"id": text, "title": "t"})).article.id
    except RecordError:
        return None


def importer_ids() -> st.SearchStrategy[str]:
    """Ids the importer accepts, drawn from an alphabet of the characters that are hard in
    URLs ('/', '.', '%', '?', '#', spaces, a line break, non-ASCII)."""
    texts = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=24)
    return texts.map(accepted_id).filter(lambda found: found is not None)  # type: ignore[return-value]


@dataclass(frozen=True)
class HostileRequest:
    method: str
    path: str  # percent-encoded, as sent
    query: str  # percent-encoded, as sent
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    @property
    def size(self) -> int:
        """Bytes of the request line, the headers and the body."""
        header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers)
        return len(self.method) + len(self.target) + header_bytes + len(self.body) + 12

    @property
    def under_api(self) -> bool:
        path = "/" + urllib.parse.unquote(self.path).lstrip("/")  # as the app reads it
        return path == "/api" or path.startswith("/api/")

    def without_conditions(self) -> HostileRequest:
        kept = tuple((k, v) for k, v in self.headers if k not in CONDITIONS)
        return replace(self, headers=kept)


def _encode(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return urllib.parse.quote_from_bytes(value, safe="")
    return urllib.parse.quote(value, safe="")


def _query(pairs: list[tuple[str, str | bytes]]) -> str:
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_VALUES = st.one_of(
    _TEXT,
    st.sampled_from(HOSTILE_VALUES),
    st.sampled_from(WORDS),
    st.integers(-5, 10**6).map(str),
    st.binary(max_size=6),  # any bytes, percent-encoded: overlong UTF-8, lone surrogates
)


def _joined_words() -> st.SearchStrategy[str]:
    """Word lists joined by punctuation instead of spaces, possibly excluded, up to past the
    query length limit."""
    joined = st.builds(
        lambda sep, words: sep.join(words),
        st.sampled_from([",", ";", ".", "/", "|", "+", "_", "-", ":", " ", ", ", "·"]),
        st.integers(1, 300).flatmap(  # sized first: lists of Hypothesis' own sizes stay short
            lambda n: st.lists(st.sampled_from(WORDS[:16]), min_size=n, max_size=n)
        ),
    )
    return st.builds(lambda minus, q: ("-" if minus else "") + q, st.booleans(), joined)


def queries() -> st.SearchStrategy[str]:
    """What `q` may hold: any text, query syntax, punctuation-joined or very long words."""
    long_words = st.integers(300, 700).map(lambda n: ("song hau nông " * n)[:n])
    return st.one_of(_TEXT, st.sampled_from(WORDS), _joined_words(), long_words)


def _repeated() -> st.SearchStrategy[list[tuple[str, str | bytes]]]:
    """One parameter repeated up to hundreds of times, with one value or many."""

    def build(name: str, count: int, same: bool) -> list[tuple[str, str | bytes]]:
        return [(name, "0" if same else str(n)) for n in range(count)]

    names = st.sampled_from([*FILTERS, "q", "page", "facets"])
    return st.builds(build, names, st.integers(0, 800), st.booleans())


def _every_filter() -> st.SearchStrategy[list[tuple[str, str | bytes]]]:
    values = st.lists(st.one_of(_TEXT, st.sampled_from(WORDS)), max_size=25)
    single = st.one_of(st.sampled_from(HOSTILE_VALUES), _TEXT)
    return st.builds(
        lambda q, cats, sources, authors, others: [
            ("q", q),
            *(("category", v) for v in cats),
            *(("source", v) for v in sources),
            *(("author", v) for v in authors),
            *zip(("from", "to", "sort", "page", "per_page", "facets"), others, strict=True),
        ],
        queries(),
        values,
        values,
        values,
        st.tuples(*[single] * 6),
    )


def _params() -> st.SearchStrategy[list[tuple[str, str | bytes]]]:
    names = st.one_of(st.sampled_from(KNOWN), st.sampled_from(RESERVED), _TEXT)
    loose = st.lists(st.tuples(names, _VALUES), max_size=8)
    with_q = st.builds(lambda q, rest: [("q", q), *rest], queries(), loose)
    reserved = st.builds(  # a small page, so that an API answer links the next one
        lambda names, size: [*names, ("per_page", size)],
        st.lists(st.tuples(st.sampled_from(RESERVED), _VALUES), min_size=1, max_size=3),
        st.sampled_from(["1", "2", "5"]),
    )
    return st.one_of(loose, with_q, reserved, _repeated(), _every_filter())


def _paths() -> st.SearchStrategy[str]:
    ids = st.one_of(st.sampled_from(["demo-001", "demo-eth-1", "nope"]), importer_ids(), _TEXT)

    def build(route: str, article_id: str, slashes: int) -> str:
        path = urllib.parse.quote(route.replace("{id}", article_id), safe=PATH_SAFE)
        if slashes == 1:  # a leading "//"
            return "/" + path
        if slashes == 2:  # the last slash doubled
            cut = path.rindex("/")
            return path[:cut] + "/" + path[cut:]
        return path + "/" if slashes == 3 else path

    return st.builds(build, st.sampled_from(ROUTES), ids, st.integers(0, 4))


def _hosts() -> st.SearchStrategy[str]:
    label = st.text(alphabet="abcxyz019-", min_size=1, max_size=10)
    ports = st.sampled_from(["", ":80", ":8000", ":99999", ":x"])
    return st.builds(lambda name, port: f"{name}.{HOST_MARKER}{port}", label, ports)


def _headers() -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    etags = st.sampled_from(["*", '"x"', 'W/"x"', '"a", "b"', "garbage", '"', '*, W/"y"'])
    dates = st.sampled_from(["Sun, 06 Nov 1994 08:49:37 GMT", "yesterday", "0"])
    optional = {
        "Host": _hosts(),
        "X-Forwarded-Host": _hosts(),
        "X-Forwarded-Proto": st.sampled_from(["https", "gopher"]),
        "Forwarded": _hosts().map(lambda host: f"host={host};proto=https"),
        "If-None-Match": etags,
        "If-Match": etags,
        "If-Modified-Since": dates,
        "Range": st.sampled_from(["bytes=0-10", "bytes=x", "bytes=-5"]),
        "Accept": st.sampled_from(["application/json", "text/html", "*/*", ""]),
    }
    chosen = st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=4)
    return chosen.flatmap(
        lambda names: st.tuples(*[st.tuples(st.just(n), optional[n]) for n in names])
    )


def hostile_requests() -> st.SearchStrategy[HostileRequest]:
    """Whole requests: method, path, query string, headers and (for some methods) a body."""
    methods = st.sampled_from(["GET"] * 8 + ["HEAD", "POST", "OPTIONS", "DELETE"])
    return st.builds(
        lambda method, path, params, headers, body: HostileRequest(
            method, path, _query(params), headers, body if method == "POST" else b""
        ),
        methods,
        _paths(),
        _params(),
        _headers(),
        st.binary(max_size=64),
    )
