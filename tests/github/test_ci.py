"""Units of `publisher.github.ci`, called directly (the event's story end to end is in
tests/e2e/test_ci.py): which mode a run takes, where it may publish, and how the action's
inputs are read."""

from __future__ import annotations

import pytest

from publisher.errors import EXIT_USAGE, UsageError
from publisher.github.actions import ActionsEnv, PullRequestEvent, PushEvent
from publisher.github.ci import Inputs, choose_mode, off_default_branch, parse_bool

SHA_A, SHA_B = "a" * 40, "b" * 40


def push(branch: str, *, deleted: bool = False, default: str | None = "main") -> ActionsEnv:
    return ActionsEnv(
        event_name="push",
        ref=f"refs/heads/{branch}",
        push=PushEvent(SHA_A, SHA_B, False, False, deleted, f"refs/heads/{branch}"),
        default_branch=default,
    )


def event(name: str, ref: str, default: str | None = "main") -> ActionsEnv:
    return ActionsEnv(event_name=name, ref=ref, default_branch=default)


def pull_request() -> ActionsEnv:
    pr = PullRequestEvent(
        number=7,
        base_sha=SHA_A,
        head_sha=SHA_B,
        base_ref="main",
        head_ref="feature",
        from_fork=False,
    )
    return ActionsEnv(
        event_name="pull_request", ref="refs/pull/7/merge", pull_request=pr, default_branch="main"
    )


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        (push("main"), "publish"),
        (push("feature"), "validate"),
        (push("main", deleted=True), "validate"),
        (push("main", default=None), "validate"),  # the default branch cannot be told
        (pull_request(), "preview"),
        (event("schedule", "refs/heads/main"), "validate"),
        (event("workflow_dispatch", "refs/heads/feature"), "validate"),
    ],
)
def test_auto_publishes_only_a_push_to_the_default_branch(env: ActionsEnv, mode: str) -> None:
    assert choose_mode("auto", env)[0] == mode


@pytest.mark.parametrize(
    ("env", "publishes"),
    [
        (push("main"), True),
        (push("feature"), False),
        (push("main", deleted=True), False),
        (pull_request(), False),
        (event("workflow_dispatch", "refs/heads/main"), True),
        (event("workflow_dispatch", "refs/heads/feature"), False),  # "Run workflow" elsewhere
        (event("workflow_dispatch", "refs/tags/v1.0.0"), False),
        (event("workflow_dispatch", "refs/heads/main", default=None), False),
    ],
)
def test_only_the_default_branch_may_publish(env: ActionsEnv, publishes: bool) -> None:
    assert env.on_default_branch is publishes
    if not publishes:  # the run says why it previews instead
        assert "previewing instead of publishing" in off_default_branch(env)


def test_a_mode_asked_for_is_kept_and_said() -> None:
    assert choose_mode("preview", push("main")) == ("preview", "mode: preview")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("", True),
        (None, True),
        (" false ", False),
    ],
)
def test_boolean_inputs_are_read_as_actions_reads_them(raw: str | None, value: bool) -> None:
    assert parse_bool("commit", raw, True) is value


def test_a_bad_input_is_a_usage_error_naming_it_without_echoing_long_values() -> None:
    with pytest.raises(UsageError, match="input push must be true or false") as caught:
        parse_bool("push", "yes-" + "x" * 200, True)
    assert len(str(caught.value)) < 200
    assert caught.value.exit_code == EXIT_USAGE
    with pytest.raises(UsageError, match="input mode must be one of"):
        Inputs.from_environ({"PUBLISHER_MODE": "yolo"})
    with pytest.raises(UsageError, match="on-edit must be keep or repost"):
        Inputs.from_environ({"PUBLISHER_ON_EDIT": "maybe"})


def test_inputs_default_and_secrets_stay_out_of_the_repr() -> None:
    inputs = Inputs.from_environ(
        {
            "LETMEPOST_API_KEY": "lmp_live_" + "k" * 32,
            "GITHUB_TOKEN": "ghs_secret",
            "PUBLISHER_SANDBOX": "true",
        }
    )
    assert (inputs.mode, inputs.commit, inputs.push, inputs.sandbox) == ("auto", True, True, True)
    assert "lmp_live_" not in repr(inputs) and "ghs_secret" not in repr(inputs)
