"""Previews: what each post will look like per target, and where people see it.

- `views`: the preview model (`PostPreview`, `TargetPreview`, `build_preview`), built
  from a `Post` and its `FilePlan`; the one source of every preview.
- `watch`: the watch loop (`Watcher`): preview on every save, publish once settled.
- `page`: the live preview page (`PreviewHub`, `serve`) and its assets.
- `terminal`: the watch loop's terminal views (plain lines, a live rich view).

Nothing is imported here: `import publisher.preview.views` stays cheap.
"""

__all__ = []
