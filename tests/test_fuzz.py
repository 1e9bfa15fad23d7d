"""Property-based tests of SPEC promise 3 for the reading pipeline: bad input gets a
clear message naming file and line, and never a traceback.

Post files (arbitrary bytes, random text, and YAML built from a grammar of frontmatter
keys and values, then mangled: anchors, tags, duplicate keys, tabs, CRLF, a BOM, '---'
in odd places) go through `load_post` and `make_plan`; every problem must name the
file and a line that exists. Valid posts must take a `published` block and give it
back byte for byte, and read back with the same hash and nothing left to do.
`publisher.toml` / `pyproject.toml` contents may only ever end in a `ConfigError`.

Examples are derandomized and bounded, so a CI run is stable and takes seconds.
Crashes found by these properties are pinned as plain tests at the end of the file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from publisher.config import Config, ConfigError, _from_table, load_config
from publisher.plan import make_plan
from publisher.post import Post
from publisher.run import Env, Run
from publisher.validate import load_post
from publisher.writeback import WritebackError, set_published

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
POST_REL = "posts/p.md"
UUID_MAIN = "6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09"
UUID_PIN = "0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"
CONFIG = f"""\
posts = "posts"

[accounts]
x = "twitter"
main = "{UUID_MAIN}"
pin = {{ id = "{UUID_PIN}", platform = "pinterest" }}

[accounts.me]
bluesky = "alice.bsky.social"
pds = "http://127.0.0.1:9"
password_env = "FUZZ_BSKY_PASSWORD"
"""
# A 1x1 PNG and the first box of an MP4: enough for the type sniffer.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


@dataclass(frozen=True)
class Repo:
    root: Path
    post: Path
    config: Config


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """One repository for all examples: the post file is rewritten for each."""
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "repo"
    img = root / "posts" / "img"
    (img / "dir").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "publisher.toml").write_text(CONFIG)
    (img / "a.png").write_bytes(PNG)
    (img / "clip.mp4").write_bytes(MP4)
    (img / "notes.txt").write_text("not an image\n")
    (base / "outside").mkdir()
    (base / "outside" / "x.png").write_bytes(PNG)
    (img / "link.png").symlink_to(base / "outside" / "x.png")
    return Repo(root, root / "posts" / "p.md", load_config(root))


# --------------------------------------------------------------------------- grammar

ALIASES = ["x", "main", "pin", "me", UUID_MAIN, UUID_MAIN.upper()]
PLATFORMS = ["bluesky", "twitter", "threads", "linkedin", "facebook", "instagram"]
PLATFORMS += ["pinterest", "tiktok"]
ODD_NAMES = ["", " x ", "blusky", "Twitter", "abc-def-0123456789abcdef", "6f1c2b9e", "null"]
MEDIA_PATHS = [
    "img/a.png",
    "./img/a.png",
    "img/../img/a.png",
    "img/clip.mp4",
    "img/notes.txt",
    "img/dir",
    "img/link.png",
    "img/missing.png",
    "../../outside/x.png",
    "../../../../../../etc/passwd",
    "/etc/passwd",
    "~/x.png",
    "C:\\x.png",
    "\\\\server\\share\\x.png",
    "img/a\x00.png",
    "\x00",
    ".",
    "..",
    "",
    "img/" + "é" * 300 + ".png",
    "a/" * 2100 + "x.png",
    "img/a.png?x=1",
    "img/\u202ea.png",
]
URLS = ["https://example.org/a.png", "http://x/y.mp4", "https://example.org/", "ftp://x/a.png"]
URLS += ["https://", "javascript:alert(1)", "https://example.org/a b.png"]
TIMESTAMPS = [
    "2027-01-01T09:00:00+01:00",
    "2027-01-01T09:00:00Z",
    "2027-01-01 09:00:00 +1",
    "2027-01-01T09:00:00",
    "2027-01-01",
    "2027-13-01T00:00:00Z",
    "2027-02-30T00:00:00Z",
    "2027-01-01T24:00:00Z",
    "2027-01-01T09:00:00+24:00",
    "2027-01-01T09:00:00+99:99",
    "2027-01-01T09:00:00+01:00:30.5",
    "2027-01-01T09:00:00.123456789Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999-23:59",
    "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "2020-01-01T00:00:00Z",
    "tomorrow",
    "",
    "T",
    "2027-W01-1T00:00:00Z",
]


def _chance(draw: st.DrawFn, p: float) -> bool:
    """True with probability `p`. Hypothesis favours the simplest choice (the first
    branch, 0, the lower bound), which would make most posts fail at their first byte;
    a seeded `Random` gives the weights asked for, and derandomize keeps the seeds fixed."""
    return draw(st.randoms(use_true_random=True)).random() < p


@st.composite
def mostly(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """`good` three times in four: deep checks are reached only by mostly valid posts."""
    return draw(good if _chance(draw, 0.75) else bad)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(timezones=st.just(dt.UTC) | st.none()),
)
# Text with no control characters or line separators (U+0085, U+2028, U+2029): YAML
# reads those as line breaks, so the write-back refuses a file holding them, by design.
clean_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=20
)
clean_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | clean_text | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(clean_text, inner, max_size=3),
    max_leaves=8,
)
json_ish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
).map(dt.timezone)
moments = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=offsets
)
schedule = st.one_of(
    moments,
    moments.map(lambda m: m.isoformat()),
    moments.map(lambda m: m.isoformat(" ", "milliseconds")),
    st.datetimes(),
    st.dates(),
    st.sampled_from(TIMESTAMPS),
    st.integers(),
    st.lists(st.sampled_from(TIMESTAMPS), max_size=2),
)
alt_text = mostly(
    st.text(min_size=1, max_size=20).filter(str.strip),
    st.sampled_from(["", " ", "x" * 2001]) | scalars,
)
media_item = mostly(
    st.fixed_dictionaries(
        {"path": st.sampled_from(MEDIA_PATHS), "alt": alt_text},
        optional={"kind": mostly(st.sampled_from(["image", "video"]), scalars)},
    )
    | st.fixed_dictionaries({"url": st.sampled_from(URLS), "alt": alt_text}),
    st.fixed_dictionaries(
        {},
        optional={
            "path": st.text(max_size=20) | scalars,
            "url": st.sampled_from(URLS) | scalars,
            "alt": alt_text,
            "kind": st.sampled_from(["gif", ""]) | scalars,
            "size": st.integers(),
        },
    )
    | st.sampled_from(MEDIA_PATHS)
    | scalars,
)
media = mostly(st.lists(media_item, max_size=5), media_item)
first_comment = mostly(
    st.text(min_size=1, max_size=30) | st.fixed_dictionaries({"text": st.text(min_size=1)}),
    st.fixed_dictionaries({}, optional={"text": scalars, "uri": st.text()}) | scalars,
)
option_values = mostly(st.text(max_size=8) | st.booleans(), json_ish)
options = mostly(
    st.fixed_dictionaries(
        {"platform": mostly(st.sampled_from(PLATFORMS), scalars)},
        optional={
            key: option_values
            for key in ["boardId", "privacy", "replyToUri", "replyToCid", "quoteTweetId", "when"]
        },
    ),
    json_ish,
)
target_map = mostly(
    st.fixed_dictionaries(
        {"platform": st.sampled_from(PLATFORMS)},
        optional={
            "text": mostly(st.text(min_size=1, max_size=40), scalars),
            "media": media,
            "firstComment": first_comment,
            "options": options,
        },
    )
    | st.fixed_dictionaries(
        {"account": st.sampled_from(ALIASES)},
        optional={"options": options, "media": media},
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "account": st.sampled_from(ALIASES + ODD_NAMES) | scalars,
            "accountId": st.sampled_from([UUID_MAIN, UUID_PIN, "nope"]) | scalars,
            "platform": st.sampled_from(PLATFORMS + ODD_NAMES) | scalars,
            "text": st.text(max_size=40) | scalars,
            "unknown": scalars,
        },
    ),
)
target = mostly(
    st.sampled_from(ALIASES + PLATFORMS) | target_map,
    st.sampled_from(ODD_NAMES) | st.text(max_size=10) | scalars,
)
targets = mostly(
    st.lists(target, min_size=1, max_size=4),
    st.lists(st.sampled_from(ALIASES + PLATFORMS), max_size=30) | target,
)
published = mostly(
    st.fixed_dictionaries(
        {"env": st.sampled_from(["live", "sandbox"])},
        optional={
            "api": st.sampled_from(["https://api.letmepost.dev", "http://127.0.0.1:1"]),
            "hash": st.text(max_size=8),
            "status": st.sampled_from(["published", "queued", "failed"]),
            "targets": st.dictionaries(
                st.sampled_from(ALIASES + PLATFORMS) | st.text(max_size=5),
                st.fixed_dictionaries(
                    {"status": st.sampled_from(["published", "queued", "failed", "pending"])},
                    optional={
                        "hash": st.text(max_size=8),
                        "platform": st.sampled_from(PLATFORMS),
                        "account": st.sampled_from([UUID_MAIN, UUID_PIN]),
                        "attempt": st.integers(0, 3),
                        "error": st.fixed_dictionaries(
                            {"code": st.sampled_from(["rate_limited", "outcome_unknown", "x"])}
                        ),
                    },
                ),
                max_size=3,
            ),
        },
    ),
    json_ish,
)
frontmatter = st.fixed_dictionaries(
    {"targets": targets},
    optional={
        "scheduledAt": mostly(schedule, scalars),
        "publishNow": mostly(st.booleans(), scalars),
        "firstComment": first_comment,
        "media": media,
        "profileId": mostly(st.just(UUID_MAIN), scalars),
        "draft": mostly(st.booleans(), st.sampled_from(["yes", "true", 1])),
        "meta": json_ish,
        "published": published,
    },
) | st.fixed_dictionaries(
    {},
    optional={
        "targets": targets,
        "scheduleAt": st.sampled_from(TIMESTAMPS),
        "Targets": targets,
        "meta": json_ish,
    },
)
bodies = mostly(
    st.text(min_size=1, max_size=60),
    st.sampled_from(["", "---", "\n---\ntargets: [x]\n", "...", "x" * 400, "🙂" * 301])
    | st.text(alphabet="ab \t\r\n-.:#&*!|>", max_size=30),
)

# Lines that YAML, the document reader or the write-back treat specially.
FRAGMENTS = [
    "a: &a [1, 2]",
    "b: *a",
    "<<: *a",
    "c: *nowhere",
    "d: !!python/object/apply:os.system ['true']",
    "e: !custom x",
    "f: !!binary aGk=",
    "g: !!set {a, b}",
    "h: !!omap [a: 1]",
    "i: !!timestamp nope",
    "j: !!int x",
    "k: !!float 1e999",
    "l: !!str 1",
    "m: 0o777",
    "n: 1_000",
    "o: .nan",
    "p: " + "[" * 40 + "]" * 40,
    "q: " + "{a: " * 40 + "1" + "}" * 40,
    "? [complex, key]\n: value",
    "? a\n",
    "targets: [x]",
    "targets:",
    "- x",
    "  - platform: bluesky",
    "    text: hi",
    "\ttargets: [x]",
    "targets:\t[x]",
    "published:",
    "published: {}",
    "published: null",
    "  status: published",
    "published: |",
    "  literal",
    "---",
    "...",
    "--- # comment",
    "%YAML 1.1",
    "%TAG !e! tag:example.com,2000:",
    "# comment",
    "",
    " ",
    "key: 'unterminated",
    'key: "\\x00\\u2028\\x85"',
    "key: \x85",
    "key: \x85\x85\x85\x85\x85",
    "key: \u2028\u2029\u2028\u2029",
    "key: x\r\r\r\r",
    "key: '\x85\x85\x85'",
    "'quoted key': 1",
    "1: int key",
    "null: null key",
    "true: bool key",
    "2027-01-01: date key",
    "scheduledAt: 0001-01-01 00:00:00 +01:00",
    "scheduledAt: 9999-12-31 23:59:59 -01:00",
    "scheduledAt: 2027-01-01t09:00:00.5-0130",
    "media: [{path: ../x.png, alt: a}]",
    "+++",
]


@st.composite
def yaml_posts(draw: st.DrawFn) -> bytes:
    """A post whose frontmatter is dumped from random data, then possibly mangled."""
    data = draw(frontmatter)
    style = draw(st.sampled_from([None, False, True]))
    quote = draw(st.sampled_from([None, None, '"', "'"]))
    text = yaml.safe_dump(
        data,
        default_flow_style=style,
        default_style=quote,
        allow_unicode=draw(st.booleans()),
        sort_keys=False,
        width=draw(st.sampled_from([20, 80, 1 << 30])),
    )
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3)) if _chance(draw, 0.4) else 0):
        op = draw(st.sampled_from(["insert", "insert", "delete", "duplicate", "indent"]))
        at = draw(st.integers(0, len(lines)))
        if op == "insert":
            lines.insert(at, draw(st.sampled_from(FRAGMENTS)))
        elif lines and at < len(lines):
            if op == "delete":
                del lines[at]
            elif op == "duplicate":
                lines.insert(at, lines[at])
            else:
                lines[at] = draw(st.sampled_from([" ", "  ", "\t", "- "])) + lines[at]
    head = (
        "---" if _chance(draw, 0.9) else draw(st.sampled_from(["--- ", "----", "+++", " ---", ""]))
    )
    foot = "---" if _chance(draw, 0.9) else draw(st.sampled_from(["...", "--- ", "", "+++"]))
    doc = "\n".join([head, *lines, foot, draw(bodies)])
    return _encode(draw, doc)


@st.composite
def fragment_posts(draw: st.DrawFn) -> bytes:
    """A post made of special lines only."""
    lines = draw(st.lists(st.sampled_from(FRAGMENTS), max_size=8))
    doc = "\n".join(["---", *lines, "---", draw(bodies)])
    return _encode(draw, doc)


def _encode(draw: st.DrawFn, doc: str) -> bytes:
    eol = "\n" if _chance(draw, 0.7) else draw(st.sampled_from(["\r\n", "\r\n", "\r", "mixed"]))
    if eol == "mixed":
        doc = doc.replace("\n", "\r\n", 1)
    elif eol != "\n":
        doc = doc.replace("\n", eol)
    raw = doc.encode()
    if _chance(draw, 0.2):
        raw = b"\xef\xbb\xbf" + raw
    if _chance(draw, 0.05):  # one bad byte somewhere
        at = draw(st.integers(0, len(raw)))
        raw = (
            raw[:at]
            + draw(st.sampled_from([b"\xff", b"\x00", b"\xc3", b"\xed\xa0\x80"]))
            + raw[at:]
        )
    return raw


raw_posts = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.text(max_size=100).map(lambda t: f"---\n{t}\n---\n{t}\n".encode()),
)
post_bytes = mostly(yaml_posts(), fragment_posts() | raw_posts)


@st.composite
def valid_posts(draw: st.DrawFn) -> bytes:
    """Posts that are valid by construction, in many YAML spellings."""
    names = ["x", "main", "bluesky", "threads", "linkedin", "twitter"]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    data: dict[str, Any] = {"targets": chosen}
    if draw(st.booleans()):
        data["targets"] = [
            {"platform": n} if n in PLATFORMS and draw(st.booleans()) else n for n in chosen
        ]
    scheduled = draw(st.booleans())
    if scheduled:
        moment = draw(
            st.datetimes(
                min_value=dt.datetime(2027, 1, 1),
                max_value=dt.datetime(9998, 12, 31),
                timezones=offsets.filter(
                    lambda z: z.utcoffset(None) % dt.timedelta(minutes=1) == dt.timedelta(0)
                ),
            )
        )
        data["scheduledAt"] = draw(st.sampled_from([moment, moment.isoformat()]))
    elif draw(st.booleans()):
        data["firstComment"] = draw(st.sampled_from(["See https://example.org", {"text": "more"}]))
    if draw(st.booleans()):
        data["media"] = [{"path": "img/a.png", "alt": draw(clean_text.filter(str.strip))}]
    if draw(st.booleans()):
        data["meta"] = draw(st.dictionaries(clean_text, clean_json, max_size=3))
    if draw(st.booleans()):
        data["draft"] = False
    keys = draw(st.permutations(list(data)))
    data = {k: data[k] for k in keys}
    text = yaml.safe_dump(
        data,  # a flow mapping at the top ({...}) is refused by the write-back, by design
        default_flow_style=draw(st.sampled_from([None, False])),
        default_style=draw(st.sampled_from([None, '"', "'"])),
        allow_unicode=draw(st.booleans()),
        sort_keys=False,
        width=1 << 30,
    )
    lines = text.rstrip("\n").split("\n")
    if draw(st.booleans()):  # comments before top-level keys
        lines = [
            out
            for line in lines
            for out in (["# note: --- not a delimiter"] if re.match(r"[A-Za-z\"']", line) else [])
            + [line]
        ]
    doc = "\n".join(["---", *lines, "---", "", "Hello " + draw(clean_text), ""])
    if draw(st.booleans()):
        doc = doc.replace("\n", "\r\n")
    raw = doc.encode()
    return b"\xef\xbb\xbf" + raw if draw(st.booleans()) else raw


# --------------------------------------------------------------------------- checks


def _line_count(raw: bytes) -> int:
    """Lines in the file as an editor numbers them (LF-terminated)."""
    return raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)


def _check_problems(post: Post, raw: bytes) -> None:
    last = _line_count(raw) + 1
    for p in post.problems:
        assert p.path == POST_REL, p
        assert 1 <= p.line <= last, (p, last)
        assert p.col >= 1, p
        assert p.code.strip() and p.message.strip(), p
        assert p.severity in ("error", "warning"), p
        assert str(p).startswith(f"{POST_REL}:{p.line}:{p.col}: ")
    if not post.valid:
        assert post.hash is None


def _record(post: Post) -> dict[str, Any]:
    """The `published` block a live run would write for `post`."""
    return {
        "env": "sandbox",
        "api": "http://127.0.0.1:1",
        "hash": post.hash,
        "status": "published",
        "updatedAt": "2026-06-01T12:00:00Z",
        "targets": {
            t.label: {
                "platform": t.platform,
                "account": t.account_id,
                "status": "published",
                "hash": t.hash,
                "key": f"pub-s-{i:064x}",
                "attempt": 1,
                "uri": f"at://did:plc:fuzz/app.bsky.feed.post/{i}",
                "at": NOW,
            }
            for i, t in enumerate(post.targets)
        },
    }


def _check_writeback(repo: Repo, post: Post, raw: bytes) -> bool:
    """Set then remove a `published` block; True when the round trip ran."""
    base = raw
    try:
        if post.record is not None or (post.doc and "published" in post.doc.data):
            base = set_published(raw, None, path=POST_REL)
        new = set_published(base, _record(post), path=POST_REL)
    except WritebackError as exc:
        assert str(exc).startswith(POST_REL)
        return False
    assert set_published(new, None, path=POST_REL) == base
    repo.post.write_bytes(new)
    again = load_post(repo.post, repo.config, now=NOW)
    _check_problems(again, new)
    assert again.valid, [str(p) for p in again.problems]
    assert again.hash == post.hash
    assert again.record is not None
    assert set(again.record.targets) == {t.label for t in post.targets}
    plan = make_plan([again], Run(Env.SANDBOX, "http://127.0.0.1:1"), now=NOW)
    assert {t.action for t in plan.files[0].targets} <= {"none"}, plan.as_dict()
    return True


def _check_post(repo: Repo, raw: bytes) -> Post:
    note(repr(raw))
    repo.post.write_bytes(raw)
    post = load_post(repo.post, repo.config, now=NOW)
    assert post.rel == POST_REL
    _check_problems(post, raw)
    event("valid" if post.valid else f"invalid: {post.errors[0].code}")
    for env in ("live", "sandbox"):
        plan = make_plan([post], Run(Env(env)), now=NOW)
        json.dumps(plan.as_dict(), default=str)
        if not post.valid:
            assert plan.files[0].state == "invalid"
    if post.valid and not post.draft:
        _check_writeback(repo, post, raw)
    return post


# --------------------------------------------------------------------------- properties


@FUZZ
@given(raw=post_bytes)
def test_any_post_file_is_a_message_never_a_traceback(repo: Repo, raw: bytes) -> None:
    _check_post(repo, raw)


@FUZZ
@given(raw=valid_posts())
def test_valid_posts_in_any_yaml_style_take_and_give_back_a_record(repo: Repo, raw: bytes) -> None:
    repo.post.write_bytes(raw)
    post = load_post(repo.post, repo.config, now=NOW)
    assert post.valid, [str(p) for p in post.problems]
    _check_problems(post, raw)
    assert _check_writeback(repo, post, raw)


# --------------------------------------------------------------------------- config

CONFIG_KEYS = ["posts", "api_url", "profile", "targets", "require_alt", "accounts", "allow_repost"]
toml_scalars = st.one_of(
    st.text(max_size=12),
    st.sampled_from([UUID_MAIN, "twitter", "bluesky", "x", "https://x", "/abs", "../up", ""]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.datetimes(timezones=st.just(dt.UTC) | st.none()),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=8)
            | st.sampled_from(["bluesky", "pds", "id", "password_env", "platform"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=10,
)
account_values = st.one_of(
    st.sampled_from([UUID_MAIN, "twitter", "bluesky", "nope"]),
    st.fixed_dictionaries(
        {},
        optional={
            "bluesky": st.sampled_from(["alice.bsky.social", "@a.b", "x"]) | toml_values,
            "pds": st.sampled_from(["https://bsky.social", "ftp://x"]) | toml_values,
            "password_env": st.sampled_from(["PW", "1x", ""]) | toml_values,
            "id": st.sampled_from([UUID_MAIN, "nope"]) | toml_values,
            "platform": st.sampled_from([*PLATFORMS, "nope"]) | toml_values,
            "extra": toml_values,
        },
    ),
    toml_values,
)
config_tables = st.fixed_dictionaries(
    {},
    optional={
        "posts": st.sampled_from(["posts", "", ".", "a/b", "/abs", "../up", "a\x00b"])
        | toml_values,
        "api_url": st.sampled_from(
            ["https://api.letmepost.dev", "http://[::1", "http://x:99999", "x"]
        )
        | toml_values,
        "profile": st.sampled_from([UUID_MAIN, "nope"]) | toml_values,
        "targets": st.lists(
            st.sampled_from(["x", "main", "twitter", UUID_MAIN, "nope", ""]), max_size=30
        )
        | toml_values,
        "require_alt": toml_values,
        "allow_repost": toml_values,
        "accounts": st.dictionaries(
            st.sampled_from(["x", "main", "bluesky", "me", ""]) | st.text(max_size=5),
            account_values,
            max_size=4,
        )
        | toml_values,
        "unknown": toml_values,
    },
)


def _toml_str(text: str) -> str:
    out = "".join(
        f"\\u{ord(c):04x}"
        if ord(c) < 0x20 or ord(c) == 0x7F
        else "\\\\"
        if c == "\\"
        else '\\"'
        if c == '"'
        else c
        for c in text
    )
    return f'"{out}"'


def _toml_value(value: Any) -> str:
    """A value as inline TOML (floats and times as TOML spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_str(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml(table: dict[str, Any]) -> str:
    return "".join(f"{_toml_str(k)} = {_toml_value(v)}\n" for k, v in table.items())


TOML_FRAGMENTS = [
    'posts = "posts"',
    "posts = 1",
    'api_url = "http://127.0.0.1:1"',
    'profile = "nope"',
    'targets = ["x", "x"]',
    "targets = [1, [2]]",
    'require_alt = "yes"',
    "[accounts]",
    'x = "twitter"',
    f'main = "{UUID_MAIN}"',
    "me = { bluesky = 1 }",
    "[accounts.me]",
    'bluesky = "alice.bsky.social"',
    "pds = []",
    'password_env = "hunter2 not a name"',
    "[accounts.me.deeper]",
    "[[accounts]]",
    "[tool]",
    "[tool.publisher]",
    "tool = 1",
    "publisher = 1",
    'publisher = "abc"',
    "publisher = []",
    "[tool.publisher.accounts]",
    "a = 1979-05-27T07:32:00Z",
    "b = 07:32:00",
    "c = nan",
    "d = 0x_bad",
    'e = "\\ud800"',
    "'' = 1",
    "= 1",
    "[",
    "x = { a = 1, a = 2 }",
    "x = 1\nx = 2",
    '\ufeffposts = "p"',
]


@st.composite
def config_texts(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=120))
    if kind == 1:
        return draw(st.text(max_size=120)).encode("utf-8", "surrogatepass")
    if kind == 2:
        return "\n".join(draw(st.lists(st.sampled_from(TOML_FRAGMENTS), max_size=8))).encode()
    return _toml(draw(config_tables)).encode()


def _load_or_config_error(root: Path, path: Path | None = None) -> None:
    try:
        config = load_config(root, path)
    except ConfigError as exc:
        assert str(exc).strip()
        return
    assert isinstance(config, Config)


@FUZZ
@given(raw=config_texts())
def test_any_publisher_toml_is_a_config_error_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    root = _config_root(tmp_path_factory)
    (root / "publisher.toml").write_bytes(raw)
    note(repr(raw))
    _load_or_config_error(root)
    _load_or_config_error(root, root / "publisher.toml")


@FUZZ
@given(raw=config_texts())
def test_any_pyproject_is_a_config_error_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    root = _config_root(tmp_path_factory, "pyproject")
    (root / "pyproject.toml").write_bytes(b"[tool.publisher]\n" + raw)
    note(repr(raw))
    _load_or_config_error(root)
    (root / "pyproject.toml").write_bytes(raw)
    _load_or_config_error(root)


@FUZZ
@given(table=config_tables)
def test_config_tables_with_wrong_types_are_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, table: dict[str, Any]
) -> None:
    """Wrong types anywhere are a ConfigError, the same whether the table comes from
    a file or not (which also shows the TOML written here reads back as `table`)."""
    root = _config_root(tmp_path_factory)
    direct = _outcome(lambda: _from_table(table, root, root / "publisher.toml"))
    (root / "publisher.toml").write_text(_toml(table), encoding="utf-8")
    assert _outcome(lambda: load_config(root)) == direct


def _outcome(load: Callable[[], Config]) -> str:
    try:
        assert isinstance(load(), Config)
    except ConfigError as exc:
        assert str(exc).strip()
        return "ConfigError"
    return "Config"


_ROOTS: dict[str, Path] = {}


def _config_root(factory: pytest.TempPathFactory, name: str = "config") -> Path:
    """One folder per kind, made once (a function-scoped fixture would be shared by
    every example anyway)."""
    if name not in _ROOTS:
        root = factory.mktemp(name)
        (root / ".git").mkdir()
        _ROOTS[name] = root
    return _ROOTS[name]


# --------------------------------------------------------------------------- reproducers
# Crashes and wrong lines found by the properties above, pinned as plain tests.


def test_date_in_target_options_is_a_problem_not_a_crash(repo: Repo) -> None:
    """Regression (found by fuzzing): a YAML date inside a target's `options` reaches the
    content hash, and json.dumps raises TypeError (publisher/post.py:505 ->
    identity.canonical_bytes): a traceback instead of a message on line 4."""
    repo.post.write_bytes(
        b"---\ntargets:\n  - platform: bluesky\n"
        b"    options: {platform: bluesky, replyToUri: 2026-01-01}\n---\nHello\n"
    )
    post = load_post(repo.post, repo.config, now=NOW)
    assert not post.valid
    assert any(p.line == 4 for p in post.errors), [str(p) for p in post.problems]


@pytest.mark.parametrize(
    "raw",
    [b"tool = 1\n", b'tool = "x"\n', b"[tool]\npublisher = 1\n", b"[tool]\npublisher = [1]\n"],
)
def test_pyproject_with_a_tool_publisher_that_is_no_table_is_a_config_error(
    tmp_path: Path, raw: bytes
) -> None:
    """Regression (found by fuzzing): publisher/config.py:124 calls .get on whatever `tool` and
    `tool.publisher` are (AttributeError), and _from_table (config.py:141) iterates a
    non-table (TypeError, or AttributeError in did_you_mean for a list of ints)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_bytes(raw)
    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("raw", "lines"),
    [
        # U+0085 (NEL) inside a quoted scalar, then a bad tag on line 3
        ("---\na: '\x85\x85\x85'\nb: !!foo x\n---\nHello\n", {2, 3}),
        # U+2028 / U+2029 (line / paragraph separator), then a duplicate key on line 4
        ("---\na: \u2028\u2029\u2028\nb: x\nb: y\n---\nHello\n", {2, 4}),
    ],
)
def test_unicode_line_separators_do_not_shift_line_numbers(
    repo: Repo, raw: str, lines: set[int]
) -> None:
    """Regression (found by fuzzing): YAML counts U+0085, U+2028 and U+2029 as line breaks,
    document.py counts only LF, so every YAML mark after one is off: the problems above
    were reported on lines 6 and 7 of 6-line files (document.py `_Builder._where` and
    the `yaml.MarkedYAMLError` branch of `_parse_yaml`)."""
    repo.post.write_bytes(raw.encode())
    post = load_post(repo.post, repo.config, now=NOW)
    assert post.errors
    assert {p.line for p in post.errors} <= lines, [str(p) for p in post.problems]
