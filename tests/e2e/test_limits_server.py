"""Publisher's text counters against the REAL letmepost server's preflight.

For every platform whose text limit the open-source server checks (Bluesky, Threads,
LinkedIn, Facebook, Instagram: graphemes by ``Intl.Segmenter``; TikTok: UTF-16 units,
JavaScript's ``string.length``), texts of hard kinds (emoji sequences, flags, combining
marks, CJK, Indic conjuncts, astral emoji, CR LF) are built to exactly the limit by
publisher's count (``limits.measure``) and one past it, and sent to the server:

* one past the limit: the server refuses the request with ``preflight_failed``, the
  rule id publisher reports, and in its message the same count publisher shows;
* at the limit: the server's preflight lets every such target through (a sentinel target
  placed last, with five images on Bluesky, fails instead: nothing is published).

X is left out: the fork that runs here counts X in plain graphemes, the hosted server
with its weighting (letmepost-api.md, "Server versions"), which publisher follows.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from publisher.rules.limits import Content, Media, check, measure
from tests.fixtures.letmepost_server import RealServer, source_folder
from tests.fixtures.pds import _parse_env_lines

# A unit of each hard kind (one grapheme, except "x" + CR LF; TikTok counts UTF-16 units).
KINDS = {
    "ascii": "a",
    "zwj-family": "👨\u200d👩\u200d👧\u200d👦",
    "flag": "🇫🇷",
    "skin-tone": "👍🏽",
    "combining": "e\u0301\u0323",
    "cjk": "語",
    "devanagari-conjunct": "क्षि",
    "astral-emoji": "😀",
    "crlf": "x\r\n",  # CR LF is one grapheme (and two UTF-16 units)
}
PLATFORMS = ("bluesky", "threads", "linkedin", "facebook", "instagram", "tiktok")
MEDIA = {
    "instagram": [{"kind": "image", "url": "http://127.0.0.1:9/photo.jpg"}],
    "tiktok": [{"kind": "video", "url": "http://127.0.0.1:9/clip.mp4"}],
}
SENTINEL_RULE = "bluesky.media.count_max"
_COUNT = re.compile(r" is ([\d,]+) (?:graphemes|characters)")
HARD_MAX = 300  # hard units per text; ASCII pads the rest (Facebook's limit is 63,206)


# ----------------------------------------------------------------- the server
# ``letmepost_server`` is the session fixture of tests/fixtures/letmepost_server.py: the
# real server, started by scripts/letmepost/start.sh (or named by LMP_URL).


def _run_dir(server: RealServer) -> Path | None:
    """The folder of the server's state (its state/api.env): start.sh's run folder."""
    port = httpx.URL(server.url).port
    home = Path(
        os.environ.get("LMP_HOME") or Path(os.environ.get("TMPDIR", "/tmp")) / "publisher-letmepost"
    )
    candidates = [Path(os.environ["LMP_RUN_DIR"])] if os.environ.get("LMP_RUN_DIR") else []
    candidates += [home / f"run-{port}", home]
    for folder in candidates:
        if (folder / "state" / "api.env").is_file():
            return folder
    return None


def _connect(server: RealServer, platform: str) -> str:
    """A ``platform`` account row, inserted as start.sh inserts X's and Threads'
    (the source's ``tools/add-account.mjs``: the server's own repository code)."""
    folder, source = _run_dir(server), source_folder()
    api_dirs = [] if folder is None else [folder / "src/apps/api", folder.parent / "src/apps/api"]
    api_dir = next((d for d in api_dirs if (d / "dist" / "db" / "index.js").is_file()), None)
    if folder is None or api_dir is None or source is None:
        pytest.skip(
            f"cannot connect a {platform} account: the server's state folder, build or "
            "source is not at hand (a server named by LMP_URL without LMP_RUN_DIR?)"
        )
    env = {**os.environ, **_parse_env_lines((folder / "state" / "api.env").read_text())}
    env["LMP_API_DIR"] = str(api_dir)
    done = subprocess.run(
        [
            "node",
            str(source / "tools" / "add-account.mjs"),
            server.org_id,
            server.profile_id,
            platform,
            str(sum(map(ord, platform)) * 1_000_003),
            f"publisher_{platform}",
        ],
        cwd=api_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def accounts(letmepost_server: RealServer) -> dict[str, str]:
    server = letmepost_server
    out = {"bluesky": server.alice_id, "threads": server.threads_id}
    for platform in ("linkedin", "facebook", "instagram", "tiktok"):
        out[platform] = _connect(server, platform)
    return out


def _post(server: RealServer, targets: list[dict[str, Any]]) -> httpx.Response:
    for _ in range(3):
        r = httpx.post(
            f"{server.url}/v1/posts",
            json={"targets": targets, "publishNow": True},
            headers={"Authorization": f"Bearer {server.live_key}"},
            timeout=60,
            verify=False,  # plain HTTP on 127.0.0.1: no TLS context to build per call
        )
        if r.status_code != 429:
            return r
        time.sleep(min(float(r.headers.get("Retry-After", "5")), 30))
    return r


# ------------------------------------------------------------------ the texts


def _text(platform: str, unit: str, extra: int = 0) -> str:
    """``unit`` repeated, padded with "a" to exactly the platform's limit (+ ``extra``),
    by publisher's count."""
    length = measure(platform, unit)
    k = min(HARD_MAX, length.limit // length.used)
    text = unit * k + "a" * (length.limit - k * length.used + extra)
    assert measure(platform, text).used == length.limit + extra
    return text


def _target(platform: str, account: str, text: str) -> dict[str, Any]:
    target: dict[str, Any] = {"accountId": account, "text": text}
    if platform in MEDIA:
        target["media"] = MEDIA[platform]
    return target


def _our_rule(platform: str, text: str) -> str | None:
    """The rule publisher says letmepost reports for ``text`` (its own advice aside, such
    as Bluesky's byte limit, which only the PDS checks)."""
    media = tuple(Media(m["kind"], source="url") for m in MEDIA.get(platform, ()))
    found = check(Content(platform, text, media))
    rules = [f.rule for f in found if f.field == "text" and f.api]
    assert len(rules) <= 1, rules
    return rules[0] if rules else None


CASES = [(p, k) for k in KINDS for p in PLATFORMS]


@pytest.mark.parametrize(("platform", "kind"), CASES, ids=[f"{p}-{k}" for p, k in CASES])
def test_one_past_the_limit_is_refused_with_publishers_rule_and_count(
    letmepost_server: RealServer, accounts: dict[str, str], platform: str, kind: str
) -> None:
    text = _text(platform, KINDS[kind], extra=1)
    ours = _our_rule(platform, text)
    assert ours is not None
    r = _post(letmepost_server, [_target(platform, accounts[platform], text)])
    assert r.status_code == 400, r.text[:500]
    error = r.json()["error"]
    assert (error["code"], error["rule"]) == ("preflight_failed", ours)
    count = _COUNT.search(error["message"])
    assert count, error["message"]
    assert int(count.group(1).replace(",", "")) == measure(platform, text).used


@pytest.mark.parametrize("kind", list(KINDS))
def test_exactly_at_the_limit_passes_the_servers_preflight(
    letmepost_server: RealServer, accounts: dict[str, str], kind: str
) -> None:
    targets = []
    for platform in PLATFORMS:
        text = _text(platform, KINDS[kind])
        assert _our_rule(platform, text) is None
        targets.append(_target(platform, accounts[platform], text))
    # Last, a target that fails the preflight on purpose: the batch is refused (nothing
    # is stored or sent), with its rule when every target before it passed.
    media = [{"kind": "image", "url": f"http://127.0.0.1:9/{i}.png"} for i in range(5)]
    targets.append({"accountId": letmepost_server.bob_id, "text": "sentinel", "media": media})
    r = _post(letmepost_server, targets)
    assert r.status_code == 400, r.text[:500]
    error = r.json()["error"]
    assert (error["code"], error["rule"]) == ("preflight_failed", SENTINEL_RULE), error
