"""The hashes written out field by field (`validate.canonical`) are the bytes
`identity.digest` makes of the canonical form: a different byte would make every
published post look edited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher import identity
from publisher.validate import canonical

# Strings as YAML gives them: any code point but surrogates (quotes, backslashes,
# control characters, U+2028, astral planes included).
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
maybe_text = st.none() | text
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | text
    | st.dates()
    | st.datetimes(timezones=st.just(dt.UTC))
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
media = st.lists(
    st.tuples(maybe_text, text, st.sampled_from(["image", "video"])).map(list), max_size=3
)


def reference(**f: Any) -> str:
    """The canonical form as `validate.targets` defined it before it was written out."""
    form: dict[str, Any] = {
        "account": f["account"],
        "platform": f["platform"],
        "direct": f["direct"],
        "text": f["text"],
        "media": f["media"],
        "firstComment": f["first_comment"],
        "options": f["options"],
        "scheduledAt": f["scheduled_at"],
        "publishNow": f["publish_now"],
        "profileId": f["profile_id"],
    }
    if f["bluesky"] is not None:
        form["bluesky"] = f["bluesky"]
    if f["refs"] is not None:
        form["refs"] = f["refs"]
    return identity.digest(form)


@settings(max_examples=400, deadline=None)
@given(
    account=maybe_text,
    platform=maybe_text,
    direct=maybe_text,
    text=text,
    media=media,
    first_comment=maybe_text,
    options=st.none() | st.dictionaries(text, json_like, min_size=1, max_size=4),
    scheduled_at=maybe_text,
    publish_now=st.booleans(),
    profile_id=maybe_text,
    bluesky=st.none()
    | st.fixed_dictionaries(
        {"langs": st.lists(text, max_size=2)}, optional={"quotes": st.just(False)}
    ),
    refs=st.none() | st.dictionaries(st.sampled_from(["reply_to", "quote", "repost"]), text),
)
def test_target_hash_is_the_digest_of_the_canonical_form(**fields: Any) -> None:
    assert canonical.target_hash(**fields) == reference(**fields)


@settings(max_examples=200, deadline=None)
@given(
    hashes=st.dictionaries(text, text, min_size=1, max_size=5),
    parts=st.dictionaries(text, st.lists(text, max_size=2), max_size=2),
)
def test_post_hash_is_identitys(hashes: dict[str, str], parts: dict[str, list[str]]) -> None:
    assert canonical.post_hash(hashes, parts) == identity.post_hash(hashes, parts)
    assert canonical.post_hash(hashes, {}) == identity.post_hash(hashes)


def test_a_known_target_keeps_its_hash() -> None:
    """A plain target's hash, as recorded in files published before this module."""
    got = canonical.target_hash(
        account=None,
        platform="bluesky",
        direct=None,
        text='Hello \u00e9 "world"\n\u2028\U0001f600',
        media=[["ab" * 32, "", "image"]],
        first_comment=None,
        options=None,
        scheduled_at=None,
        publish_now=False,
        profile_id=None,
    )
    assert got == "sha256:9dc4fa3f5221e6ac81e0271ef4f9afdf461a3cc401d0b4931dcacbe50c5485fc"
