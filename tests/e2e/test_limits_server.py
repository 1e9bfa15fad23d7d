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
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from publisher.rules.limits import Content, Media, check, measure
from tests.fixtures.pds import LocalPds, _free_port, _parse_env_lines

ROOT = Path(__file__).resolve().parents[2]

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


@dataclass(frozen=True)
class _Server:
    """What the tests use of a running server (the fields of the fixture's RealServer)."""

    url: str
    live_key: str
    org_id: str
    profile_id: str
    alice_id: str
    bob_id: str
    threads_id: str
    run_dir: Path | None  # its state/api.env and src/ (None: not at hand)


def _source_folder() -> Path | None:
    folder = Path(
        os.environ.get("LETMEPOST_SERVER_SRC") or ROOT.parent / "shared/tools/letmepost-server"
    )
    return folder if (folder / "src.tar.gz").is_file() else None


def _server_from(env: dict[str, str], run_dir: Path | None) -> _Server:
    return _Server(
        url=env["LMP_URL"].rstrip("/"),
        live_key=env["LMP_LIVE_KEY"],
        org_id=env["LMP_ORG_ID"],
        profile_id=env["LMP_PROFILE_ID"],
        alice_id=env["LMP_ALICE_ID"],
        bob_id=env["LMP_BOB_ID"],
        threads_id=env["LMP_THREADS_ID"],
        run_dir=run_dir,
    )


@pytest.fixture(scope="module")
def letmepost_server(pds: LocalPds) -> Iterator[_Server]:
    """The real letmepost server: ``LMP_URL`` and the lines start.sh prints in the
    environment (``LMP_HOME`` its folder), else started here with the shared start.sh."""
    if os.environ.get("LMP_URL"):
        home = os.environ.get("LMP_HOME")
        yield _server_from(dict(os.environ), Path(home) if home else None)
        return
    folder = _source_folder()
    if folder is None:
        pytest.skip(
            "no real letmepost server: its source is not at hand (set LETMEPOST_SERVER_SRC "
            "to the folder with src.tar.gz and start.sh)"
        )
    if not shutil.which("node"):
        pytest.skip("no real letmepost server: needs node")
    port = _free_port()
    home = Path(os.environ.get("TMPDIR", "/tmp")) / "publisher-limits-letmepost"  # kept
    env = {
        **os.environ,
        "LMP_HOME": str(home),
        "LMP_API_PORT": str(port),
        "LMP_PG_PORT": str(_free_port()),
        "LMP_REDIS_PORT": str(_free_port()),
        "LMP_S3_PORT": str(_free_port()),
        "PDS_SCRIPT": str(ROOT / "scripts" / "pds" / "start-pds.sh"),
        "LMP_EXTERNAL_PDS": "1",
        "PDS_URL": pds.url,
        "PDS_TEST_HANDLE": pds.handle,
        "PDS_TEST_PASSWORD": pds.password,
        "PDS_TEST_DID": pds.did,
    }
    started = subprocess.run(
        [str(folder / "start.sh")], env=env, capture_output=True, text=True, timeout=1200
    )
    try:
        if started.returncode != 0:
            pytest.fail(f"the letmepost server did not start:\n{started.stderr[-3000:]}")
        yield _server_from(_parse_env_lines(started.stdout), home)
    finally:
        subprocess.run([str(folder / "stop.sh")], env=env, capture_output=True, timeout=120)


def _run_dir(server: Any) -> Path | None:
    """The folder of the server's state and build (where its api.env is)."""
    candidates = [getattr(server, "run_dir", None)]
    if os.environ.get("LMP_RUN_DIR"):
        candidates.append(Path(os.environ["LMP_RUN_DIR"]))
    port = httpx.URL(server.url).port
    home = Path(os.environ.get("LMP_HOME") or Path(os.environ.get("TMPDIR", "/tmp")))
    candidates += [home / f"run-{port}", home / "publisher-letmepost" / f"run-{port}"]
    for folder in candidates:
        if folder is not None and (folder / "state" / "api.env").is_file():
            return folder
    return None


def _connect(server: Any, platform: str) -> str:
    """A ``platform`` account row, inserted as the shared start.sh inserts X's and
    Threads' (``tools/add-account.mjs``: the server's own repository code)."""
    folder, source = _run_dir(server), _source_folder()
    if folder is None or source is None:
        pytest.skip(
            f"cannot connect a {platform} account: the server's state folder or its "
            "source is not at hand"
        )
    api_dir = folder / "src" / "apps" / "api"
    env = {**os.environ, **_parse_env_lines((folder / "state" / "api.env").read_text())}
    env["LMP_API_DIR"] = str(api_dir)
    done = subprocess.run(
        [
            "node",
            str(source / "tools" / "add-account.mjs"),
            server.org_id,
            server.profile_id,
            platform,
            f"{abs(hash(platform)) % 10**10}",
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
def accounts(letmepost_server: Any) -> dict[str, str]:
    server = letmepost_server
    out = {"bluesky": server.alice_id, "threads": server.threads_id}
    for platform in ("linkedin", "facebook", "instagram", "tiktok"):
        out[platform] = _connect(server, platform)
    return out


def _post(server: Any, targets: list[dict[str, Any]]) -> httpx.Response:
    for _ in range(3):
        r = httpx.post(
            f"{server.url}/v1/posts",
            json={"targets": targets, "publishNow": True},
            headers={"Authorization": f"Bearer {server.live_key}"},
            timeout=60,
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
    letmepost_server: Any, accounts: dict[str, str], platform: str, kind: str
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
    letmepost_server: Any, accounts: dict[str, str], kind: str
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
