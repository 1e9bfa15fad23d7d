"""`publisher ci`: the GitHub Action's entry point, as a library.

The composite action (``action.yml``) runs ``publisher ci`` with its inputs in the
environment (the contract is in ``docs/action.md``); this module reads them and the
Actions environment, chooses a mode and tells the story of the event:

- ``publish`` (a push to the default branch): the posts changed by the push, plus
  every post with no record yet, are planned and published exactly as ``publisher
  publish`` does; queued posts whose file the push deleted are canceled; the
  written-back files are committed as github-actions[bot] and pushed (rebase and
  retry, merging ``published`` records on a conflict).
- ``preview`` (a pull request, or a run asked to publish anywhere but on the default
  branch: publisher publishes from the default branch only): the same plan, computed
  with no key and no network write, shown per post and target in the job summary and
  one PR comment. A block in a file the event did not change was reported by an
  earlier run: it is listed as waiting and fails no run (`Report.waiting`).
- ``draft`` (a ``release`` event, or asked for): the release, or on any other event
  the ``[[feeds]]`` of publisher.toml, become draft post files in the workspace
  (``publisher draft``); nothing is committed: the workflow's next step opens the
  pull request. A feed that cannot be read is a warning, and the others go on.
- ``validate`` (anything else): annotations and a summary.

Post text is untrusted: it reaches the log only inside ``::stop-commands::``, the
summary and the PR comment only escaped. The API key is masked before anything else
is printed. Exit codes: 0 ok, 1 an invalid post / failed target / push failure,
2 usage or configuration.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TextIO

from publisher import record
from publisher.config import Config, ConfigError, load_config
from publisher.errors import UsageError
from publisher.github.actions import (
    ActionsEnv,
    AnnotationLevel,
    GitHubApiError,
    GitHubError,
    add_mask,
    annotation,
    append_summary,
    stop_commands,
    upsert_pr_comment,
    write_outputs,
)
from publisher.github.outcome import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Report
from publisher.github.select import Selection, select_posts

if TYPE_CHECKING:
    from publisher.run import Connection, Run

__all__ = ["Inputs", "choose_mode", "main", "parse_bool"]

MODES = ("auto", "publish", "preview", "validate", "draft")
PUSH_ATTEMPTS = 5
COMMENT_LIMIT = 60_000
"""GitHub refuses comment bodies over 65,536 characters; keep a margin."""
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


# ---------------------------------------------------------------------------- the story


def main(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``publisher ci``; returns the exit code."""
    environ = os.environ if environ is None else environ
    log = Log(out or sys.stdout)
    from publisher.redaction import from_environ

    from_environ(environ)
    for name in ("LETMEPOST_API_KEY", "GITHUB_TOKEN"):
        secret = environ.get(name, "").strip()
        if secret:
            log.mask(secret)  # before anything else is printed
    try:
        job = Job.from_environ(config_path, environ, log)
        mode, why = choose_mode(job.inputs.mode, job.actions)
        if mode == "publish" and not job.actions.on_default_branch:
            mode, why = "preview", off_default_branch(job.actions)
            log.command(annotation("notice", why, title="publisher: nothing published"))
        if mode == "publish":
            code = publish(job, why)
        elif mode == "draft":
            code = draft(job, why)
        else:
            code = preview(job, why) if mode == "preview" else validate(job, why)
        return EXIT_USAGE if job.unwritable else code  # said once, where it happened
    except (UsageError, ConfigError, GitHubError) as exc:
        log.command(annotation("error", str(exc), title="publisher: configuration"))
        return EXIT_USAGE


def validate(job: Job, why: str) -> int:
    """Every other event: check every post, annotate, summarise."""
    from publisher.github.render import validate_summary
    from publisher.report import print_problems, problems_summary

    report = job.plan(why, job.select("validate"), reason=why)
    posts = [f.post for f in report.plan.files]
    text = StringIO()
    print_problems(posts, out=text)
    job.log.untrusted(text.getvalue())
    job.log.command(f"publisher: {problems_summary(posts)}")
    job.finish(report, validate_summary(report))
    return EXIT_FAILED if report.plan.invalid else EXIT_OK


def preview(job: Job, why: str) -> int:
    """A pull request: the plan, with no key and nothing sent, in the summary and one
    PR comment."""
    from publisher.github.render import preview_markdown, preview_text

    selection = job.select("preview")
    report = job.plan(why, selection)
    job.log.untrusted(preview_text(report) or "no post is changed or waiting to be published")
    body = preview_markdown(report)
    job.finish(report, body)
    job.comment(body)
    return EXIT_FAILED if report.plan.invalid or report.new_blocks else EXIT_OK


def publish(job: Job, why: str) -> int:
    """A push to the default branch: publish what the push touched (and every post
    without a record), cancel what deleted files left queued, then commit and push the
    write-back."""
    from publisher.apply import RunResult
    from publisher.github.render import git_summary, publish_summary
    from publisher.lock import run_lock
    from publisher.report import result_table

    if job.repo_root is None:
        raise UsageError(f"{job.config.root} is not a git checkout: publish mode commits results")
    branch = job.actions.branch
    if job.inputs.push and job.inputs.commit and branch is None:
        raise UsageError(
            f"cannot push the results: {job.actions.ref or 'no ref'} is not a branch "
            "(set push: false to only commit)"
        )
    with run_lock(job.config.root), job.run.connect(need_key=False) as api:
        report = job.plan(why, job.select("publish"), api=api)
        if api.client is None and report.plan.needs_api:
            raise UsageError(
                "publishing needs the api-key input (LETMEPOST_API_KEY): pass "
                "${{ secrets.LETMEPOST_API_KEY }}, or set sandbox: true to try it locally"
            )
        job.send(api, report)
    result = RunResult(outcomes=report.outcomes, written=report.written)
    job.log.untrusted(result_table(report.plan, result))
    job.finish(report, publish_summary(report))
    if job.inputs.commit and report.written:
        job.save(report, sorted(report.written), branch)
    summary_path = job.actions.summary_path
    if summary_path is not None:
        job.runner_file(
            "GITHUB_STEP_SUMMARY",
            summary_path,
            lambda: append_summary(summary_path, git_summary(report)),
        )
    return report.exit_code()


def draft(job: Job, why: str) -> int:
    """A release event: a draft announcing the release; any other event: drafts of the
    configured feeds' new entries. The files are left in the workspace for the next
    step (the pull request); outputs ``drafted`` (how many) and ``drafts`` (their
    files, titles and sources)."""
    from publisher.drafts.release import NotARelease, ReleaseError, release_from_payload
    from publisher.drafts.runner import draft_feeds, draft_release, sources_from_config
    from publisher.lock import run_lock

    job.log.command(f"publisher: draft ({why})")
    results = []
    with run_lock(job.config.root):
        if job.actions.event_name == "release":
            try:
                release = release_from_payload(job.actions.event)
            except NotARelease as exc:
                job.log.command(f"publisher: nothing to draft: {exc}")
            except ReleaseError as exc:
                raise UsageError(str(exc)) from None
            else:
                results.append(draft_release(job.config, release, remember=False))
        else:
            feeds = sources_from_config(job.config)
            if not feeds:
                job.log.command(
                    annotation(
                        "notice",
                        "no [[feeds]] in publisher.toml: no feed to draft from",
                        title="publisher: drafts",
                    )
                )
            results = draft_feeds(job.config, feeds, remember=False) if feeds else []
    root = job.repo_root or job.config.root
    drafts = [w.as_dict(root) for r in results for w in r.drafts]
    for r in results:
        if r.status == "failed":
            job.log.command(
                annotation("warning", f"{r.source}: {r.error}", title="publisher: a feed failed")
            )
    lines = [f"{d['file']}: {d['title']}" for d in drafts]
    job.log.untrusted("\n".join(lines) or "no new entry to draft")
    if job.actions.output_path is not None:
        write_outputs(
            job.actions.output_path,
            {
                "drafted": len(drafts),
                "drafts": [
                    {"file": d["file"], "title": d["title"], "source": d["source"]} for d in drafts
                ],
            },
        )
    if job.actions.summary_path is not None:
        from publisher.github.render import link, md

        rows = [
            f"| {md(d['file'])} | {md(d['title'])} | "
            f"{link(d['source'].get('url'), d['source']['id'])} |"
            for d in drafts
        ]
        failed = [f"- {md(r.source)}: {md(r.error or '')}" for r in results if r.error]
        parts = [f"### publisher: {len(drafts)} new {'draft' if len(drafts) == 1 else 'drafts'}"]
        if rows:
            parts += ["", "| file | title | source |", "|---|---|---|", *rows]
        if failed:
            parts += ["", "Feeds that could not be read:", *failed]
        append_summary(job.actions.summary_path, "\n".join(parts) + "\n")
    return EXIT_OK


# ------------------------------------------------------------------------------- the job


@dataclass
class Job:
    """One run of the Action: its inputs, the event, the configuration and the Run."""

    inputs: Inputs
    actions: ActionsEnv
    config: Config
    repo_root: Path | None
    log: Log
    environ: Mapping[str, str]
    run: Run
    #: The runner's files that could not be written (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY):
    #: each said once as an error; the run goes on (results are still committed) and
    #: exits 2.
    unwritable: list[str] = field(default_factory=list)

    def runner_file(self, name: str, path: Path, write: Callable[[], object]) -> None:
        """``write()`` to one of the runner's files; an OSError is one clear line."""
        try:
            write()
        except OSError as exc:
            if name not in self.unwritable:
                self.unwritable.append(name)
                self.log.command(
                    annotation(
                        "error",
                        f"cannot write {name} ({path}): {exc.strerror or exc}",
                        title="publisher: the runner's files",
                    )
                )

    @classmethod
    def from_environ(cls, config_path: Path | None, environ: Mapping[str, str], log: Log) -> Job:
        """Inputs, event and configuration (``path`` replaces the posts folder)."""
        from publisher.git import work_tree_root
        from publisher.run import resolve_run

        inputs = Inputs.from_environ(environ)
        actions = ActionsEnv.from_environ(environ)
        config = load_config(path=config_path) if config_path else load_config()
        from publisher.clients.fetch import allow_also

        allow_also(config.fetch_allow)
        from publisher.redaction import from_environ

        passwords = [a.password_env for a in config.accounts.values() if a.password_env]
        from_environ(environ, passwords)
        for name in dict.fromkeys(passwords):  # the runner hides them in its log too
            if environ.get(name, "").strip():
                log.mask(environ[name].strip())
        if inputs.path is not None:
            posts = PurePosixPath(inputs.path.replace("\\", "/"))
            if posts.is_absolute() or ".." in posts.parts:
                raise UsageError(
                    f"input path must be a folder inside the repository: {inputs.path!r}"
                )
            config = dataclasses.replace(config, posts=posts.as_posix())
        if inputs.on_edit is not None:
            config = dataclasses.replace(config, on_edit=inputs.on_edit)
        run = resolve_run(config, sandbox=inputs.sandbox, environ=environ, key=inputs.api_key or "")
        return cls(inputs, actions, config, work_tree_root(config.root), log, environ, run)

    def where(self, rel: str) -> str:
        """A post path relative to the config root -> relative to the repository root."""
        if self.repo_root is None:
            return rel
        try:
            return (self.config.root / rel).resolve().relative_to(self.repo_root).as_posix()
        except ValueError:
            return rel

    def select(self, mode: str) -> Selection:
        return select_posts(self.config, self.repo_root, self.actions, mode, self.run)

    def plan(
        self,
        why: str,
        selection: Selection,
        *,
        reason: str | None = None,
        api: Connection | None = None,
    ) -> Report:
        """Load and plan the selected posts; the report of what was found. With an open
        connection, targets named by a platform alone are checked against the
        connected accounts (read once)."""
        from publisher.reconcile import Reconciler
        from publisher.validate import load_post

        root = self.repo_root or self.config.root
        deleted = [
            (Path(os.path.relpath(root / d.path, self.config.root)).as_posix(), d.queued)
            for d in selection.deleted
        ]
        posts = [load_post(p, self.config) for p in selection.files]
        # Ask before creating: git history on every ref and on the push's `before` (a
        # force push left it out of the clone), then, connected, the server.
        push = self.actions.push
        refs = [push.before] if push is not None and push.before else []
        plan = Reconciler(posts, self.run, refs=refs, deleted=deleted).plan(api)
        reason = reason if reason is not None else f"{why}; {selection.reason}"
        return Report(reason, plan.env, plan, self.where, selection, root=self.config.root)

    def finish(self, report: Report, summary: str) -> None:
        """Annotations, outputs, the summary: all written before any git work."""
        for line in report.annotations():
            self.log.command(line)
        out, summary_path = self.actions.output_path, self.actions.summary_path
        if out is not None:
            self.runner_file("GITHUB_OUTPUT", out, lambda: write_outputs(out, report.outputs()))
        if summary_path is not None:
            self.runner_file(
                "GITHUB_STEP_SUMMARY", summary_path, lambda: append_summary(summary_path, summary)
            )

    def comment(self, body: str) -> None:
        """One PR comment, updated in place; a fork or a refusal is a notice, not a failure."""
        pr = self.actions.pull_request
        if pr is None or not self.inputs.token or not self.actions.repository:
            return
        if pr.from_fork:
            self.log.command(
                annotation(
                    "notice", "pull request from a fork: the preview is in the job summary only"
                )
            )
            return
        if len(body) > COMMENT_LIMIT:
            cut = body.rfind("\n", 0, COMMENT_LIMIT)
            body = body[: max(cut, 0)] + "\n\n_Preview cut short: the job summary has all of it._\n"
        if self.actions.run_url:
            body += f"\n<sub>[workflow run]({self.actions.run_url})</sub>\n"
        try:
            result = upsert_pr_comment(
                self.actions.api_url, self.actions.repository, pr.number, self.inputs.token, body
            )
        except GitHubApiError as exc:
            level: AnnotationLevel = "notice" if exc.status in (403, 404) else "warning"
            self.log.command(
                annotation(
                    level,
                    f"no preview comment ({exc}); give the job `pull-requests: write` to get one",
                )
            )
            return
        except (GitHubError, ValueError) as exc:
            self.log.command(annotation("warning", f"no preview comment: {exc}"))
            return
        state = "created" if result.created else "updated"
        self.log.command(f"publisher: preview comment {state}")

    def send(self, api: Connection, report: Report) -> None:
        """Apply the plan: each result written back at once; the queued posts of
        deleted files are cancelled (steps of the plan too)."""
        from publisher.apply import Runner

        result = Runner(api.run, client=api.client).run(report.plan)
        report.outcomes = list(result.outcomes)
        report.stopped = result.stopped
        report.written = list(result.written)

    def save(self, report: Report, written: list[str], branch: str | None) -> None:
        """Commit the written-back files as github-actions[bot] and push them (rebase
        and retry; a conflict in a post is resolved by merging its records)."""
        from publisher.git import GitError, commit_files, push_with_retry
        from publisher.github.render import commit_message

        root = self.repo_root or self.config.root
        message = commit_message(self.inputs.commit_message, report, written)
        try:
            report.commit = commit_files(
                root, [str(self.config.root / w) for w in written], message
            )
        except GitError as exc:
            report.git_error = f"commit failed: {exc}"
        if report.commit is not None and not report.git_error and self.inputs.push and branch:
            try:
                pushed = push_with_retry(
                    root, branch, attempts=PUSH_ATTEMPTS, merge_file=record.merge_published
                )
            except GitError as exc:
                report.git_error = f"push failed: {exc}"
            else:
                report.pushed = pushed.ok
                report.commit = pushed.sha or report.commit
                if not pushed.ok:
                    report.git_error = f"push to {branch} failed: {pushed.error}"
                elif pushed.merged_files:
                    from publisher.report import plural

                    n = plural(len(pushed.merged_files), "file")
                    self.log.command(f"publisher: merged results with the remote in {n}")
        if report.git_error:
            self.log.command(
                annotation(
                    "error",
                    f"{report.git_error}. Every result is in the step outputs and the job summary.",
                    title="publisher: results not pushed",
                )
            )
        elif report.commit:
            state = "pushed" if report.pushed else "committed"
            self.log.command(f"publisher: results {state} as {report.commit[:12]}")


# ------------------------------------------------------------------------ inputs, log


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, read from the environment (empty means unset)."""

    mode: str = "auto"
    path: str | None = None
    commit: bool = True
    push: bool = True
    commit_message: str | None = None
    sandbox: bool = False
    on_edit: str | None = None  # keep | repost: replaces publisher.toml's on_edit
    api_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Inputs:
        """Parse the ``PUBLISHER_*`` variables; raises :class:`UsageError` on bad values."""

        def value(name: str) -> str | None:
            text = environ.get(name, "").strip()
            return text or None

        mode = value("PUBLISHER_MODE") or "auto"
        if mode not in MODES:
            raise UsageError(f"input mode must be one of {', '.join(MODES)}; got {mode!r}")
        return cls(
            mode=mode,
            path=value("PUBLISHER_PATH"),
            commit=parse_bool("commit", environ.get("PUBLISHER_COMMIT"), True),
            push=parse_bool("push", environ.get("PUBLISHER_PUSH"), True),
            commit_message=value("PUBLISHER_COMMIT_MESSAGE"),
            sandbox=parse_bool("sandbox", environ.get("PUBLISHER_SANDBOX"), False),
            on_edit=_on_edit(value("PUBLISHER_ON_EDIT")),
            api_key=value("LETMEPOST_API_KEY"),
            token=value("GITHUB_TOKEN"),
        )


def _on_edit(raw: str | None) -> str | None:
    from publisher.config import ON_EDIT

    if raw is not None and raw not in ON_EDIT:
        raise UsageError(f"input on-edit must be keep or repost; got {raw[:40]!r}")
    return raw


def parse_bool(name: str, raw: str | None, default: bool) -> bool:
    """A boolean input, parsed like ``core.getBooleanInput``; empty gives ``default``."""
    text = (raw or "").strip()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(
        f"input {name} must be true or false (true, True, TRUE, false, False, FALSE); "
        f"got {text[:40]!r}"
    )


def choose_mode(requested: str, env: ActionsEnv) -> tuple[str, str]:
    """The mode to run and why: ``auto`` publishes on a push to the default branch,
    previews on a pull request and validates otherwise."""
    if requested != "auto":
        return requested, f"mode: {requested}"
    if env.is_default_branch_push:
        return "publish", f"push to the default branch {env.default_branch}"
    if env.pull_request is not None:
        return "preview", f"pull request #{env.pull_request.number}"
    if env.event_name == "release":
        return "draft", "a release event"
    what = env.event_name or "no event"
    if env.event_name == "push":
        what = f"push to {env.branch or env.ref or 'a ref'}, not the default branch"
    return "validate", what


def off_default_branch(env: ActionsEnv) -> str:
    """Why a run asked to publish previews instead: publisher publishes from the
    default branch only, so a manual run on a feature branch cannot publish its
    unreviewed posts."""
    where = env.branch or env.ref or "no branch"
    if env.default_branch:
        return (
            f"{where} is not the default branch {env.default_branch}: previewing instead "
            "of publishing (publisher publishes only from the default branch)"
        )
    return (
        f"cannot tell whether {where} is the default branch (the {env.event_name or 'unknown'} "
        "event names none): previewing instead of publishing"
    )


class Log:
    """The step's log: workflow commands as given, anything from posts fenced off."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def mask(self, secret: str) -> None:
        """``::add-mask::`` the secret: the one line that names it (the runner hides it
        in the log from then on)."""
        from publisher.redaction import write_raw

        write_raw(self.out, add_mask(secret) + "\n")

    def command(self, line: str) -> None:
        from publisher.redaction import redact

        print(redact(line), file=self.out, flush=True)

    def untrusted(self, text: str) -> None:
        """Print text that may come from a post: no line of it can run a command."""
        from publisher.redaction import redact

        if text:
            print(stop_commands(redact(text)), file=self.out, flush=True)
