"""Every meter shows the number the platform counts: the preview model (CI's plan
preview, `watch` lines), the terminal preview and the live page's JSON.

The text holds what counters get wrong: links without a scheme (23 each on X), an emoji
sequence (one grapheme; 2 on X; 8 UTF-16 units), an Indic conjunct (one grapheme;
4 code points on X), CJK (2 each on X), combining marks. The expected numbers are the
platforms' own: twitter-text 3.1.0's ``parseTweet`` for X, ``Intl.Segmenter`` for
Bluesky (what the PDS and letmepost count), JavaScript's ``length`` for TikTok.
"""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.plan import make_plan
from publisher.preview.page import PreviewHub, serve
from publisher.preview.terminal import render_post
from publisher.preview.views import PostPreview, build_preview
from publisher.run import Run
from publisher.validate import load_post
from tests.helpers import make_repo

TEXT = "example.org and github.com/foo 👨\u200d👩\u200d👧 日本 क्षि e\u0301"
CONFIG = '[accounts]\nx = "twitter"\ntt = "tiktok"\n'
# platform -> (label, used, limit, unit)
EXPECTED = {
    "bluesky": ("bluesky", 39, 300, "graphemes"),
    "twitter": ("x", 66, 280, "weighted"),  # 23 + 5 + 23 + 1 + 2 + 1 + 4 + 1 + 4 + 1 + 1
    "tiktok": ("tt", 49, 2200, "utf16"),  # the text as posted: NFC, so é is one unit
}


@pytest.fixture
def preview(tmp_path: Path) -> PostPreview:
    media = "media:\n  - path: clip.mp4\n    alt: A clip\n"
    body = f"---\ntargets: [bluesky, x, tt]\n{media}---\n{TEXT}\n"
    root = make_repo(tmp_path, {"a.md": body}, config=CONFIG)
    (root / "posts" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    post = load_post(root / "posts" / "a.md", load_config(path=root / "publisher.toml"))
    return build_preview(post, make_plan([post], Run()).files[0], root=root)


def test_the_model_measures_as_the_platforms_count(preview: PostPreview) -> None:
    assert preview.state == "new", preview
    by_platform = {t.platform: t for t in preview.targets}
    assert set(by_platform) == set(EXPECTED)
    for platform, (label, used, limit, unit) in EXPECTED.items():
        t = by_platform[platform]
        assert t.length is not None
        assert (t.label, t.length.used, t.length.limit, t.length.unit) == (
            label,
            used,
            limit,
            unit,
        )
        assert f"{used}/{limit}" in t.meter()
        assert f"{platform} {used}/{limit}" in t.length_text()


def test_the_terminal_preview_shows_the_same_numbers(preview: PostPreview) -> None:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(render_post(preview))
    shown = out.getvalue()
    for _, used, limit, unit in EXPECTED.values():
        assert f"{used}/{limit} {unit}" in shown


def test_the_live_page_serves_the_same_numbers(preview: PostPreview, tmp_path: Path) -> None:
    hub = PreviewHub(fetch_cards=False)
    hub.update(preview)
    server = serve(hub, root=tmp_path, port=0)
    try:
        with urllib.request.urlopen(server.url + "api/posts", timeout=10) as r:
            data = json.load(r)
    finally:
        server.close()
        hub.close()
    (post,) = data["posts"]
    lengths = {t["platform"]: t["length"] for t in post["targets"]}
    for platform, (_, used, limit, unit) in EXPECTED.items():
        assert lengths[platform] == {"used": used, "limit": limit, "unit": unit, "over": False}
