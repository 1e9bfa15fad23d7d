"""publisher.github.actions: the Actions environment, workflow commands, outputs, summary, PR comment."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from publisher.github import actions as github
from publisher.github.actions import (
    ZERO_SHA,
    ActionsEnv,
    GitHubApiError,
    GitHubError,
    add_mask,
    annotation,
    append_summary,
    endgroup,
    escape_data,
    escape_property,
    group,
    stop_commands,
    upsert_pr_comment,
    write_outputs,
)

# ------------------------------------------------------------------------ escaping


def test_escaping_matches_actions_core() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("posts/a,b:c.md\n%") == "posts/a%2Cb%3Ac.md%0A%25"
    # % first, so an already-escaped sequence is not unescaped by the runner
    assert escape_data("%0A") == "%250A"


def test_annotation_format() -> None:
    line = annotation(
        "error",
        "text too long: 312/300\ngraphemes",
        file="posts/a,b.md",
        line=3,
        col=1,
        end_line=4,
        title="bluesky: limit",
    )
    assert line == (
        "::error title=bluesky%3A limit,file=posts/a%2Cb.md,line=3,endLine=4,col=1"
        "::text too long: 312/300%0Agraphemes"
    )
    assert annotation("warning", "plain") == "::warning::plain"
    assert annotation("notice", "n", file="x.md") == "::notice file=x.md::n"
    with pytest.raises(ValueError):
        annotation("fatal", "x")  # type: ignore[arg-type]


def test_mask_and_groups() -> None:
    assert add_mask("lmp_live_abc%\n") == "::add-mask::lmp_live_abc%25%0A"
    assert group("Publishing 3 posts") == "::group::Publishing 3 posts"
    assert endgroup() == "::endgroup::"


HOSTILE = "line one\n::add-mask::x\n::error::fake failure\n%0A::set-output name=a::b\n::endgroup::"


def _commands_run(log: str) -> list[str]:
    """Simulate the runner: return the command lines it would execute."""
    run: list[str] = []
    stop_token: str | None = None
    for line in log.splitlines():
        if stop_token is not None:
            if line == f"::{stop_token}::":
                stop_token = None
            continue
        match = re.match(r"^::([a-z-]+)(?: [^:]*)?::(.*)$", line)
        if match:
            if match.group(1) == "stop-commands":
                stop_token = match.group(2)
            else:
                run.append(line)
    return run


def test_stop_commands_neutralises_hostile_text() -> None:
    wrapped = stop_commands(HOSTILE)
    lines = wrapped.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert lines[-1] == f"::{token}::"
    assert "\n".join(lines[1:-1]) == HOSTILE  # the text itself is shown verbatim
    assert _commands_run(wrapped) == []
    assert _commands_run(HOSTILE) != []  # the simulator does see the danger unwrapped
    # a fresh token each time: a post cannot guess it to end the block early
    assert stop_commands("x").splitlines()[0] != stop_commands("x").splitlines()[0]


# ------------------------------------------------------------------------- outputs


def parse_outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT like the runner does (name=value and heredocs)."""
    result: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            while lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            i += 1
            result[name] = "\n".join(value)
        else:
            name, value_text = line.split("=", 1)
            result[name] = value_text
    return result


def test_outputs_parse_back(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=1\n")
    published = [{"file": "posts/a.md", "target": "bluesky", "uri": "at://x", "url": None}]
    summary = "line one\nline=two\nghadelimiter_not_the_real_one\n"
    write_outputs(out, {"published": published, "failed": 2, "ok": True, "summary": summary})
    write_outputs(out, {"planned": []})
    text = out.read_text()
    parsed = parse_outputs(text)
    assert parsed["earlier"] == "1"
    assert json.loads(parsed["published"]) == published
    assert parsed["failed"] == "2" and parsed["ok"] == "true" and parsed["planned"] == "[]"
    assert parsed["summary"] == summary
    assert re.search(r"^summary<<ghadelimiter_[0-9a-f-]{36}$", text, re.MULTILINE)


def test_heredoc_delimiter_never_occurs_in_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clash = uuid.UUID(int=1)
    value = f"a\nghadelimiter_{clash}\nb"
    fresh = iter([clash, uuid.UUID(int=2)])
    monkeypatch.setattr(github.uuid, "uuid4", lambda: next(fresh))
    out = tmp_path / "output"
    write_outputs(out, {"text": value})
    assert parse_outputs(out.read_text()) == {"text": value}
    assert f"text<<ghadelimiter_{uuid.UUID(int=2)}\n" in out.read_text()


def test_output_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_outputs(tmp_path / "o", {"bad\nname": "x"})
    with pytest.raises(ValueError):
        write_outputs(tmp_path / "o", {"a=b": "x"})


# ------------------------------------------------------------------------- summary


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    assert append_summary(path, "## publisher\n") is False
    assert append_summary(path, "| post | status |\n|---|---|") is False
    assert path.read_text() == "## publisher\n| post | status |\n|---|---|\n"


def test_summary_is_truncated_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("x" * 400 + "\n")
    rows = "".join(f"| posts/{i}.md | published | é |\n" for i in range(200))
    assert append_summary(path, rows, limit=2000) is True
    data = path.read_bytes()
    assert len(data) <= 2000
    text = data.decode("utf-8")  # never cut inside a character
    assert "truncated" in text and "1 MiB" in text
    kept = text.split("\n> **Note:**")[0]
    assert kept.endswith("|\n")  # whole rows only
    assert kept[401:] == rows[: len(kept) - 401]
    # the real limit is 1 MiB
    big = tmp_path / "big.md"
    assert append_summary(big, "a" * 100 + "\n" + "b" * (1024 * 1024)) is True
    assert big.stat().st_size <= 1024 * 1024


# -------------------------------------------------------------------------- events


def actions_env(
    tmp_path: Path, event_name: str, payload: dict[str, Any], **extra: str
) -> ActionsEnv:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "alice/posts",
        "GITHUB_RUN_ID": "42",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_WORKSPACE": str(tmp_path),
        **extra,
    }
    return ActionsEnv.from_environ(environ)


def push_payload(
    before: str, *, ref: str = "refs/heads/main", forced: bool = False
) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": before,
        "after": "b" * 40,
        "forced": forced,
        "created": before == ZERO_SHA,
        "deleted": False,
        "repository": {"default_branch": "main", "full_name": "alice/posts"},
    }


def test_push_event(tmp_path: Path) -> None:
    env = actions_env(tmp_path, "push", push_payload("a" * 40), GITHUB_REF="refs/heads/main")
    assert env.in_actions and env.push is not None and env.pull_request is None
    assert env.push.before == "a" * 40 and env.push.after == "b" * 40
    assert not env.push.forced and not env.push.is_first_push
    assert env.is_default_branch_push and env.branch == "main"
    assert env.output_path == tmp_path / "out" and env.summary_path == tmp_path / "summary"
    assert env.run_url == "https://github.com/alice/posts/actions/runs/42"
    assert env.api_url == "https://api.github.com"


def test_push_zero_before_forced_and_other_branch(tmp_path: Path) -> None:
    first = actions_env(tmp_path, "push", push_payload(ZERO_SHA))
    assert first.push is not None and first.push.is_first_push and first.push.created
    forced = actions_env(tmp_path, "push", push_payload("a" * 40, forced=True))
    assert forced.push is not None and forced.push.forced
    other = actions_env(tmp_path, "push", push_payload("a" * 40, ref="refs/heads/feature"))
    assert not other.is_default_branch_push and other.branch == "feature"
    tag = actions_env(tmp_path, "push", push_payload("a" * 40, ref="refs/tags/main"))
    assert not tag.is_default_branch_push


def pr_payload(*, fork: bool) -> dict[str, Any]:
    head_repo = "mallory/posts" if fork else "alice/posts"
    return {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {
                "sha": "c" * 40,
                "ref": "main",
                "repo": {"full_name": "alice/posts", "fork": False},
            },
            "head": {
                "sha": "d" * 40,
                "ref": "post",
                "repo": {"full_name": head_repo, "fork": fork},
            },
        },
        "repository": {"default_branch": "main"},
    }


def test_pull_request_event(tmp_path: Path) -> None:
    env = actions_env(
        tmp_path, "pull_request", pr_payload(fork=False), GITHUB_REF="refs/pull/7/merge"
    )
    assert env.pull_request is not None and env.push is None
    assert env.pull_request.number == 7 and not env.pull_request.from_fork
    assert env.pull_request.base_sha == "c" * 40 and env.pull_request.head_sha == "d" * 40
    assert not env.is_default_branch_push
    fork = actions_env(tmp_path, "pull_request", pr_payload(fork=True))
    assert fork.pull_request is not None and fork.pull_request.from_fork


def test_outside_actions_and_bad_payloads(tmp_path: Path) -> None:
    local = ActionsEnv.from_environ({})
    assert not local.in_actions and local.push is None and local.output_path is None
    with pytest.raises(GitHubError, match="missing"):
        ActionsEnv.from_environ({"GITHUB_EVENT_PATH": str(tmp_path / "nope.json")})
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(GitHubError, match="not a JSON object"):
        ActionsEnv.from_environ({"GITHUB_EVENT_PATH": str(bad)})


# ---------------------------------------------------------------------- PR comment

API = "https://api.github.test"
TOKEN = "ghs_secret_token_value"


class FakeIssueComments:
    """Just enough of the issue-comments API, with pagination by Link header."""

    def __init__(self, existing: list[dict[str, Any]]) -> None:
        self.comments = list(existing)
        self.next_id = 1000

    def list(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        page = int(request.url.params.get("page", "1"))
        per_page = int(request.url.params.get("per_page", "30"))
        chunk = self.comments[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(self.comments):
            nxt = f"{API}/repos/alice/posts/issues/7/comments?per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=chunk, headers=headers)

    def create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)["body"]
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "body": body,
            "html_url": f"https://github.test/c/{self.next_id}",
            "user": {"login": "github-actions[bot]", "type": "Bot"},
        }
        self.comments.append(comment)
        return httpx.Response(201, json=comment)

    def update(self, request: httpx.Request, comment_id: str) -> httpx.Response:
        body = json.loads(request.content)["body"]
        for comment in self.comments:
            if comment["id"] == int(comment_id):
                comment["body"] = body
                return httpx.Response(200, json=comment)
        return httpx.Response(404, json={"message": "Not Found"})


@pytest.fixture
def fake_api() -> FakeIssueComments:
    # two pages of other people's comments before ours would appear
    fake = FakeIssueComments(
        [
            {"id": i, "body": f"comment {i}", "user": {"login": "u", "type": "User"}}
            for i in range(1, 151)
        ]
    )
    with respx.mock(base_url=API, assert_all_mocked=True) as mock:
        mock.get("/repos/alice/posts/issues/7/comments").mock(side_effect=fake.list)
        mock.post("/repos/alice/posts/issues/7/comments").mock(side_effect=fake.create)
        mock.patch(url__regex=r"/repos/alice/posts/issues/comments/(?P<comment_id>\d+)$").mock(
            side_effect=fake.update
        )
        yield fake


def test_pr_comment_created_then_updated_in_place(fake_api: FakeIssueComments) -> None:
    first = upsert_pr_comment(API, "alice/posts", 7, TOKEN, "Preview v1")
    assert first.created and first.url == f"https://github.test/c/{first.id}"
    second = upsert_pr_comment(API, "alice/posts", 7, TOKEN, "Preview v2")
    assert not second.created and second.id == first.id
    ours = [c for c in fake_api.comments if "<!-- publisher-preview -->" in c["body"]]
    assert len(ours) == 1
    assert ours[0]["body"] == "<!-- publisher-preview -->\nPreview v2"
    assert len(fake_api.comments) == 151


def test_a_human_comment_carrying_the_marker_is_never_edited(
    fake_api: FakeIssueComments,
) -> None:
    mallory = {"login": "mallory", "type": "User"}
    fake_api.comments.append(
        {"id": 9000, "body": "<!-- publisher-preview -->\nmine", "user": mallory}
    )
    first = upsert_pr_comment(API, "alice/posts", 7, TOKEN, "Preview")
    second = upsert_pr_comment(API, "alice/posts", 7, TOKEN, "Preview v2")
    assert first.created and first.id != 9000
    assert not second.created and second.id == first.id
    assert next(c for c in fake_api.comments if c["id"] == 9000)["body"].endswith("mine")


def test_pr_comment_errors_never_show_the_token() -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/repos/alice/posts/issues/7/comments").respond(200, json=[])
        mock.post("/repos/alice/posts/issues/7/comments").respond(
            403, json={"message": "Resource not accessible by integration"}
        )
        with pytest.raises(GitHubApiError) as info:
            upsert_pr_comment(API, "alice/posts", 7, TOKEN, "Preview")
    assert info.value.status == 403
    assert "Resource not accessible" in str(info.value) and TOKEN not in str(info.value)


def test_pr_comment_network_error_is_clean() -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/repos/alice/posts/issues/7/comments").mock(
            side_effect=httpx.ConnectError("boom")
        )
        with pytest.raises(GitHubError, match="ConnectError") as info:
            upsert_pr_comment(API, "alice/posts", 7, TOKEN, "Preview")
    assert TOKEN not in str(info.value)
