"""Sizes before bytes: a media file is sized before it is read (a 20 GB sparse "video"
is refused by its size at its line, never read) and a file under the cap is hashed in
chunks. Peak memory of the real command, measured as the max RSS of a child process
(resource.getrusage of a wrapper whose only child is `publisher`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import make_repo

MB = 1024 * 1024

PEAK = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "out": done.stdout + done.stderr,
                  "kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def peak(repo: Path, *args: str) -> tuple[int, str, int]:
    """(exit code, output, peak RSS in MB) of `publisher args` run in ``repo``."""
    got = subprocess.run(
        [sys.executable, "-c", PEAK, str(repo), sys.executable, "-m", "publisher", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    data = json.loads(got.stdout)
    return data["rc"], data["out"], data["kb"] // 1024


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.write(b"\x00\x00\x00\x18ftypmp42")  # an mp4's first bytes
        fh.truncate(size)
    return path


def media_post(name: str) -> str:
    return f"---\ntargets: [x]\nmedia:\n  - path: {name}\n    alt: a clip\n---\nwatch this\n"


def test_a_20_gb_file_is_refused_by_its_size_without_being_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.md": media_post("big.mp4")})
    sparse(repo / "posts" / "big.mp4", 20 * 1024 * MB)
    code, out, mb = peak(repo, "validate")
    assert code == 1, out
    assert "posts/a.md:4:5: media.too_large: big.mp4 is 21,474,836,480 bytes" in out, out
    assert "Traceback" not in out
    assert mb < 100, f"peak RSS {mb} MB"
    code, out, mb = peak(repo, "plan")
    assert code == 1 and "media.too_large" in out and mb < 100, (out, mb)


def test_a_file_under_the_cap_is_hashed_in_chunks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.md": media_post("clip.mp4"), "b.md": media_post("copy.mp4")})
    sparse(repo / "posts" / "clip.mp4", 190 * MB)
    sparse(repo / "posts" / "copy.mp4", 190 * MB)
    code, out, mb = peak(repo, "plan", "--json")
    assert code == 0, out
    plan = json.loads(out[: out.rindex("}") + 1])
    assert plan["files"], plan
    assert mb < 100, f"peak RSS {mb} MB for two 190 MB files"  # read whole: over 190


def test_a_media_file_that_changed_size_since_it_was_checked_is_an_error(tmp_path: Path) -> None:
    import pytest

    from publisher.files import read_media

    path = tmp_path / "a.png"
    path.write_bytes(b"x" * 100)
    assert read_media(path, 100) == b"x" * 100
    path.write_bytes(b"x" * 10_000)
    with pytest.raises(OSError, match="changed since it was checked"):
        read_media(path, 100)


def test_the_live_page_streams_media_and_refuses_a_huge_file(tmp_path: Path) -> None:
    """The preview server sizes a media file before it sends it, and streams it."""
    import httpx

    from publisher.preview.page import PreviewHub, serve

    (tmp_path / "posts").mkdir()
    sparse(tmp_path / "posts" / "big.mp4", 20 * 1024 * MB)
    small = tmp_path / "posts" / "clip.mp4"
    small.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * 3 * MB)
    server = serve(PreviewHub(fetch_cards=False), root=tmp_path, port=0)
    try:
        big = httpx.get(server.url + "media/posts/big.mp4", timeout=30)
        assert big.status_code == 413
        got = httpx.get(server.url + "media/posts/clip.mp4", timeout=30)
        assert got.status_code == 200 and got.content == small.read_bytes()
        assert got.headers["content-type"] == "video/mp4"
    finally:
        server.close()


def test_a_huge_configuration_or_event_file_is_refused_by_its_size(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.md": "---\ntargets: [x]\n---\nhi\n"})
    sparse(repo / "publisher.toml", 20 * 1024 * MB)
    code, out, mb = peak(repo, "validate")
    assert code == 2 and "publisher.toml: cannot read" in out and "at most" in out, out
    assert mb < 100, f"peak RSS {mb} MB"
    (repo / "publisher.toml").write_text('[accounts]\nx = "twitter"\n')
    sparse(tmp_path / "event.json", 20 * 1024 * MB)
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "LETMEPOST_"))}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=str(tmp_path / "event.json"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "ci"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot read the event payload" in done.stdout and "Traceback" not in done.stderr
