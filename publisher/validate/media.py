"""A post's media: each item's path checked (inside the repository, readable, an image
or video we recognise), its alt text required, local files read once per run."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from publisher.document import Loc
from publisher.files import MAX_MEDIA_BYTES, MediaTooLarge
from publisher.post import MediaFile
from publisher.rules import limits

if TYPE_CHECKING:
    from publisher.validate.base import Checker

__all__ = ["check_media"]


def check_media(c: Checker, specs: list[Any], loc: Loc) -> list[MediaFile]:
    out: list[MediaFile] = []
    if not specs:
        return out
    base: str | None = None  # the post's folder, symlinks resolved
    paths = c.snapshot.paths
    root = os.path.join(paths.resolve(str(c.config.root)), "")
    for j, spec in enumerate(specs):
        item_loc = (*loc, j)
        alt = spec.alt
        if c.config.require_alt and not (alt and alt.strip()):
            c.problem(
                item_loc,
                "media.alt.required",
                "alt text is required: describe the image for people who cannot see it "
                "(or set require_alt = false in publisher.toml)",
            )
        if spec.url:
            kind = spec.kind or limits.kind_of_mime(
                limits.mime_from_extension(spec.url.split("?")[0]) or ""
            )
            if kind is None:
                c.problem(
                    item_loc,
                    "media.kind.required",
                    f"cannot tell whether {spec.url} is an image or a video: add `kind`",
                )
                continue
            out.append(MediaFile(kind=kind, alt=alt, url=spec.url))
            continue
        path_loc = (*item_loc, "path")
        if "\x00" in spec.path:
            c.problem(path_loc, "media.path", "media path contains a NUL character")
            continue
        if os.path.isabs(spec.path) or spec.path.startswith("~"):
            c.problem(
                path_loc, "media.path.absolute", "media paths must be relative to the post file"
            )
            continue
        if base is None:
            base = os.path.dirname(paths.of_file(c.post.path))
        joined = os.path.join(base, spec.path)
        real = paths.resolve(joined)
        if not real.startswith(root):
            how = "a symlink" if os.path.islink(joined) else "via .."
            c.problem(
                path_loc,
                "media.path.outside",
                f"{spec.path} leads outside the repository ({how}); media must live inside it",
            )
            continue
        try:
            target, (sha, size, mime) = c.snapshot.media(real)
        except FileNotFoundError:
            c.problem(path_loc, "media.path.missing", f"media file {spec.path} does not exist")
            continue
        except MediaTooLarge as exc:
            c.problem(
                path_loc,
                "media.too_large",
                f"{spec.path} is {exc.size:,} bytes; no upload takes more than "
                f"{MAX_MEDIA_BYTES:,} (it was not read)",
            )
            continue
        except OSError as exc:
            c.problem(path_loc, "media.path.unreadable", f"cannot read {spec.path}: {exc.strerror}")
            continue
        mime = mime or limits.mime_from_extension(target.name)
        kind = limits.kind_of_mime(mime or "")
        if kind is None:
            c.problem(
                path_loc,
                "media.type",
                f"{spec.path} is not an image or video we recognise (jpeg, png, gif, webp, mp4, mov)",
            )
            continue
        if spec.kind and spec.kind != kind:
            c.problem(
                (*item_loc, "kind"),
                "media.kind.mismatch",
                f"{spec.path} is a {kind}, not a {spec.kind}",
            )
        out.append(
            MediaFile(
                kind=kind, alt=alt, path=target, rel=spec.path, mime=mime, size=size, sha256=sha
            )
        )
    return out
