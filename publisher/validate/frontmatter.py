"""The frontmatter's own errors: pydantic's findings placed at their lines with words a
person can act on (an unknown key with the closest known one, a number YAML read where
text was meant, ...), and the schedule (`scheduledAt` with an offset, in the future)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from publisher.document import Loc
from publisher.hints import did_you_mean
from publisher.post import SCHEDULE_MARGIN, iso_z
from publisher.rules import limits

if TYPE_CHECKING:
    from pydantic import ValidationError

    from publisher.model import PostFrontmatter
    from publisher.validate.base import Checker

# pydantic and the models are imported where pydantic has spoken (a post the quick path
# left to it), so that checking the common posts never loads them.

__all__ = ["check_schedule", "report_validation"]


def report_validation(c: Checker, exc: ValidationError) -> PostFrontmatter | None:
    """Report pydantic's errors at their lines, and return the frontmatter with the
    invalid parts left out (None when nothing sensible is left to check)."""
    from pydantic import ValidationError

    from publisher.model import PostFrontmatter

    data = c.doc.data
    bad_keys: set[str] = set()
    bad_targets: set[int] = set()
    for err in exc.errors():
        loc, value = _data_loc(data, err["loc"])
        if loc and isinstance(loc[0], str):
            if loc[0] == "targets" and len(loc) > 1 and isinstance(loc[1], int):
                bad_targets.add(loc[1])
            else:
                bad_keys.add(loc[0])
        _report_one(c, err, loc, value)

    kept = {k: v for k, v in data.items() if k not in bad_keys}
    if "targets" in kept and bad_targets:
        c.target_index = [i for i in range(len(kept["targets"])) if i not in bad_targets]
        kept["targets"] = [kept["targets"][i] for i in c.target_index]
    if "targets" in bad_keys or (bad_targets and not c.target_index):
        c.targets_checked = True  # reported above: neither resolve nor use defaults
    try:
        return PostFrontmatter.model_validate(kept)
    except ValidationError:
        return None


def _report_one(c: Checker, err: Mapping[str, Any], loc: Loc, value: Any) -> None:
    """One of pydantic's errors, in words, at its place."""
    kind = err["type"]
    if kind == "extra_forbidden":
        _unknown_key(c, loc)
    elif loc == ("targets",) and kind in ("too_short", "too_long"):
        count = len(value) if isinstance(value, list) else 0
        for finding in limits.check_target_count(count):
            c.problem(loc, finding.rule, finding.message)
    elif loc and loc[-1] == "media" and kind == "list_type":
        shown = f" {value!r}" if isinstance(value, str) else ""
        c.problem(
            loc,
            "type",
            f"{_dotted(loc)} should be a valid list of items, each with a `path` (or "
            f"`url`) and its `alt` text; got {type(value).__name__}{shown}. Write it as:\n"
            f"  media:\n    - path: {value if isinstance(value, str) else 'img/a.png'}\n"
            "      alt: what the image shows",
        )
    elif loc and loc[0] == "scheduledAt":
        c.problem(
            loc,
            "scheduledAt.format",
            "scheduledAt must be a date and time with an offset, like "
            "2026-12-01T09:00:00+01:00 or 2026-12-01T08:00:00Z"
            + (f", got {type(value).__name__} {value!r}" if value is not None else ""),
        )
    else:
        code = "type" if kind.endswith("_type") else f"value.{kind}"
        c.problem(loc, code, f"{_dotted(loc)}: {_message(err, value)}")


def _unknown_key(c: Checker, loc: Loc) -> None:
    from publisher.model import FRONTMATTER_KEYS, MEDIA_KEYS, TARGET_KEYS

    key, parent = str(loc[-1]), loc[:-1]
    if parent and parent[0] in ("meta", "published"):
        return
    if not parent:
        choices: tuple[str, ...] = FRONTMATTER_KEYS
    elif "media" in parent:
        choices = MEDIA_KEYS
    elif parent[0] == "targets":
        choices = TARGET_KEYS
    else:
        choices = ()
    c.problem(loc, "key.unknown", f"unknown key {key!r}{did_you_mean(key, choices)}")


def check_schedule(c: Checker, fm: Any) -> None:
    value = fm.scheduledAt
    if value is None:
        return
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            # `2027-02-30`: a date's shape, but no such day (or hour) in the calendar
            why = str(exc) if "out of range" in str(exc) or "must be in" in str(exc) else ""
            c.problem(
                ("scheduledAt",),
                "scheduledAt.format",
                f"scheduledAt {value!r} is not a real date and time ({why})"
                if why
                else f"scheduledAt {value!r} is not an ISO-8601 date and time "
                "(like 2026-12-01T09:00:00+01:00)",
            )
            return
    if moment.tzinfo is None or moment.utcoffset() is None:
        c.problem(
            ("scheduledAt",),
            "scheduledAt.timezone",
            "scheduledAt has no timezone, so the moment is ambiguous: add an offset "
            "such as Z or +01:00",
        )
        return
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:
        c.problem(
            ("scheduledAt",),
            "scheduledAt.format",
            f"scheduledAt {value!s} is out of range once converted to UTC",
        )
        return
    c.post.scheduled_at = moment
    if fm.publishNow:
        c.problem(
            ("publishNow",),
            "mode_conflict",
            "publishNow and scheduledAt together: remove one of them",
        )
    record = c.post.record
    went_out = record is not None and any(
        t.status in ("queued", "published", "publishing") for t in record.targets.values()
    )
    if moment < c.now + SCHEDULE_MARGIN and not went_out:
        c.problem(
            ("scheduledAt",),
            "scheduledAt.future",
            f"scheduledAt {iso_z(moment)} is in the past (or less than "
            f"{SCHEDULE_MARGIN.seconds} s away): move it into the future, or remove it "
            "to publish at once",
        )


def _data_loc(data: Any, loc: tuple[Any, ...]) -> tuple[Loc, Any]:
    """A pydantic error location as steps into the data (union tags dropped), and the
    value found there (None for a missing or unknown key)."""
    from publisher.model import UNION_TAGS

    out: list[Any] = []
    current = data
    for step in loc:
        if step in UNION_TAGS:
            continue
        # two branches, so the type checker sees which index type each container takes
        if isinstance(current, dict) and isinstance(step, str) and step in current:  # noqa: SIM114
            current = current[step]
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            current = current[step]
        elif isinstance(step, str) and step.startswith("function-"):
            continue  # a validator's wrapper, not a step into the data
        else:
            current = None
        out.append(step)
    return tuple(out), current


def _dotted(loc: Loc) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "frontmatter"


def _message(err: Mapping[str, Any], value: Any) -> str:
    from publisher.model import UUID_PATTERN

    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "string_pattern_mismatch":
        if (err.get("ctx") or {}).get("pattern") == UUID_PATTERN:
            return f"{value!r} is not a valid UUID (like 6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09)"
        return f"{value!r} is not an http(s) URL"
    if err["type"].endswith("_type") and value is not None:
        got = type(value).__name__
        hint = ""
        if isinstance(value, bool):
            hint = " (YAML reads yes/no/on/off/true/false as booleans: put the text in quotes)"
        elif isinstance(value, int | float) and "string" in msg:
            hint = " (YAML read a number: put it in quotes)"
        elif isinstance(value, dt.date) and "string" in msg:
            hint = " (YAML read a date: put it in quotes)"
        msg = (
            f"{msg}, got {got} {value!r}{hint}"
            if not isinstance(value, dict | list)
            else f"{msg}, got a {got}"
        )
    return msg
