"""Pinterest's rules: one image or video, a board, a video's cover image."""

from __future__ import annotations

from collections.abc import Mapping

from publisher.rules.limits.media import check_media
from publisher.rules.limits.text import text_max
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_pinterest"]


def check_pinterest(content: Content, text: str, out: list[Finding]) -> None:
    text_max("pinterest", text, "pinterest.text.max_graphemes", out, severity="warning", api=False)
    media = content.media
    if not media:
        out.append(
            Finding(
                "pinterest.media.required",
                "no media attached; a Pinterest pin needs exactly one image or video",
                "media",
            )
        )
    elif len(media) > 1:
        out.append(
            Finding(
                "pinterest.media.single_only",
                f"{len(media)} media items attached; a Pinterest pin takes exactly one",
                "media",
                stage="deep",
            )
        )
    opts = content.options or {}
    if not opts.get("boardId"):
        # Only the server knows the account's default board unless metadata was given.
        account = content.account
        if account is not None:
            meta = account.get("pinterest")
            if not (isinstance(meta, Mapping) and meta.get("defaultBoardId")):
                out.append(
                    Finding(
                        "pinterest.board.required",
                        "no board: set options.boardId, or a default board on the "
                        "Pinterest account",
                        "options.boardId",
                        stage="deep",
                    )
                )
    if media and media[0].kind == "video" and not opts.get("coverImageUrl"):
        out.append(
            Finding(
                "pinterest.video.cover_required",
                "a Pinterest video pin needs a cover image: set options.coverImageUrl "
                "to a public image URL",
                "options.coverImageUrl",
                stage="deep",
            )
        )
    check_media("pinterest", media, out)
