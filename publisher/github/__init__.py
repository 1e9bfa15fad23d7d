"""The GitHub side of publisher: the Action's run and everything it needs.

- `ci`: `publisher ci`, the story of one GitHub event (inputs, mode, library calls,
  report).
- `actions`: the Actions environment: event payload, workflow commands, outputs,
  summary, the PR comment API.
- `git`: the one git module: every git command publisher runs goes through it.
- `select`: which post files a push or pull request touched.
- `report`: what a run found and did, as step outputs and annotations.
- `render`: Markdown for the job summary and the PR comment, from the preview model.

Nothing is imported here: `import publisher.git` stays cheap.
"""

__all__ = []
