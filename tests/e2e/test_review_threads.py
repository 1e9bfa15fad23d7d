"""Adversarial review (issue 17): a direct Bluesky thread whose `published` block is
lost, edited in the same change. The PDS is the ground truth: no text posted twice."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from publisher.clients.atproto import BlueskyAccount
from tests.e2e.test_direct import config, direct_env, md, records_with
from tests.fixtures.pds import LocalPds
from tests.helpers import make_repo, record, run_cli

pytestmark = pytest.mark.pds


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


def test_review_insert_into_a_thread_with_its_block_lost_posts_no_part_twice(
    tmp_path, pds, account
):
    tag = uuid.uuid4().hex[:8]
    one, two, new = (f"Part {n} of {tag}." for n in ("one", "two", "inserted"))
    repo = make_repo(tmp_path, {"t.md": md(f"{one}\n---\n{two}")}, config(pds))
    env = direct_env(pds)
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(records_with(account, tag)) == 2
    assert record(repo / "posts/t.md")["targets"]["me"]["status"] == "published"

    # the block is lost (a bad merge) and, in the same change, a part is inserted
    (repo / "posts/t.md").write_text(md(f"{one}\n---\n{new}\n---\n{two}"))
    again = run_cli(["publish"], repo, env)
    texts = Counter(r["value"]["text"] for r in records_with(account, tag))
    assert texts[two] == 1, (texts, again.stdout + again.stderr)  # never posted again
    assert texts[one] == 1 and texts[new] == 1
    assert again.returncode == 0, again.stdout + again.stderr
    me = record(repo / "posts/t.md")["targets"]["me"]
    assert me["status"] == "published" and len(me["parts"]) == 2, me  # every part recorded
    old_two = next(r for r in records_with(account, tag) if r["value"]["text"] == two)
    assert me["parts"][1]["uri"] == old_two["uri"], me  # the old part 2 is part 3 now
    assert run_cli(["publish"], repo, env).returncode == 0
    assert len(records_with(account, tag)) == 3  # and a further run posts nothing


def test_review_refused_commit_back_then_a_part_inserted_posts_no_part_twice(tmp_path, sandbox):
    """Held: the letmepost thread's parts are found in the post log."""
    from tests.e2e.test_ci import Harness
    from tests.e2e.test_exactly_once_ci import REFUSE_BOT

    gh = Harness(tmp_path, sandbox)
    tag = uuid.uuid4().hex[:8]
    one, two, new = (f"Tweet {n} of {tag}." for n in ("one", "two", "inserted"))
    hook = gh.remote / "hooks" / "pre-receive"
    hook.write_text(REFUSE_BOT)
    hook.chmod(0o755)
    before, first = gh.seed({"posts/t.md": md(f"{one}\n---\n{two}", "[x]")})
    human = gh.root / "seed"
    run = gh.run(gh.clone("ws1", at=first), "push", gh.push_event(before, first))
    assert "results not pushed" in run.stdout, run.stdout
    assert sorted(r["text"] for r in sandbox.posts() if tag in (r["text"] or "")) == [one, two]

    hook.unlink()
    edited = gh.commit(human, {"posts/t.md": md(f"{one}\n---\n{new}\n---\n{two}", "[x]")}, "insert")
    gh.push(human)
    run = gh.run(gh.clone("ws2", at=edited), "push", gh.push_event(first, edited))
    texts = Counter(r["text"] for r in sandbox.posts() if tag in (r["text"] or ""))
    assert texts[one] == 1 and texts[two] == 1, (texts, run.stdout + run.stderr)
    rec = gh.remote_record("posts/t.md")["targets"]["x"]  # 0 unrecorded
    assert rec["status"] == "published", rec


def test_review_repost_of_an_edited_thread_then_unpublish_takes_every_post_back(
    tmp_path, pds, account
):
    """`onEdit: repost` on a direct thread, part 2 edited, then `unpublish: true`: every
    post made (the replaced part 2 included, kept under `earlier:`) is taken back."""
    tag = uuid.uuid4().hex[:8]
    parts = [f"Repost {tag} part {n}." for n in (1, 2, 3)]
    path = tmp_path / "posts/t.md"
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts), onEdit="repost")}, config(pds))
    env = direct_env(pds)
    assert run_cli(["publish"], repo, env).returncode == 0
    assert len(records_with(account, tag)) == 3
    old_part_2 = record(path)["targets"]["me"]["parts"][0]["uri"]
    edited = f"Repost {tag} part 2, edited."
    path.write_text(path.read_text().replace(parts[1], edited))  # the block stays
    second = run_cli(["publish"], repo, env)
    assert second.returncode == 0, second.stdout + second.stderr
    made = len(records_with(account, tag))
    assert made > 3, second.stdout
    assert old_part_2 in path.read_text(), path.read_text()  # 0 unrecorded (SPEC 7)
    text = path.read_text().replace("onEdit: repost\n", "onEdit: repost\nunpublish: true\n")
    path.write_text(text)
    third = run_cli(["publish"], repo, env)
    left = [r["value"]["text"] for r in records_with(account, tag)]
    assert left == [], (made, left, third.stdout + third.stderr, path.read_text())
