"""One run resolver: `plan`, `publish --dry-run` and `publish` agree on the environment,
the server and which records count, under every key and server kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.errors import UsageError
from publisher.run import Env, Run, resolve_run
from tests.helpers import cli_env, make_repo, post, record, run_cli

ONE = {"a.md": post("[bluesky, x]", "A post for the run resolver.")}


def _actions(done) -> dict[str, str]:
    assert done.returncode in (0, 1), done.stderr
    plan = json.loads(done.stdout)
    return {t["target"]: t["action"] for f in plan["files"] for t in f["targets"]}


def test_resolve_run_from_key_kind_and_flags(tmp_path: Path) -> None:
    config = load_config(make_repo(tmp_path, ONE))
    live = resolve_run(config, environ={"LETMEPOST_API_KEY": "lmp_live_abc"})
    assert (live.env, live.api, live.embedded) == (Env.LIVE, "https://api.letmepost.dev", False)
    test = resolve_run(config, environ={"LETMEPOST_API_KEY": "lmp_test_abc"})
    assert test.env is Env.SANDBOX and not test.local and test.key_kind == "test key"
    embedded = resolve_run(config, sandbox=True, environ={"LETMEPOST_API_KEY": "lmp_live_x"})
    assert embedded.embedded and embedded.env is Env.SANDBOX and embedded.api == "sandbox"
    keyless = resolve_run(config, environ={})
    assert keyless.env is Env.LIVE and keyless.key is None
    # The Action's input wins over the environment.
    assert resolve_run(
        config, environ={"LETMEPOST_API_KEY": "lmp_live_x"}, key="lmp_test_y"
    ).sandbox
    assert "lmp_" not in repr(test)  # the key is not in the run's repr


def test_app_passwords_are_read_once_into_the_run_and_kept_out_of_its_repr(
    tmp_path: Path,
) -> None:
    config = load_config(
        make_repo(
            tmp_path,
            ONE,
            'posts = "posts"\n[accounts]\nme = { bluesky = "me.example.org" }\n'
            'team = { bluesky = "team.example.org", password_env = "TEAM_PASS" }\n',
        )
    )
    environ = {"BLUESKY_APP_PASSWORD": "app-pass-one", "TEAM_PASS": "app-pass-two", "OTHER": "x"}
    for run in (
        resolve_run(config, environ=environ),
        resolve_run(config, sandbox=True, environ=environ),
    ):
        assert run.app_passwords == {
            "BLUESKY_APP_PASSWORD": "app-pass-one",
            "TEAM_PASS": "app-pass-two",
        }
        assert "app-pass" not in repr(run)
    # an unset variable is simply absent: the backend says which one to set when it is needed
    assert resolve_run(config, environ={"TEAM_PASS": "p"}).app_passwords == {"TEAM_PASS": "p"}


def test_records_count_only_for_their_environment_and_server_kind() -> None:
    real = Run(Env.LIVE, "https://api.letmepost.dev")
    local = Run(Env.LIVE, "http://127.0.0.1:8787")
    assert real.counts("live", "https://api.letmepost.dev")
    assert not real.counts("sandbox", "https://api.letmepost.dev")
    assert not real.counts("live", "http://127.0.0.1:9999")  # a local sandbox's "live"
    assert local.counts("live", "http://localhost:1234")
    assert not local.counts("live", "https://api.letmepost.dev")
    assert Run(Env.SANDBOX, "sandbox").counts("sandbox", "http://127.0.0.1:1")


def test_malformed_key_is_refused_without_echo(tmp_path: Path) -> None:
    config = load_config(make_repo(tmp_path, ONE))
    with pytest.raises(UsageError) as info:
        resolve_run(config, environ={"LETMEPOST_API_KEY": "lmp_live_sec ret\n"})
    assert "sec" not in str(info.value)


def test_api_url_with_credentials_is_refused_and_never_echoed(tmp_path: Path, sandbox) -> None:
    repo = make_repo(tmp_path, ONE)
    host = sandbox.url.split("://", 1)[1]
    secret = "lmp_live_SECRETSECRETSECRET"
    for url in (f"http://user:{secret}@{host}", f"http://{secret}@{host}"):
        for command in (["plan"], ["publish"], ["publish", "--dry-run"]):
            done = run_cli(command, repo, cli_env(url, sandbox.live_key))
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert "credentials" in done.stderr
            assert secret not in done.stdout + done.stderr
    assert "published" not in (repo / "posts/a.md").read_text()
    assert sandbox.posts() == []


def test_plan_dry_run_and_publish_agree_with_a_test_key(tmp_path: Path, sandbox) -> None:
    """Reported: with an lmp_test_ key, `plan` said `publish (new)` for every published
    post (it planned a live run) while `publish` sent nothing."""
    repo = make_repo(tmp_path, ONE)
    env = cli_env(sandbox.url, sandbox.test_key)
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 0, first.stderr
    assert record(repo / "posts/a.md")["env"] == "sandbox"
    rows = len(sandbox.posts())

    assert set(_actions(run_cli(["plan", "--json"], repo, env)).values()) == {"none"}
    dry = run_cli(["publish", "--dry-run", "--json"], repo, env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {"env": "sandbox", "requests": []}
    again = run_cli(["publish"], repo, env)
    assert again.returncode == 0 and "nothing to publish" in again.stdout
    assert len(sandbox.posts()) == rows

    # The same records do not count for a live key: all three say so alike.
    live = cli_env(sandbox.url, sandbox.live_key)
    assert set(_actions(run_cli(["plan", "--json"], repo, live)).values()) == {"publish"}
    dry = json.loads(run_cli(["publish", "--dry-run", "--json"], repo, live).stdout)
    assert dry["env"] == "live" and [r["path"] for r in dry["requests"]] == ["/v1/posts"]


def test_dry_run_keys_are_the_keys_publish_sends(tmp_path: Path, sandbox) -> None:
    repo = make_repo(tmp_path, ONE)
    env = cli_env(sandbox.url, sandbox.live_key)
    dry = json.loads(run_cli(["publish", "--dry-run", "--json"], repo, env).stdout)
    (request,) = dry["requests"]
    assert run_cli(["publish"], repo, env).returncode == 0
    # the key the server got (its ground truth) is the one dry-run printed
    sent = [r["key"] for r in sandbox.control("GET", "idempotency")["data"]]
    assert sent == [request["idempotencyKey"]]


def test_a_path_brings_its_own_repository_and_config(tmp_path: Path, sandbox) -> None:
    """Config is found from the post's repository, not from the current folder."""
    repo = make_repo(
        tmp_path / "repo",
        {"a.md": post("[mine]", "Aliased target.")},
        config='posts = "posts"\n\n[accounts]\nmine = "twitter"\n',
    )
    elsewhere = tmp_path / "elsewhere"
    make_repo(elsewhere, {}, config='posts = "posts"\n')
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["validate", str(repo / "posts/a.md")], elsewhere, env)
    assert done.returncode == 0, done.stdout + done.stderr
    plan = json.loads(run_cli(["plan", "--json", str(repo / "posts")], elsewhere, env).stdout)
    assert [t["platform"] for f in plan["files"] for t in f["targets"]] == ["twitter"]
    two = run_cli(["validate", str(repo / "posts"), str(elsewhere / "posts")], tmp_path, env)
    assert two.returncode == 2 and "different repositories" in two.stderr
