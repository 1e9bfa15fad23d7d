"""Units of `publisher.backends.letmepost`, called directly: the requests each step of a
plan becomes (what `publish --dry-run` prints and `execute` sends), with no server."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from publisher.backends.letmepost import LetmepostBackend
from publisher.config import Account, Config
from publisher.plan import Plan, StepKind, make_plan
from publisher.record import Record
from publisher.run import Env, Run
from publisher.validate import load_post

RUN = Run(Env.LIVE, "https://api.letmepost.dev")
NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)


def plan_of(tmp_path: Path, text: str) -> tuple[Plan, Config]:
    config = Config(root=tmp_path, accounts={"x": Account("x", platform="twitter")})
    path = tmp_path / "post.md"
    path.write_text(text)
    return make_plan([load_post(path, config, now=NOW)], RUN), config


def requests_of(plan: Plan) -> list[tuple[StepKind, dict]]:
    backend = LetmepostBackend(RUN, None)
    out = []
    for f in plan.work:
        record = Record(f.post, RUN)
        for step in f.steps:
            for request in backend.requests(step, record):
                out.append((step.kind, request.as_dict(f.path)))
    return out


def test_a_new_post_is_one_create_with_every_target_and_a_key(tmp_path: Path) -> None:
    plan, _ = plan_of(tmp_path, "---\ntargets: [bluesky, x]\n---\nHello from a unit test.\n")
    ((kind, request),) = requests_of(plan)
    assert kind is StepKind.CREATE
    assert (request["method"], request["path"]) == ("POST", "/v1/posts")
    assert request["idempotencyKey"].startswith("pub")
    body = json.loads(request["body"])
    assert [t.get("platform") for t in body["targets"]] == ["bluesky", "twitter"]
    assert {t["text"] for t in body["targets"]} == {"Hello from a unit test."}


def test_the_same_post_planned_twice_gives_the_same_key_and_bytes(tmp_path: Path) -> None:
    text = "---\ntargets: [bluesky]\n---\nSame bytes every time.\n"
    first = requests_of(plan_of(tmp_path, text)[0])
    again = requests_of(plan_of(tmp_path, text)[0])
    assert first == again  # a retry of the same logical request sends the same bytes


def test_two_files_saying_the_same_never_share_a_key(tmp_path: Path) -> None:
    text = "---\ntargets: [bluesky]\n---\nSaid twice.\n"
    config = Config(root=tmp_path)
    (tmp_path / "a.md").write_text(text)
    (tmp_path / "b.md").write_text(text.replace("twice", "twice, again"))
    posts = [load_post(tmp_path / n, config, now=NOW) for n in ("a.md", "b.md")]
    keys = [r["idempotencyKey"] for _, r in requests_of(make_plan(posts, RUN))]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_a_thread_sends_part_one_first_then_each_part_as_its_own_request(tmp_path: Path) -> None:
    plan, _ = plan_of(tmp_path, "---\ntargets: [bluesky]\n---\nPart one.\n---\nPart two.\n")
    kinds = [kind for kind, _ in requests_of(plan)]
    assert kinds[0] is StepKind.CREATE
    steps = [s for f in plan.work for s in f.steps]
    assert [s.kind for s in steps] == [StepKind.CREATE, StepKind.PART]
    assert steps[1].part == 2 and steps[1].key != steps[0].key
