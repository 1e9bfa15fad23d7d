"""Pydantic models of a post's frontmatter and of the `published` record.

The frontmatter models are strict: YAML's silent coercions (``NO`` -> false,
``1.10`` -> 1.1, ``012`` -> 10) surface as type errors instead of reaching a post,
and any key we do not know is an error (a typo such as ``scheduleAt`` silently
ignored would publish at once). `publisher schema` prints the JSON Schema of
`PostFrontmatter` for editors and pre-commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)

from publisher.rules.platforms import PLATFORMS

__all__ = [
    "DATETIME_TAG",
    "FRONTMATTER_KEYS",
    "MAP_TAG",
    "MEDIA_KEYS",
    "SCHEMA_BASE",
    "STR_TAG",
    "TARGET_KEYS",
    "UNION_TAGS",
    "UUID_PATTERN",
    "Card",
    "FirstComment",
    "FirstCommentSpec",
    "Labels",
    "Langs",
    "MediaSpec",
    "Moment",
    "NonEmpty",
    "Platform",
    "PostFrontmatter",
    "Replies",
    "SourceSpec",
    "Target",
    "TargetSpec",
    "Uuid",
    "frontmatter_schema",
    "schema_id",
]

Platform = Literal[PLATFORMS]  # type: ignore[valid-type]  # the registry's names

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Strict(BaseModel):
    # `defer_build`: each validator is built on first use, not at import; the nested
    # models are built once, inside `PostFrontmatter`'s, rather than each on its own too.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class MediaSpec(_Strict):
    """One image or video: a file in the repository (`path`) or a public `url`."""

    path: NonEmpty | None = Field(
        None, description="File path relative to the post file; must stay inside the repository."
    )
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = Field(
        None, description="Public http(s) URL."
    )
    alt: str | None = Field(None, description="Alt text (required by default).")
    kind: Literal["image", "video"] | None = Field(
        None, description="Inferred from the file type when omitted."
    )

    @model_validator(mode="after")
    def _one_source(self) -> MediaSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of `path` or `url`")
        return self


class SourceSpec(_Strict):
    """What a draft was made from (written by `publisher draft`): metadata like `meta`,
    never published and not part of the content hash."""

    id: NonEmpty = Field(description="The feed entry's id, or the release's.")
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = Field(
        None, description="The entry's or the release's link."
    )
    feed: NonEmpty | None = Field(None, description="The feed it came from, or `release`.")


class FirstCommentSpec(_Strict):
    text: NonEmpty


# Unions of a string and a mapping are discriminated by the value's shape, so a wrong
# value gets the one error of the branch it was meant for, not one per branch. The
# tags show up in pydantic's error locations; `UNION_TAGS` lets readers skip them.
STR_TAG, MAP_TAG, DATETIME_TAG = "<str>", "<mapping>", "<datetime>"
UNION_TAGS = frozenset({STR_TAG, MAP_TAG, DATETIME_TAG})


def _shape(value: object) -> str:
    return MAP_TAG if isinstance(value, dict) else STR_TAG


FirstComment: TypeAlias = Annotated[
    Annotated[NonEmpty, Tag(STR_TAG)] | Annotated[FirstCommentSpec, Tag(MAP_TAG)],
    Discriminator(_shape),
]


# -- Bluesky extras (langs, labels, replies, quotes, card, unpublish)
# Types only: post.py checks the values at their lines (language tags, known labels,
# reply rules, the card's URL) and warns where a target cannot carry them.
Langs = Annotated[
    list[str],
    Field(description="Languages of the text (BCP-47 tags like en, pt-BR; at most 3)."),
]
Labels = Annotated[
    list[str],
    Field(description="Self-labels: sexual, nudity, porn, graphic-media."),
]
# A string or a list (replies), a boolean or a URL (card): checked in post.py, so that
# a wrong value gets one message at its line rather than one per union branch.
Replies = Annotated[
    object,
    WithJsonSchema(
        {
            "description": "Who may reply: everyone, nobody, following, followers, "
            "mentioned, or a list of following / followers / mentioned.",
            "anyOf": [
                {"enum": ["everyone", "nobody", "following", "followers", "mentioned"]},
                {
                    "type": "array",
                    "items": {"enum": ["following", "followers", "mentioned"]},
                    "minItems": 1,
                },
            ],
        }
    ),
]
Card = Annotated[
    object,
    WithJsonSchema(
        {
            "description": "The link card: false for none, or the http(s) URL it shows "
            "(default: the first link of a post without media).",
            "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": "^https?://"}],
        }
    ),
]
# -- end of Bluesky extras


class TargetSpec(_Strict):
    """A target with per-target overrides. A per-target value replaces the default."""

    account: NonEmpty | None = Field(
        None, description="An alias from publisher.toml, or an account UUID."
    )
    accountId: Uuid | None = Field(None, description="A letmepost account UUID.")
    platform: Platform | None = Field(
        None, description="The platform; alone it means the one connected account there."
    )
    text: NonEmpty | None = None
    media: list[MediaSpec] | None = None
    firstComment: FirstComment | None = None
    options: dict[str, object] | None = Field(
        None, description="Platform options, e.g. {platform: pinterest, boardId: ...}."
    )
    # -- Bluesky extras (langs, labels, replies, quotes, card, unpublish)
    langs: Langs | None = None
    labels: Labels | None = None
    replies: Replies | None = None
    quotes: bool | None = None
    card: Card | None = None
    # -- end of Bluesky extras

    @model_validator(mode="after")
    def _names_an_account(self) -> TargetSpec:
        if not (self.account or self.accountId or self.platform):
            raise ValueError("a target needs `account`, `accountId` or `platform`")
        if self.account and self.accountId:
            raise ValueError("give `account` or `accountId`, not both")
        return self


Target: TypeAlias = Annotated[
    Annotated[NonEmpty, Tag(STR_TAG)] | Annotated[TargetSpec, Tag(MAP_TAG)],
    Discriminator(_shape),
]
Moment = Annotated[
    Annotated[dt.datetime, Tag(DATETIME_TAG)] | Annotated[str, Tag(STR_TAG)],
    Discriminator(lambda v: DATETIME_TAG if isinstance(v, dt.datetime) else STR_TAG),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class PostFrontmatter(_Strict):
    """The frontmatter of a post file. The body is the default text."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        defer_build=True,
        json_schema_extra={"title": "publisher post frontmatter"},
    )

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")] | None = (
        Field(
            None,
            description="What makes this file one post, whatever it says or is named: "
            "keep it when renaming or rewriting the file (default: its path).",
        )
    )
    targets: list[Target] | None = Field(
        None,
        min_length=1,
        max_length=25,
        description="1-25 targets: aliases from publisher.toml, account UUIDs, platform names, or mappings with overrides. Defaults to the config's `targets`.",
    )
    scheduledAt: Moment | None = Field(
        None, description="ISO-8601 with an offset (Z or +01:00). Omit to publish at once."
    )
    publishNow: bool | None = None
    # -- threads, replies, quotes, reposts
    thread: Literal["auto"] | None = Field(
        None, description="`auto`: a body too long for a target is split into a thread."
    )
    replyTo: Annotated[str, StringConstraints(pattern=r"^(https?|at)://\S+$")] | None = Field(
        None, description="A post to answer: an x.com / bsky.app post URL or an at:// URI."
    )
    quote: Annotated[str, StringConstraints(pattern=r"^(https?|at)://\S+$")] | None = Field(
        None, description="A post to quote (X through letmepost; Bluesky through a direct account)."
    )
    repost: Annotated[str, StringConstraints(pattern=r"^(https?|at)://\S+$")] | None = Field(
        None, description="A Bluesky post to repost (direct accounts; the file has no body)."
    )
    firstComment: FirstComment | None = Field(None, description="Bluesky only: posted as a reply.")
    media: list[MediaSpec] | None = None
    profileId: Uuid | None = None
    draft: bool = Field(False, description="Never published; watch still previews it.")
    release: dict[str, Annotated[int, Field(ge=1)]] | None = Field(
        None,
        description="Targets whose blocked attempt may be sent again after you checked "
        "the platform: {target: attempt}, as the blocked message says.",
    )
    onEdit: Literal["keep", "repost"] | None = Field(
        None,
        description="An edit after publishing: `keep` (the default: nothing is sent, and "
        "written in the file it also silences the notice: the edit is known) or `repost` "
        "(the changed targets are posted once more). Default from publisher.toml.",
    )
    # -- Bluesky extras (langs, labels, replies, quotes, card, unpublish)
    langs: Langs | None = None
    labels: Labels | None = None
    replies: Replies | None = None
    quotes: bool | None = Field(None, description="false: nobody may quote the post.")
    card: Card | None = None
    unpublish: bool = Field(
        False,
        description="Take the post back: deleted where the platform allows (direct "
        "Bluesky), canceled if queued, else the run says to delete it on the platform.",
    )
    # -- end of Bluesky extras
    meta: dict[str, object] | None = Field(
        None, description="Your own data (title, tags, notes); ignored."
    )
    source: SourceSpec | None = Field(
        None,
        description="What `publisher draft` made this post from (a feed entry or a "
        "release): never drafted again. Ignored when publishing.",
    )
    published: dict[str, object] | None = Field(
        None, description="Written by publisher after each request. Do not edit."
    )
    schema_: str | None = Field(
        None,
        alias="$schema",
        description="The JSON Schema of this frontmatter, for your editor (its $id, or "
        "a file written by `publisher schema`); ignored by publisher.",
    )


FRONTMATTER_KEYS = tuple(f.alias or name for name, f in PostFrontmatter.model_fields.items())
TARGET_KEYS = tuple(TargetSpec.model_fields)
MEDIA_KEYS = tuple(MediaSpec.model_fields)


#: Where the schemas are published: `schemas/` of publisher's repository, at this
#: release's tag (tests/e2e/test_conveniences.py keeps the committed files equal to the output).
SCHEMA_BASE = "https://raw.githubusercontent.com/publisher-dev/publisher/v{version}/schemas/"


def schema_id(name: str) -> str:
    from publisher import __version__

    return SCHEMA_BASE.format(version=__version__) + name


def frontmatter_schema() -> dict[str, object]:
    """JSON Schema of the frontmatter (for editors, pre-commit and `publisher schema`)."""
    schema = PostFrontmatter.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id("post.schema.json"),
        **schema,
        "additionalProperties": False,
    }
