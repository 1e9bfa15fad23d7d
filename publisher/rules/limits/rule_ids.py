"""The rule ids `check` and `check_target_count` report: the letmepost API's own
(letmepost-api.md sections 1 and 6, and the server's ``platforms/*/preflight.ts``), plus
the few marked ``# local id``, which are ours and follow the same pattern."""

from __future__ import annotations

from publisher.rules import platforms as _platforms

__all__ = ["MAX_TARGETS", "PLATFORMS", "RULES", "SCHEMA_RULES"]

PLATFORMS = _platforms.PLATFORMS
MAX_TARGETS = 25

#: Every rule id :func:`check` and :func:`check_target_count` can report.
RULES: frozenset[str] = frozenset(
    {
        # request shape (section 1)
        "targets.required",
        "targets.max",
        "targets.text.required",
        "targets.options.platform_mismatch",
        "targets.options.platform_required",  # local id (zod: discriminator missing)
        "targets.options.unknown_key",  # local id (zod strips unknown keys silently)
        "targets.options.invalid",  # local id (zod: wrong type / empty string)
        "scheduledAt.no_first_comment",
        "scheduledAt.no_bluesky_reply",
        "first_comment.ignored",  # local id, warning
        "media.bytes_inline_unsupported",
        # bluesky
        "bluesky.text.non_empty",
        "bluesky.text.max_graphemes",
        "bluesky.text.max_bytes",  # local id (the PDS's lexicon: 3000 UTF-8 bytes)
        "bluesky.media.count_max",
        "bluesky.media.image_video_exclusive",
        "bluesky.media.alt_text_max_graphemes",
        "bluesky.media.mime_allowed",
        "bluesky.media.image_size_max",
        "bluesky.media.video_size_max",
        "bluesky.first_comment.non_empty",
        "bluesky.first_comment.max_graphemes",
        "bluesky.first_comment.max_bytes",  # local id (the PDS's lexicon)
        "bluesky.options.reply_pair",  # local id (zod refinement)
        "bluesky.options.root_needs_parent",  # local id (zod refinement)
        # twitter
        "twitter.text.non_empty",
        "twitter.text.max_graphemes",
        "twitter.text.max_weighted",  # local id (X's own count, twitter-text v3)
        "twitter.text.invalid_characters",  # local id (twitter-text: U+FFFE, U+FEFF, U+FFFF)
        "twitter.media.count_max",
        "twitter.media.image_video_exclusive",
        "twitter.media.alt_text_max_graphemes",
        "twitter.media.mime_allowed",
        "twitter.media.image_size_max",
        "twitter.media.gif_size_max",
        "twitter.media.video_size_max",
        "twitter.options.reply_quote_exclusive",  # local id (zod refinement)
        # threads
        "threads.text.required",
        "threads.text.max_graphemes",
        "threads.media.count_max",
        "threads.media.alt_text_max_graphemes",
        "threads.media.mime_allowed",
        "threads.media.image_size_max",
        "threads.media.video_size_max",
        # linkedin
        "linkedin.text.non_empty",
        "linkedin.text.max_graphemes",
        "linkedin.media.ignored",  # local id, warning
        # facebook
        "facebook.text.required",
        "facebook.text.max_graphemes",
        "facebook.media.count_max",
        "facebook.media.image_video_exclusive",
        "facebook.media.mime_allowed",
        "facebook.media.image_size_max",
        "facebook.media.video_size_max",
        # instagram
        "instagram.media.required",
        "instagram.text.max_graphemes",
        "instagram.media.count_max",
        "instagram.media.alt_text_max_graphemes",
        "instagram.media.mime_allowed",
        "instagram.media.image_size_max",
        "instagram.media.video_size_max",
        # pinterest
        "pinterest.text.max_graphemes",  # local id, warning (Pinterest's own limit)
        "pinterest.media.required",
        "pinterest.media.single_only",
        "pinterest.board.required",
        "pinterest.video.cover_required",
        "pinterest.destination_url.http",
        "pinterest.cover_image_url.http",
        "pinterest.image.mime_allowed",
        "pinterest.image.size_max",
        "pinterest.video.mime_allowed",
        "pinterest.video.size_max",
        # tiktok
        "tiktok.text.max_chars",
        "tiktok.text.hashtag_max",
        "tiktok.media.required",
        "tiktok.media.single_only",
        "tiktok.media.video_required",
        "tiktok.branded_content.mutual_exclusive",
        "tiktok.options.privacy_enum",  # local id (zod enum)
        "tiktok.audit.self_only",
        "tiktok.file_format.invalid",
        "tiktok.video.size_max",
    }
)


#: Rules the server reports as 400 ``validation_failed`` (request schema, or the route's
#: checks before or after preflight) rather than as ``preflight_failed``.
SCHEMA_RULES: frozenset[str] = frozenset(
    {
        "targets.required",
        "targets.max",
        "targets.text.required",
        "targets.options.platform_mismatch",
        "targets.options.platform_required",
        "targets.options.unknown_key",
        "targets.options.invalid",
        "scheduledAt.no_first_comment",
        "scheduledAt.no_bluesky_reply",
        "bluesky.options.reply_pair",
        "bluesky.options.root_needs_parent",
        "twitter.options.reply_quote_exclusive",
        "tiktok.options.privacy_enum",
    }
)
