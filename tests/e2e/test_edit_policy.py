"""The edit policy: `onEdit: keep` (the default) never sends an edit and never blocks;
`onEdit: repost` (in the file, publisher.toml or the Action's input) posts the changed
targets once more and keeps the earlier URIs. Over the sandbox's real HTTP."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CONFIG, cli_env, make_repo, post, record, run_cli


def _publish(repo: Path, sandbox, *args: str):
    return run_cli(["publish", *args], repo, cli_env(sandbox.url, sandbox.live_key))


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_repost_in_the_file_posts_the_edit_once_and_keeps_the_earlier_uri(
    tmp_path: Path, sandbox
) -> None:
    text = post("[bluesky, x]", "Version one.", onEdit="repost")
    repo = make_repo(tmp_path, {"a.md": text})
    path = repo / "posts/a.md"
    assert _publish(repo, sandbox).returncode == 0
    first = {label: t["uri"] for label, t in record(path)["targets"].items()}

    _edit(path, "Version one.", "Version two.")
    again = _publish(repo, sandbox)
    assert again.returncode == 0, again.stdout + again.stderr
    texts = [r["text"] for r in sandbox.posts()]
    assert texts.count("Version one.") == 2 and texts.count("Version two.") == 2
    for label, rec in record(path)["targets"].items():
        assert rec["earlier"] == [first[label]]
        assert rec["uri"] != first[label] and rec["status"] == "published"

    third = _publish(repo, sandbox)  # nothing more to do
    assert third.returncode == 0 and "nothing to publish" in third.stdout
    assert len(sandbox.posts()) == 4


def test_repost_as_the_repository_default_and_keep_in_the_file_wins(
    tmp_path: Path, sandbox
) -> None:
    repo = make_repo(
        tmp_path,
        {
            "a.md": post("[bluesky]", "A one."),
            "b.md": post("[bluesky]", "B one.", onEdit="keep"),
        },
        config='on_edit = "repost"\n' + CONFIG,
    )
    assert _publish(repo, sandbox).returncode == 0
    _edit(repo / "posts/a.md", "A one.", "A two.")
    _edit(repo / "posts/b.md", "B one.", "B two.")
    done = _publish(repo, sandbox)
    assert done.returncode == 0, done.stdout + done.stderr
    texts = [r["text"] for r in sandbox.posts()]
    assert "A two." in texts and "B two." not in texts
    # `onEdit: keep` written in the file acknowledges the edit: no notice about it
    assert "not reposted" not in done.stdout and "b.md" not in done.stdout


def test_a_bad_policy_is_an_error_at_its_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.md": post("[bluesky]", "Hi.", onEdit="always")})
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 1 and "posts/a.md:3:" in done.stdout + done.stderr
    bad_config = make_repo(tmp_path / "c", {}, config='on_edit = "sometimes"\n')
    done = run_cli(["validate"], bad_config, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 2 and "on_edit" in done.stderr


def test_repost_overrides_keep_once(tmp_path: Path, sandbox) -> None:
    repo = make_repo(tmp_path, {"a.md": post("[bluesky]", "One.")})
    path = repo / "posts/a.md"
    assert _publish(repo, sandbox).returncode == 0
    _edit(path, "One.", "Two.")
    assert _publish(repo, sandbox, "--repost").returncode == 0
    assert [r["text"] for r in sandbox.posts()] == ["One.", "Two."] or sorted(
        r["text"] for r in sandbox.posts()
    ) == ["One.", "Two."]
    assert len(record(path)["targets"]["bluesky"]["earlier"]) == 1
