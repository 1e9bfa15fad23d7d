"""Bluesky's length limits as the PDS enforces them, against publisher's verdict.

Texts of 300 and 301 graphemes made of hard kinds (emoji sequences, flags, combining
marks, CJK, Indic conjuncts, Hangul jamo, CR LF) go to a REAL local PDS as
``app.bsky.feed.post`` records (its lexicon validation: at most 300 graphemes and 3000
UTF-8 bytes); whether the PDS stores or refuses each must be what ``limits.check``
says for a Bluesky target with that text. The direct backend's own check
(``bluesky_pds.check_post``) is held to the same verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from publisher.clients.atproto import BlueskyError, check_post
from publisher.rules.limits import Content, check, graphemes, measure, utf8_length
from tests.fixtures.pds import LocalPds

pytestmark = pytest.mark.pds

# One grapheme each (as Intl.Segmenter, the PDS's counter, and publisher count them).
KINDS = {
    "zwj-family": "👨\u200d👩\u200d👧\u200d👦",
    "rainbow-flag": "🏳️\u200d🌈",
    "flag": "🇫🇷",
    "tag-flag": "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "skin-tone": "👍🏽",
    "keycap": "#️⃣",
    "combining": "e\u0301\u0323",
    "zalgo": "Z\u0351\u0352\u0357\u035b\u0346",
    "cjk": "語",
    "hangul-jamo": "\u1100\u1161\u11a8",
    "devanagari-conjunct": "क्षि",  # an Indic conjunct: one cluster (Unicode 15.1)
    "malayalam-conjunct": "ക്ഷ",
    "tamil": "ஷ்",
    "thai": "กำ",
    "crlf": "\r\n",
}


def _texts() -> Iterator[tuple[str, str]]:
    for name, cluster in KINDS.items():
        assert graphemes(cluster) == 1, name
        # Mostly the hard kind, padded with ASCII to stay within the 3000 bytes...
        k = min(300, 2700 // len(cluster.encode()))
        mixed = cluster * k + "a" * (300 - k)
        yield f"{name}-300", mixed
        yield f"{name}-301", mixed + "a"
        yield f"{name}-301-hard-last", mixed[:-1] + "a" + cluster if k < 300 else mixed + cluster
        # ... and nothing but the hard kind, which can be over the byte limit.
        yield f"{name}-only-300", cluster * 300
        yield f"{name}-only-301", cluster * 301


TEXTS = list(_texts())


@pytest.fixture(scope="module")
def session(pds: LocalPds) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=pds.url, timeout=30) as client:
        r = client.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": pds.handle, "password": pds.password},
        )
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['accessJwt']}"
        yield client, pds.did


def _pds_accepts(session: tuple[httpx.Client, str], text: str) -> tuple[bool, str]:
    client, did = session
    record = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    r = client.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": did, "collection": "app.bsky.feed.post", "record": record, "validate": True},
    )
    if r.status_code == 200:
        return True, ""
    assert r.status_code == 400, r.text  # a refusal, not a broken server
    return False, r.json().get("message", "")


LENGTH_RULES = {"bluesky.text.max_graphemes", "bluesky.text.max_bytes"}


def _publisher_accepts(text: str) -> bool:
    """No length finding (a blank text, "\r\n" * 300, is letmepost's business: the PDS
    takes it, letmepost refuses it as empty)."""
    return not {f.rule for f in check(Content("bluesky", text))} & LENGTH_RULES


def _direct_accepts(text: str) -> bool:
    try:
        check_post(text)
    except BlueskyError:
        return False
    return True


@pytest.mark.parametrize(("name", "text"), TEXTS, ids=[name for name, _ in TEXTS])
def test_publisher_and_the_pds_agree(
    session: tuple[httpx.Client, str], name: str, text: str
) -> None:
    pds_ok, why = _pds_accepts(session, text)
    ours = _publisher_accepts(text)
    assert ours == pds_ok, (
        f"{name}: publisher {'accepts' if ours else 'refuses'}, the PDS "
        f"{'accepts' if pds_ok else 'refuses'} ({why}); {measure('bluesky', text).used} "
        f"graphemes, {utf8_length(text)} bytes"
    )
    assert _direct_accepts(text) == pds_ok


def test_the_boundary_is_the_grapheme_count(session: tuple[httpx.Client, str]) -> None:
    """The mixed texts sit exactly on the limit: 300 graphemes pass, 301 are refused (so
    the agreement above is not two counters agreeing on everything)."""
    verdicts = {name: _pds_accepts(session, text)[0] for name, text in TEXTS}
    for name in KINDS:
        assert verdicts[f"{name}-300"], name
        assert not verdicts[f"{name}-301"], name
        assert not verdicts[f"{name}-301-hard-last"], name
    # Some kinds are too heavy for 300 in 3000 bytes: the byte limit refuses those.
    assert not verdicts["zwj-family-only-300"]
    assert verdicts["cjk-only-300"]
