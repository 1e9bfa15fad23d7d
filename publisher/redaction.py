"""The one redaction boundary: what leaves the process passes `redact`.

The run's secrets (the letmepost API key, Bluesky app passwords, the Action's secret
inputs, any variable named like a secret) are registered once (`from_environ`,
`add_secret`); `redact(text)` replaces in ``text``

* every secret, whole;
* every run of at least ``MIN_PART`` (8) characters that is a piece of a secret (a
  message cut in the middle of the key, a key split across two writes), except pieces
  of its public prefix (``lmp_live_``);
* anything shaped like a letmepost key (``lmp_live_`` / ``lmp_test_`` and a tail),
  whoever's it is: the kind stays readable, the rest is ``***``.

Where it is applied: ``sys.stdout`` and ``sys.stderr`` of the CLI are wrapped
(`install`), so the terminal, ``--json``, logs, warnings and tracebacks pass it; the
published block is redacted before it is spliced into a post file
(`writeback.set_published`), and so are commit messages, the Action's outputs, step
summary and PR comment. A server's words are redacted where they are read (before
they are cut to a length or stored): `clients.letmepost`, `clients.atproto`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import TextIO

__all__ = [
    "MASK",
    "MIN_PART",
    "RedactingStream",
    "add_secret",
    "from_environ",
    "install",
    "redact",
    "redact_any",
    "secrets",
    "write_raw",
]

MASK = "***"
MIN_PART = 8
MIN_SECRET = 6  # shorter values are not secrets worth masking everywhere ("true", "1")
#: Prefixes that say what a secret is, not which one: a piece of them alone is no leak.
PUBLIC_PREFIXES = ("lmp_live_", "lmp_test_", "github_pat_", "ghp_", "ghs_", "gho_")
#: Environment variables whose values are secrets whatever their length or shape.
SECRET_VARIABLES = ("LETMEPOST_API_KEY", "INPUT_API-KEY", "INPUT_TOKEN", "GITHUB_TOKEN")
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API[_-]?KEY|APP_PASS)", re.IGNORECASE)
_KEY_SHAPE = re.compile(r"(lmp_(?:live|test)_)[A-Za-z0-9]{4,}")

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_parts: tuple[str, ...] = ()


def secrets() -> tuple[str, ...]:
    return _secrets


def add_secret(value: str | None) -> None:
    """Mask ``value`` (and its pieces) in everything `redact` sees from now on."""
    global _secrets, _parts
    if not value:
        return
    value = value.strip()
    if len(value) < MIN_SECRET:
        return
    forms = {value}
    from urllib.parse import quote

    forms.add(quote(value, safe=""))
    forms.add(repr(value)[1:-1])
    with _lock:
        if all(f in _secrets for f in forms):
            return
        new = tuple(dict.fromkeys((*_secrets, *forms)))
        parts = set(_parts)
        for form in forms:
            for i in range(len(form) - MIN_PART + 1):
                gram = form[i : i + MIN_PART]
                if not any(gram in prefix for prefix in PUBLIC_PREFIXES):
                    parts.add(gram)
        # longest first, so that whole secrets are found before their pieces
        _secrets = tuple(sorted(new, key=len, reverse=True))
        _parts = tuple(sorted(parts))


def from_environ(environ: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> None:
    """Register the secrets of the environment: the known variables, ``names`` (e.g.
    the ``password_env`` of each direct account) and every variable named like a
    secret (``*PASSWORD*``, ``*TOKEN*``, ``*SECRET*``, ``*API_KEY*``)."""
    env = os.environ if environ is None else environ
    wanted = set(SECRET_VARIABLES) | set(names)
    for name, value in env.items():
        if name in wanted or (
            _SECRET_NAME.search(name)
            and not name.upper().endswith(("_URL", "_FILE", "_PATH", "_DIR", "_ENV"))
            and "://" not in value
            and not value.startswith(("/", "."))
            and not any(c.isspace() for c in value.strip())
        ):
            add_secret(value)


def _clear() -> None:
    """Forget every secret (tests)."""
    global _secrets, _parts
    with _lock:
        _secrets, _parts = (), ()


def redact(text: str) -> str:
    """``text`` with the run's secrets, their pieces and key-shaped tokens masked."""
    if not text:
        return text
    if "lmp_" in text:
        text = _KEY_SHAPE.sub(lambda m: m.group(1) + MASK, text)
    parts = _parts
    if not parts:
        return text
    spans: list[tuple[int, int]] = []
    for gram in parts:
        start = text.find(gram)
        while start != -1:
            spans.append((start, start + len(gram)))
            start = text.find(gram, start + 1)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    pos = 0
    cur_start, cur_end = spans[0]
    for s, e in spans[1:]:
        if s <= cur_end:
            cur_end = max(cur_end, e)
            continue
        out.append(text[pos:cur_start])
        out.append(MASK)
        pos = cur_end
        cur_start, cur_end = s, e
    out.append(text[pos:cur_start])
    out.append(MASK)
    out.append(text[cur_end:])
    return "".join(out)


def redact_any(value: object) -> object:
    """``value`` (JSON-like: dicts, lists, strings) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_any(k): redact_any(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_any(v) for v in value)
    return value


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written to ``inner``. Whole lines are passed
    on (a secret split across two writes is still found); the rest on ``flush``."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self._pending: list[str] = []  # the unfinished line, in pieces
        self._pending_len = 0
        self._wlock = threading.RLock()

    def write(self, s: str) -> int:
        with self._wlock:
            cut = max(s.rfind("\n"), s.rfind("\r")) + 1
            if not cut:  # no line ends here: hold it (bounded), pass it on with the line
                self._pending.append(s)
                self._pending_len += len(s)
                if self._pending_len > 65536:
                    self._emit("".join(self._pending))
                    self._pending, self._pending_len = [], 0
                return len(s)
            head = "".join((*self._pending, s[:cut]))
            rest = s[cut:]
            self._pending, self._pending_len = ([rest], len(rest)) if rest else ([], 0)
            self._emit(head)
        return len(s)

    def _emit(self, text: str) -> None:
        self._inner.write(redact(text))

    def flush(self) -> None:
        with self._wlock:
            if self._pending:
                self._emit("".join(self._pending))
                self._pending, self._pending_len = [], 0
            self._inner.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    @property
    def inner(self) -> TextIO:
        return self._inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def write_raw(stream: TextIO, text: str) -> None:
    """Write ``text`` to ``stream`` unredacted: only for ``::add-mask::``, which must
    name the secret for the runner to hide it."""
    if isinstance(stream, RedactingStream):
        stream.flush()
        stream = stream.inner
    stream.write(text)
    stream.flush()


def install() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (once) and register the environment's
    secrets: from here on, what the process prints passes `redact`."""
    from_environ()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))
    import atexit

    atexit.register(_flush_all)


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, RedactingStream):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
