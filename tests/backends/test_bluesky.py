"""Units of `publisher.backends.bluesky`, called directly: what each step of a direct
account's plan does on its PDS (what `publish --dry-run` prints), with no PDS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from publisher.backends.bluesky import BlueskyBackend
from publisher.config import Account, Config
from publisher.plan import Plan, StepKind, make_plan
from publisher.record import Record
from publisher.run import Env, Run
from publisher.validate import load_post

RUN = Run(Env.LIVE, "https://api.letmepost.dev")
NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
ME = Account("me", platform="bluesky", handle="me.example.org", pds="https://pds.example.org")


def plan_of(tmp_path: Path, text: str) -> Plan:
    config = Config(root=tmp_path, accounts={"me": ME})
    path = tmp_path / "post.md"
    path.write_text(text)
    return make_plan([load_post(path, config, now=NOW)], RUN)


def requests_of(plan: Plan) -> list[tuple[StepKind, str, str | None]]:
    backend = BlueskyBackend(RUN)
    out = []
    for f in plan.work:
        record = Record(f.post, RUN)
        for step in f.steps:
            for request in backend.requests(step, record):
                out.append((step.kind, request.method, request.path))
    return out


def test_a_direct_post_is_created_on_its_own_pds(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "---\ntargets: [me]\n---\nStraight to the PDS.\n")
    ((kind, method, pds),) = requests_of(plan)
    assert kind is StepKind.CREATE and method.startswith("com.atproto.repo.createRecord")
    assert pds == "https://pds.example.org"


def test_a_direct_thread_creates_each_part_as_a_reply(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "---\ntargets: [me]\n---\nOne.\n---\nTwo.\n---\nThree.\n")
    assert [(k, m) for k, m, _ in requests_of(plan)] == [
        (StepKind.CREATE, "com.atproto.repo.createRecord"),
        (StepKind.PART, "com.atproto.repo.createRecord (part 2, a reply)"),
        (StepKind.PART, "com.atproto.repo.createRecord (part 3, a reply)"),
    ]


def test_a_direct_target_never_goes_through_letmepost(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "---\ntargets: [me]\n---\nNo API key needed.\n")
    assert not plan.needs_api
    assert {s.backend for f in plan.work for s in f.steps} == {"bluesky"}
