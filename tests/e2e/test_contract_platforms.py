"""Which platforms a letmepost server publishes to: the hosted service has enabled
Bluesky, X, LinkedIn and Pinterest only (Facebook, Instagram, Threads and TikTok answer
`platform_not_enabled`), so `validate` warns at such a target's line; a self-hosted
server that has them says so with `platforms` in publisher.toml."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_repo, run_cli

POST = "---\ntargets: [bluesky, twitter, threads, facebook]\n---\nHello.\n"


def at(name: str) -> str:
    """Where target `name` is written in POST (file:line:column)."""
    return f"posts/a.md:2:{POST.splitlines()[1].index(name) + 1}"


def _validate(repo: Path, **env: str) -> tuple[int, list[str]]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("LETMEPOST_")}
    done = run_cli(["validate"], repo, {**base, **env})
    lines = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if line]
    return done.returncode, [line for line in lines if "platform_not_enabled" in line]


def test_hosted_service_warns_at_each_target_it_has_not_enabled(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.md": POST}, 'posts = "posts"\n')
    code, warned = _validate(repo)
    assert code == 0  # a warning: the post is valid, the server will refuse those targets
    assert [line.split(": warning")[0] for line in warned] == [at("threads"), at("facebook")]
    assert "threads is not enabled on the hosted letmepost service" in warned[0]
    assert "`platforms` in publisher.toml" in warned[0]
    assert "facebook" in warned[1]


def test_a_self_hosted_server_lists_what_it_has(tmp_path: Path) -> None:
    config = 'posts = "posts"\napi_url = "https://lmp.example.org"\n'
    repo = make_repo(tmp_path, {"a.md": POST}, config + 'platforms = ["bluesky", "threads"]\n')
    code, warned = _validate(repo)
    assert code == 0
    assert [line.split(": warning")[0] for line in warned] == [at("twitter"), at("facebook")]
    assert "twitter is not enabled on your letmepost server" in warned[0]

    (repo / "publisher.toml").write_text(config + 'platforms = "all"\n')
    assert _validate(repo) == (0, [])
    (repo / "publisher.toml").write_text(config)  # another server, nothing said: not known
    assert _validate(repo) == (0, [])
    (repo / "publisher.toml").write_text(config + 'platforms = ["threds"]\n')
    code = run_cli(["validate"], repo, {}).returncode
    assert code == 2


def test_a_local_server_is_not_the_hosted_one(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.md": POST}, 'posts = "posts"\n')
    assert _validate(repo, LETMEPOST_API_URL="http://127.0.0.1:9") == (0, [])
