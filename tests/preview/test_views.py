"""The one preview model (`publisher.preview.views`): problems go to the target they
point at, and targets the plan still acts on are shown though the post dropped them."""

from __future__ import annotations

from pathlib import Path

from publisher.config import load_config
from publisher.plan import make_plan
from publisher.preview.views import build_preview, problem_targets
from publisher.run import Run
from publisher.validate import load_post
from tests.helpers import make_repo


def test_problems_go_to_the_target_they_point_at(tmp_path: Path) -> None:
    text = (
        "---\n"
        "targets:\n"
        "  - bluesky\n"
        "  - account: x\n"
        f"    text: {'y' * 300}\n"
        "---\n"
        "Short default text.\n"
    )
    root = make_repo(tmp_path, {"a.md": text})
    config = load_config(path=root / "publisher.toml")
    post = load_post(root / "posts" / "a.md", config)
    owners = problem_targets(post)
    over = [p for p in post.problems if p.code.startswith("twitter.")]
    assert over, post.problems
    assert all(owners[p] == 1 for p in over)  # placed at targets[1].text
    preview = build_preview(post, make_plan([post], Run()).files[0], root=root)
    by_label = {t.label: t for t in preview.targets}
    assert set(by_label["x"].problems) == set(over)
    assert by_label["bluesky"].problems == ()
    assert not any(p in preview.problems for p in over)


def test_a_limit_on_the_shared_body_goes_to_its_target_by_label(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"a.md": f"---\ntargets: [bluesky, x]\n---\n{'z' * 301}\n"})
    config = load_config(path=root / "publisher.toml")
    post = load_post(root / "posts" / "a.md", config)
    preview = build_preview(post, make_plan([post], Run()).files[0], root=root)
    by_label = {t.label: t for t in preview.targets}
    assert {p.code for p in by_label["bluesky"].problems} == {"bluesky.text.max_graphemes"}
    assert all(p.code.startswith("twitter.") for p in by_label["x"].problems)
    assert by_label["x"].problems  # 301 > 280 weighted


def test_a_problem_without_a_label_is_placed_by_its_location(tmp_path: Path) -> None:
    text = "---\ntargets:\n  - bluesky\n  - account: x\n    txt: typo\n---\nHello.\n"
    root = make_repo(tmp_path, {"a.md": text})
    post = load_post(root / "posts" / "a.md", load_config(path=root / "publisher.toml"))
    unknown = [p for p in post.problems if p.code == "key.unknown"]
    assert unknown and not unknown[0].message.startswith("x: ")
    assert problem_targets(post)[unknown[0]] == 1
