"""Importers: HTML cleaning, safe links, saved pages and RSS/Atom feeds.

Fixtures under tests/fixtures/ are written for these tests (original Vietnamese text). The one
real sample, ../shared/samples/saved-page-baohaugiang.txt, is read in place and skipped when
absent; its text is never copied here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from indexer.readers.feed import parse_feed_date, read_feed, sniff_feed
from indexer.readers.savedpage import is_date_line, read_saved_page, sniff_saved_page
from indexer.records import ARTICLE_FIELDS, RawRecord
from indexer.textclean import html_to_text, is_probably_html, normalize_whitespace, safe_url

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
FEEDS = FIXTURES / "feeds"
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "saved-page-baohaugiang.txt"
FURNITURE = ("Viết bình luận mới", "Xem thêm", "THÔNG TIN CẦN BIẾT", "Tin liên quan", "Chia sẻ")


def page_text(name: str) -> str:
    """A page fixture exactly as stored: BOM and CRLF kept, as a careless caller would pass it."""
    return (PAGES / name).read_bytes().decode("utf-8")


def read_page(name: str) -> list[RawRecord]:
    return list(read_saved_page(str(PAGES / name), page_text(name)))


def read_feed_file(name: str) -> list[RawRecord]:
    path = FEEDS / name
    return list(read_feed(str(path), path.read_bytes()))


def data_of(records: list[RawRecord]) -> list[dict[str, Any]]:
    """Each record's data, after checking none is an error and all have the canonical keys."""
    assert [r.error for r in records] == [None] * len(records)
    result = [r.data for r in records if r.data is not None]
    assert all(set(d) == set(ARTICLE_FIELDS) for d in result)
    return result


# --- html_to_text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Bão số 3</p>", "Bão số 3"),
        ("<b>Hà</b> <i>Nội</i>", "Hà Nội"),
        ('<a href="https://x.vn">Đà <span class="hl">Nẵng</span></a>', "Đà Nẵng"),
        ("<script>var a = 1 < 2;</script>Tin chính", "Tin chính"),
        ("<style>p { color: red }</style><p>Đoạn</p>", "Đoạn"),
        ("<noscript><p>Bật JavaScript</p></noscript>Nội dung", "Nội dung"),
        ("Trước <!-- ghi chú <b>ẩn</b> --> sau", "Trước sau"),
        ("<![CDATA[Giá <5% & tăng]]>", "Giá <5% & tăng"),
        ("Hà Nội &amp; TP.HCM", "Hà Nội & TP.HCM"),
        ("&amp;amp;", "&amp;"),
        ("<p>Cà phê &amp;amp; trà</p>", "Cà phê &amp; trà"),
        ("&lt;b&gt;đậm&lt;/b&gt;", "<b>đậm</b>"),
        ("Nhiệt độ &#8211; 30&#176;C", "Nhiệt độ – 30°C"),
        ("Giá&nbsp;vàng", "Giá vàng"),
        ("a < b", "a < b"),
        ("giá <5%", "giá <5%"),
        ("<p>giá <5% và a < b</p>", "giá <5% và a < b"),
        ("Giá vàng <tăng> mạnh", "Giá vàng <tăng> mạnh"),
        ("<p>Đoạn một</p><p>Đoạn hai</p>", "Đoạn một\n\nĐoạn hai"),
        ("Dòng một<br>Dòng hai<br/>Dòng ba", "Dòng một\nDòng hai\nDòng ba"),
        ("<p>a</p><br><br><br><br><p>b</p>", "a\n\nb"),
        ("<ul><li>Một</li><li>Hai</li></ul>Sau", "Một\nHai\n\nSau"),
        ("<div>Một</div><div>Hai</div>", "Một\nHai"),
        ("<h2>Tiêu đề</h2>Nội dung", "Tiêu đề\n\nNội dung"),
        ("<table><tr><td>A</td><td>B</td></tr><tr><td>C</td></tr></table>", "A B\nC"),
        ("<div>Hà\n    Nội</div>", "Hà Nội"),
        ("  nhiều    khoảng\u00a0trắng  ", "nhiều khoảng trắng"),
        ("Dòng một\n\n\n\nDòng hai  \n", "Dòng một\n\nDòng hai"),
        ("", ""),
        ("<br/>", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_html_to_text_fast_path_skips_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise AssertionError("parser used for plain text")

    monkeypatch.setattr("indexer.textclean._TextExtractor", boom)
    assert html_to_text("Tin  thường\u00a0ngày") == "Tin thường ngày"
    assert html_to_text("a < b &amp; c") == "a < b & c"  # no tag: entities only


def _split_and_joined(text: str) -> str:
    """normalize_whitespace as it was before its fast path: every line split and joined."""
    lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@pytest.mark.parametrize(
    "text",
    [
        "Tin thường ngày.\n\nĐoạn hai.",  # tidy: only the ends may change
        "  Tin ở đầu và cuối  ",
        "\n\nTin\n\n",
        "hai  dấu cách",
        "cuối dòng \nđầu dòng",
        "dòng\n đầu",
        "ba\n\n\ndòng trống",
        "tab\tở giữa",
        "xuống dòng\r\nkiểu Windows",
        "chỉ\rCR",
        "",
        " ",
    ],
)
def test_normalize_whitespace_equals_splitting_every_line(text: str) -> None:
    assert normalize_whitespace(text) == _split_and_joined(text)


def test_every_other_whitespace_character_takes_the_slow_path() -> None:
    """Every character str.split() splits on, but the space and the line break, is caught
    by the tidy check, so the fast path never keeps one."""
    spaces = [c for c in map(chr, range(0x110000)) if len(f"a{c}b".split()) == 2]
    assert " " in spaces and "\u00a0" in spaces and "\u3000" in spaces
    for c in spaces:
        text = f"một{c}hai"
        assert normalize_whitespace(text) == _split_and_joined(text), hex(ord(c))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>x</p>", True),
        ("x <br/> y", True),
        ("<!-- c -->", True),
        ("<![CDATA[x]]>", True),
        ("a < b", False),
        ("giá <5%", False),
        ("Giá <tăng>", False),
        ("&amp;", False),
        ("không có gì", False),
    ],
)
def test_is_probably_html(text: str, expected: bool) -> None:
    assert is_probably_html(text) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://baomoi.example.vn/a.html", "https://baomoi.example.vn/a.html"),
        ("  http://x.vn/tin?id=1 \n", "http://x.vn/tin?id=1"),
        ("HTTPS://X.VN/", "HTTPS://X.VN/"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None),
        ("mailto:toasoan@x.vn", None),
        ("ftp://x.vn/file", None),
        ("/tin/bai-viet.html", None),
        ("//x.vn/bai", None),
        ("http://", None),
        ("http://x.vn/có khoảng trắng", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


# --- saved pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Thứ Năm, ngày 24/10/2019 | 13:27", True),
        ("Thứ Hai, ngày 3/6/2024 | 7:45", True),
        ("thứ bảy, ngày 5/7/2025 | 9:05", True),
        ("CHỦ NHẬT, NGÀY 17/11/2024 | 18:02", True),
        ("Chủ nhật, ngày 05/01/2025", True),
        ("Thứ Tư, 02/10/2024 - 08:00 (GMT+7)", True),
        ("Ngày 24/10/2019", False),
        ("09:15 21/11/2024", False),
        ("Thứ Năm tuần trước trời mưa", False),
    ],
)
def test_is_date_line(line: str, expected: bool) -> None:
    assert is_date_line(line) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tiêu đề\n\nThứ Năm, ngày 24/10/2019 | 13:27\n\nNội dung.", True),
        ("\ufeffTiêu đề\r\n\r\nChủ nhật, ngày 05/01/2025 | 06:10\r\n", True),
        ("Tin một\n\n09:15 21/11/2024\n\nTóm tắt.", True),
        ('{"title": "Thứ Năm, ngày 24/10/2019 | 13:27"}', False),
        ("[1, 2]", False),
        ('<?xml version="1.0"?><rss><channel/></rss>', False),
        ("Chỉ là một tệp văn bản.\nKhông có ngày.", False),
        ("", False),
    ],
)
def test_sniff_saved_page(text: str, expected: bool) -> None:
    assert sniff_saved_page(text) is expected


@pytest.mark.parametrize(
    "name",
    [
        "full-with-listings.txt",
        "no-byline.txt",
        "no-listings.txt",
        "extra-furniture.txt",
        "crlf-bom.txt",
        "no-date.txt",
    ],
)
def test_page_fixtures_are_sniffed_and_clean(name: str) -> None:
    text = page_text(name)
    assert sniff_saved_page(text)
    for data in data_of(read_page(name)):
        fields = (data["title"], data["summary"], data["body"])
        assert not any(f in field for f in FURNITURE for field in fields)
        assert data["id"] is None and data["source"] is None and data["category"] is None


def test_page_with_byline_and_listings() -> None:
    article, *listings = data_of(read_page("full-with-listings.txt"))
    assert article["title"] == "Nông dân vùng ven sông chuyển sang nuôi cá lồng theo chuẩn VietGAP"
    assert article["published"] == "03/06/2024 07:45"
    assert article["author"] == "MINH KHÔI"
    assert article["url"] is None
    assert article["summary"].startswith("(STN) - Sau hai năm thí điểm")
    paragraphs = article["body"].split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[1].startswith("Cán bộ khuyến nông (bên trái)")  # the photo caption
    assert "MINH KHÔI" not in article["body"]
    assert [(d["title"], d["published"]) for d in listings] == [
        ("Khánh thành cây cầu dân sinh nối hai ấp cù lao", "10:20 02/06/2024"),
        ("Học sinh vùng sâu được tặng xe đạp đến trường", "16:05 01/06/2024"),
        ("Giá lúa tăng nhẹ, nông dân phấn khởi", "08:00 01/06/2024"),
    ]
    assert listings[1]["summary"].startswith("Nhân dịp Ngày Quốc tế Thiếu nhi")
    assert all(d["body"] == "" and d["url"] is None and d["author"] is None for d in listings)
    assert not any("Nhiệt độ" in d["summary"] or "mưa rào" in d["title"] for d in listings)


def test_page_records_point_at_their_title_lines() -> None:
    records = read_page("full-with-listings.txt")
    lines = page_text("full-with-listings.txt").split("\n")
    assert [r.line for r in records] == [1, 19, 25, 35]
    assert all(lines[r.line - 1] == (r.data or {})["title"] for r in records)


def test_page_without_byline_ends_at_first_furniture_line() -> None:
    article, no_lead, with_lead = data_of(read_page("no-byline.txt"))
    assert article["author"] is None
    assert article["published"] == "05/01/2025 06:10"
    assert article["summary"].startswith("(STN) – Từ tháng này")
    assert article["body"].startswith("Ban quản lý chợ cho biết")
    assert "Ra mắt sản phẩm" not in article["body"]
    assert (no_lead["title"], no_lead["summary"]) == ("Ra mắt sản phẩm du lịch miệt vườn mới", "")
    assert with_lead["published"] == "09:45 03/01/2025"
    assert with_lead["summary"].startswith("(STN) – Hơn 40 gian hàng")


def test_page_without_listings_gives_one_record() -> None:
    (article,) = data_of(read_page("no-listings.txt"))
    assert article["author"] == "HOÀNG LAN"
    assert article["published"] == "05/07/2025 09:05"  # lower-case weekday, padded numbers
    assert article["body"] == (
        "Mỗi hệ thống có công suất 500 lít một giờ, do một nhóm thiện nguyện tài trợ toàn bộ "
        "kinh phí."
    )


def test_page_with_extra_furniture_url_and_weather_box() -> None:
    records = read_page("extra-furniture.txt")
    article, listing = data_of(records)
    assert records[0].line == 3  # "Lên đầu trang" above the title is skipped
    assert article["title"] == "Đường tỉnh 927 được nâng cấp, rút ngắn thời gian đi lại"
    assert article["url"] == (
        "https://baosonghau.example.vn/giao-thong/duong-tinh-927-nang-cap-123.html"
    )
    assert article["published"] == "17/11/2024 18:02"
    assert article["summary"].startswith("(STN) - Sau 18 tháng thi công")  # not "Chia sẻ"
    assert article["author"] == "PHƯƠNG NAM"
    assert article["body"].startswith("Trước đây, người dân")
    assert "Trở lại" not in article["body"] and "Gửi bài viết" not in article["body"]
    assert listing["title"] == "Sửa chữa cầu yếu trước mùa mưa bão"
    assert listing["published"] == "07:30 16/11/2024"
    assert records[1].line == 32


def test_page_with_bom_crlf_trailing_and_nbsp() -> None:
    raw = (PAGES / "crlf-bom.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture is what it claims
    records = read_page("crlf-bom.txt")
    article, listing = data_of(records)
    assert article["title"] == "Mở lớp dạy bơi miễn phí cho trẻ em mùa hè"
    assert article["published"] == "12/03/2024 16:40"
    assert article["summary"] == (
        "(HGO) – Hồ bơi của nhà văn hóa thiếu nhi mở 10 lớp dạy bơi miễn phí, mỗi lớp 25 em."
    )
    assert article["author"] == "T.HÀ"
    assert not any("\r" in v or "\ufeff" in v or "\u00a0" in v for v in article.values() if v)
    assert (listing["title"], listing["published"]) == (
        "Thư viện lưu động về với các xã vùng sâu",
        "11:10 11/03/2024",
    )
    assert [r.line for r in records] == [1, 13]


@pytest.mark.parametrize("name", ["full-with-listings.txt", "no-byline.txt", "no-date.txt"])
def test_page_line_endings_and_bom_do_not_matter(name: str) -> None:
    text = page_text(name)
    variants = [text, "\ufeff" + text.replace("\n", "\r\n"), text.replace("\n", "  \r")]
    results = [list(read_saved_page("p.txt", v)) for v in variants]
    assert results[1] == results[0] and results[2] == results[0]


def test_page_without_date_is_still_an_article() -> None:
    article, listing = data_of(read_page("no-date.txt"))
    assert article["title"] == "Hội thi nấu ăn dành cho các gia đình trẻ"
    assert article["published"] is None
    assert article["summary"].startswith("(STN) - Hội Liên hiệp Phụ nữ")
    assert article["body"].startswith("Các món ăn được chấm")
    assert listing["published"] == "15:00 10/10/2024"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", 1),
        ("   \n\n\u00a0\n", 1),
        ("\n\nThứ Năm, ngày 24/10/2019 | 13:27\n\nNội dung không có tiêu đề.", 3),
        ("Xem thêm\n\n09:15 21/11/2024\n\nTóm tắt.", 3),
    ],
)
def test_page_without_title_is_an_error(text: str, line: int) -> None:
    (record,) = read_saved_page("p.txt", text)
    assert record.data is None
    assert record.error == "no title line found"
    assert record.line == line


def test_page_text_fields_are_cleaned_of_markup() -> None:
    text = (
        "Giá <b>xăng</b> &amp; dầu\n\n"
        "Thứ Sáu, ngày 01/11/2024 | 15:00\n\n"
        "(ST) - Giá giảm &lt;5%, tức là a < b.\n\n"
        "Đoạn <i>hai</i>&nbsp;có thẻ.<script>x()</script>\n\n"
        "Tin: AN&amp;BÌNH\n"
    )
    (article,) = data_of(list(read_saved_page("p.txt", text)))
    assert article["title"] == "Giá xăng & dầu"
    assert article["summary"] == "(ST) - Giá giảm <5%, tức là a < b."
    assert article["body"] == "Đoạn hai có thẻ."
    assert article["author"] == "AN&BÌNH"


@pytest.mark.parametrize(
    ("byline", "author"),
    [
        ("Tin, ảnh: T.THỨC", "T.THỨC"),
        ("Bài, ảnh: NGUYỄN VĂN A", "NGUYỄN VĂN A"),
        ("Bài và ảnh: LAN HƯƠNG", "LAN HƯƠNG"),
        ("Tin: MAI ANH", "MAI ANH"),
        ("Bài: KHÁNH NGỌC", "KHÁNH NGỌC"),
        ("Ảnh: HỮU PHƯỚC", "HỮU PHƯỚC"),
        ("Tin/ảnh : QUỐC BẢO", "QUỐC BẢO"),
    ],
)
def test_page_bylines(byline: str, author: str) -> None:
    text = f"Tiêu đề\n\nThứ Ba, ngày 01/10/2024 | 08:00\n\nMở đầu.\n\nThân bài.\n\n{byline}\n"
    (article,) = data_of(list(read_saved_page("p.txt", text)))
    assert (article["author"], article["body"]) == (author, "Thân bài.")


def test_listing_that_repeats_the_page_article_is_skipped() -> None:
    text = (
        "Tin chính\n\nThứ Ba, ngày 01/10/2024 | 08:00\n\nMở đầu.\n\nTin: AN\n\nXem thêm\n\n"
        "Tin chính\n\n08:00 01/10/2024\n\nMở đầu.\n\nTin phụ\n\n07:00 01/10/2024\n\nTóm tắt.\n"
    )
    titles = [d["title"] for d in data_of(list(read_saved_page("p.txt", text)))]
    assert titles == ["Tin chính", "Tin phụ"]


# --- the real sample -----------------------------------------------------------------------------


@pytest.fixture
def sample_records() -> list[RawRecord]:
    if not SAMPLE.is_file():
        pytest.skip(f"sample page not present: {SAMPLE}")
    text = SAMPLE.read_text(encoding="utf-8")
    assert sniff_saved_page(text)
    return list(read_saved_page(str(SAMPLE), text))


def test_real_sample_article(sample_records: list[RawRecord]) -> None:
    article = data_of(sample_records)[0]
    assert sample_records[0].line == 1
    assert article["title"] == "Đặc biệt chú trọng thực hiện công tác dân vận chính quyền"
    assert article["published"] == "24/10/2019 13:27"
    assert article["author"] == "T.THỨC"
    assert article["summary"].startswith("(HG) - Ban Dân vận")
    assert article["body"] and "T.THỨC" not in article["body"]
    for furniture in ("Viết bình luận mới", "Xem thêm", "THÔNG TIN CẦN BIẾT"):
        assert furniture not in article["body"]


def test_real_sample_listings(sample_records: list[RawRecord]) -> None:
    listings = {d["title"]: d for d in data_of(sample_records)[1:]}
    scam = listings["Cảnh giác với thủ đoạn lừa xuất khẩu lao động"]
    assert scam["published"] == "14:58 24/11/2024"
    assert scam["summary"] and scam["body"] == ""
    assert all(d["published"] for d in listings.values())
    assert not any("THÔNG TIN CẦN BIẾT" in d["title"] for d in listings.values())
    assert len(listings) == len(sample_records) - 1  # no two listings share a title


# --- feeds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', True),
        (b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><rss version="2.0">', True),
        (b'<?xml version="1.0"?>\n<!-- ghi chu -->\n<?xml-stylesheet href="a.xsl"?>\n<feed>', True),
        (b'<feed xmlns="http://www.w3.org/2005/Atom">', True),
        (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf">', True),
        ('<?xml version="1.0"?><rss>'.encode("utf-16"), True),
        (b"<!DOCTYPE html><html><body>Xem <rss> tai day</body></html>", False),
        (b'{"title": "<rss>"}', False),
        (b"Tin thuong ngay <rss>", False),
        (b"<?xml version='1.0'?><!--" + b"x" * 3000 + b"--><rss>", False),
        (b"", False),
    ],
)
def test_sniff_feed(head: bytes, expected: bool) -> None:
    assert sniff_feed(head) is expected


@pytest.mark.parametrize("name", ["rss2-html.xml", "atom.xml", "rss-javascript-link.xml"])
def test_feed_fixtures_are_sniffed(name: str) -> None:
    assert sniff_feed((FEEDS / name).read_bytes()[:4096])


def test_rss2_with_html_and_entities() -> None:
    records = read_feed_file("rss2-html.xml")
    first, second, third = data_of(records)
    assert [r.line for r in records] == [1, 2, 3]
    assert first == {
        "id": None,
        "url": "https://baosonghau.example.vn/thoi-su/mua-lon-keo-dai-1001.html",
        "title": "Mưa lớn kéo dài ở miền Trung & Tây Nguyên",
        "summary": (
            "Đợt mưa từ ngày 12 đến 15/10 khiến nhiều tuyến đường ở Quảng Nam bị ngập & chia cắt."
        ),
        "body": (
            "Đợt mưa từ ngày 12 đến 15/10 khiến nhiều tuyến đường ở Quảng Nam bị ngập & chia cắt."
            "\n\nLực lượng cứu hộ đã sơ tán hơn 300 hộ dân đến nơi an toàn."
            "\n\nMực nước trên các sông dự báo giảm dần từ chiều mai."
        ),
        "published": "2024-10-15T08:30:00+07:00",
        "source": "Báo Sông Hậu & Đời sống",
        "category": "Thời sự",
        "author": "Lê Minh An",
    }
    assert second["url"] == "https://baosonghau.example.vn/kinh-te/gia-xang-1002.html"
    assert second["summary"] == (
        "Từ 15 giờ chiều nay, giá xăng giảm 350 đồng mỗi lít, tức mức giảm <5%."
        "\n\nGiá dầu giữ nguyên so với kỳ trước."
    )
    assert second["body"] == ""  # no content:encoded
    assert second["published"] == "2024-10-16T15:05:00+07:00"  # "GMT+7"
    assert second["author"] == "Trần Thu"  # from "email (Name)"
    assert (third["url"], third["published"]) == (None, None)
    assert third["summary"] == "Nội dung ngắn: a < b và giá <5%."


def test_atom_feed() -> None:
    first, second = data_of(read_feed_file("atom.xml"))
    assert first["title"] == "Vệ tinh mới đo độ mặn ở đồng bằng"
    assert first["url"] == "https://khoahoc.example.vn/ve-tinh-do-do-man.html"
    assert first["summary"] == "Dữ liệu vệ tinh giúp cảnh báo xâm nhập mặn sớm hơn một tuần."
    assert first["body"].endswith("từ 40 trạm quan trắc dọc các cửa sông.")
    assert first["published"] == "2024-11-01T21:15:00+07:00"  # published wins over updated
    assert (first["author"], first["category"]) == ("Phạm Quốc Việt", "Môi trường")
    assert first["source"] == "Tạp chí Khoa học Thử nghiệm"
    # Content only: its first paragraph is the summary, the whole text the body.
    assert second["summary"] == "Một nhóm sinh viên chế tạo robot hái thanh long bằng camera."
    assert second["body"].endswith("\n\nRobot nhận biết trái chín nhờ màu vỏ.")
    assert second["published"] == "2024-10-30T02:00:00+00:00"  # from <updated>


def test_feed_with_unsafe_links_drops_the_url() -> None:
    records = data_of(read_feed_file("rss-javascript-link.xml"))
    assert [(d["title"], d["url"]) for d in records] == [
        ("Liên kết javascript bị bỏ", None),
        ("Liên kết data bị bỏ", None),
        ("Liên kết hợp lệ được giữ", "https://lienket.example.vn/bai-hop-le.html"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"day khong phai xml {",
        b"<?xml version='1.0'?><rss><channel><title>Cut",  # truncated before any entry
        b"<html><body><p>Trang web</p></body></html>",
    ],
)
def test_unreadable_feed_is_one_error(data: bytes) -> None:
    (record,) = read_feed("f.xml", data)
    assert record.data is None and record.line == 1
    assert record.error is not None and record.error.startswith("not a readable RSS/Atom feed: ")


def test_truncated_feed_keeps_its_whole_entries() -> None:
    data = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>K</title>"
        b"<item><title>Tin A</title><link>https://a.vn/1</link></item><item><title>Tin B"
    )
    first, second = read_feed("f.xml", data)
    assert first.data is not None and first.data["title"] == "Tin A"
    assert second.line == 2 and second.data is None
    assert second.error is not None and second.error.startswith("unreadable entry in a malformed")


def test_feed_bytes_are_never_taken_for_a_file_name(tmp_path: Path) -> None:
    feed = tmp_path / "real.xml"
    feed.write_bytes((FEEDS / "atom.xml").read_bytes())
    (record,) = read_feed("f.xml", str(feed).encode())
    assert record.error is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 15 Oct 2024 08:30:00 +0700", "2024-10-15T08:30:00+07:00"),
        ("Tue, 15 Oct 2024 08:30:00 GMT+7", "2024-10-15T08:30:00+07:00"),
        ("Tue, 15 Oct 2024 08:30:00 GMT+07:00", "2024-10-15T08:30:00+07:00"),
        ("Tue, 15 Oct 2024 01:30:00 GMT", "2024-10-15T01:30:00+00:00"),
        ("Tue, 15 Oct 2024 01:30:00 -0000", "2024-10-15T01:30:00+00:00"),
        ("2024-10-15T08:30:00+07:00", "2024-10-15T08:30:00+07:00"),
        ("2024-10-15T01:30:00Z", "2024-10-15T01:30:00+00:00"),
        ("2024-10-15T08:30:00", "2024-10-15T08:30:00"),  # naive: the validator's Vietnam time
        ("Tue, 15 Oct 2024 08:30:00 XYZ", None),  # unknown zone: the caller asks feedparser
        ("hôm qua", None),
        ("", None),
    ],
)
def test_parse_feed_date(raw: str, expected: str | None) -> None:
    when = parse_feed_date(raw)
    assert (when.isoformat() if when else None) == expected


def test_feed_dates_without_offset() -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>A</title><pubDate>2024-10-15T08:30:00</pubDate></item>"
        b"<item><title>B</title><pubDate>Tue, 15 Oct 2024 08:30:00 EST</pubDate></item>"
        b"<item><title>C</title><pubDate>ngay mai</pubDate></item></channel></rss>"
    )
    naive, named_zone, unreadable = data_of(list(read_feed("f.xml", data)))
    assert naive["published"] == "2024-10-15T08:30:00"  # left to the validator (Vietnam time)
    assert named_zone["published"] == "2024-10-15T08:30:00-05:00"
    assert unreadable["published"] is None
