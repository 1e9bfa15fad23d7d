"""The ecosystem's conveniences: JSON Schemas with an `$id` (the frontmatter's, which
a post may name in `$schema`, and publisher.toml's), shell completion for bash, zsh
and fish, made from the parser itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.test_init import git
from tests.helpers import cli_env, make_repo, record, run_cli

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = cli_env("http://127.0.0.1:9", None)


def _schema(repo: Path, *which: str) -> dict:
    done = run_cli(["schema", *which], repo, OFFLINE)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_schemas_have_an_id_and_match_the_committed_files(tmp_path):
    for which, name in (((), "post.schema.json"), (("config",), "config.schema.json")):
        schema = _schema(tmp_path, *which)
        assert schema["$id"].endswith(f"/schemas/{name}")
        jsonschema.Draft202012Validator.check_schema(schema)
        committed = json.loads((ROOT / "schemas" / name).read_text())
        assert committed == schema, f"schemas/{name} is stale: `publisher schema` > it"


def test_a_post_may_name_its_schema_and_publishing_ignores_it(tmp_path, sandbox):
    schema = _schema(tmp_path)
    text = f"---\n$schema: {schema['$id']}\ntargets: [bluesky]\n---\nHello\n"
    jsonschema.validate({"$schema": schema["$id"], "targets": ["bluesky"]}, schema)
    repo = make_repo(tmp_path, {"a.md": text})
    done = run_cli(["validate"], repo, OFFLINE)
    assert done.returncode == 0, done.stdout + done.stderr
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    assert record(repo / "posts/a.md")["targets"]["bluesky"]["status"] == "published"
    body = (repo / "posts/a.md").read_text()
    (repo / "posts/a.md").write_text(body.replace(f"$schema: {schema['$id']}\n", ""))
    shown = run_cli(["plan", "--json"], repo, env)  # the key is not content: no edit
    assert json.loads(shown.stdout)["files"][0]["targets"][0]["action"] == "none"


def test_the_config_schema_accepts_what_publisher_writes_and_refuses_a_typo(tmp_path, sandbox):
    schema = _schema(tmp_path, "config")
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    env = {**cli_env(sandbox.url, None), "PUBLISHER_ACTION_URL": str(tmp_path / "none")}
    assert run_cli(["init"], root, env).returncode == 0
    listed = run_cli(["accounts"], root, {**env, "LETMEPOST_API_KEY": sandbox.live_key})
    config = (root / "publisher.toml").read_text() + listed.stdout
    jsonschema.validate(tomllib.loads(config), schema)
    readme = (ROOT / "README.md").read_text()
    example = readme.split("## Configuration", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    jsonschema.validate(tomllib.loads(example), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"post": "posts"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"accounts": {"me": {"bluesky": "a.test", "password": "x"}}}, schema)


def _completion(shell: str) -> str:
    done = run_cli(["completion", shell], ROOT, OFFLINE)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bash_completion_completes_commands_options_and_choices(tmp_path):
    script = tmp_path / "publisher.bash"
    script.write_text(_completion("bash"))
    probe = f"""
source {script}
comp() {{ COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); COMPREPLY=(); _publisher; echo "${{COMPREPLY[*]}}"; }}
comp publisher pub
comp publisher-posts --config x.toml pla
comp publisher publish --dr
comp publisher new --tar
comp publisher schema c
comp publisher completion ''
complete -p publisher-posts
"""
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:6] == [
        "publish",
        "plan",
        "--dry-run",
        "--targets",
        "config",
        "bash zsh fish",
    ]
    assert "_publisher" in done.stdout.splitlines()[6]


@pytest.mark.skipif(not shutil.which("zsh"), reason="zsh is not installed")
def test_zsh_completion_loads(tmp_path):
    folder = tmp_path / "zfunc"
    folder.mkdir()
    (folder / "_publisher").write_text(_completion("zsh"))
    probe = f"fpath=({folder} $fpath); autoload -Uz compinit && compinit -u -D; print $_comps[publisher] $_comps[publisher-posts]"
    done = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.split() == ["_publisher", "_publisher"], (
        done.stdout + done.stderr
    )
    syntax = subprocess.run(["zsh", "-n", str(folder / "_publisher")], capture_output=True)
    assert syntax.returncode == 0, syntax.stderr


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed")
def test_fish_completion_completes_commands_and_options(tmp_path):
    script = tmp_path / "publisher.fish"
    script.write_text(_completion("fish"))
    probe = f"source {script}; complete -C 'publisher pub'; complete -C 'publisher publish --dr'"
    done = subprocess.run(
        ["fish", "--no-config", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "publish\t" in done.stdout and "--dry-run\t" in done.stdout
