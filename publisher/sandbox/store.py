"""SQLite persistence of the sandbox: keys, accounts, posts, idempotency records, media, quota.

One connection shared by the event loop and the scheduler thread, guarded by a lock
(every statement is short). WAL with ``synchronous=NORMAL``: a commit costs microseconds
and the state survives a restart. Nothing per post is kept in Python memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from . import ids
from .clock import iso
from .shapes import (
    Account,
    ApiKeyRow,
    FirstComment,
    IdempotencyRow,
    MediaRef,
    MediaRow,
    Options,
    PostRow,
    PostUpdate,
)

__all__ = [
    "IDEMPOTENCY_STALE",
    "IDEMPOTENCY_WINDOW",
    "POST_COLUMNS",
    "SCHEMA",
    "Store",
    "decode_cursor",
    "dumps",
    "encode_cursor",
    "first_comment_of",
    "key_hash",
    "loads",
    "media_of",
    "options_of",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, env TEXT NOT NULL, secret TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL, profile_id TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, position INTEGER NOT NULL, platform TEXT NOT NULL, profile_id TEXT NOT NULL,
  data TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, batch_id TEXT,
  profile_id TEXT, account_id TEXT NOT NULL, platform TEXT NOT NULL, status TEXT NOT NULL,
  text TEXT, media TEXT, first_comment TEXT, options TEXT,
  scheduled_at TEXT, published_at TEXT, uri TEXT, cid TEXT,
  first_comment_uri TEXT, first_comment_cid TEXT, warnings TEXT, error TEXT, error_code TEXT,
  sandbox INTEGER NOT NULL, idempotency_key TEXT, quota_period TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS posts_created ON posts (created_at, seq);
CREATE INDEX IF NOT EXISTS posts_due ON posts (status, scheduled_at);
CREATE INDEX IF NOT EXISTS posts_account ON posts (account_id, status, published_at);
CREATE INDEX IF NOT EXISTS posts_cid ON posts (cid);
CREATE TABLE IF NOT EXISTS idempotency (
  org_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state INTEGER NOT NULL,
  status_code INTEGER, body BLOB, created_at REAL NOT NULL, PRIMARY KEY (org_id, key));
CREATE TABLE IF NOT EXISTS media (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, profile_id TEXT,
  content_type TEXT NOT NULL, size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
  data BLOB NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage (period TEXT PRIMARY KEY, used INTEGER NOT NULL);
"""

POST_COLUMNS = (
    "id",
    "batch_id",
    "profile_id",
    "account_id",
    "platform",
    "status",
    "text",
    "media",
    "first_comment",
    "options",
    "scheduled_at",
    "published_at",
    "uri",
    "cid",
    "first_comment_uri",
    "first_comment_cid",
    "warnings",
    "error",
    "error_code",
    "sandbox",
    "idempotency_key",
    "quota_period",
    "created_at",
    "updated_at",
)
_INSERT_POST = (
    f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({', '.join('?' for _ in POST_COLUMNS)})"
)
IDEMPOTENCY_WINDOW = 24 * 3600.0
IDEMPOTENCY_STALE = 60.0


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _in(column: str, values: Sequence[str]) -> tuple[str, list[object]]:
    return f"{column} IN ({', '.join('?' for _ in values)})", list(values)


def dumps(value: object) -> str | None:
    """A JSON column's text (compact); None stays NULL."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


def loads(value: str | None) -> object:
    """A JSON column's value (NULL: None)."""
    return None if value is None else json.loads(value)


def media_of(row: PostRow) -> list[MediaRef]:
    """A post's media refs, as the schema checked them (none: [])."""
    refs: list[MediaRef] = json.loads(row["media"]) if row["media"] else []
    return refs


def options_of(row: PostRow) -> Options:
    """A post's checked ``options`` (none: {})."""
    options: Options = json.loads(row["options"]) if row["options"] else {}
    return options


def first_comment_of(row: PostRow) -> FirstComment | None:
    comment: FirstComment | None = (
        json.loads(row["first_comment"]) if row["first_comment"] else None
    )
    return comment


def _post(row: sqlite3.Row) -> PostRow:
    """A row of ``posts`` as its schema types it."""
    return cast(PostRow, dict(row))


def _media(row: sqlite3.Row) -> MediaRow:
    """A row of ``media`` (selected without its bytes) as its schema types it."""
    return cast(MediaRow, dict(row))


def encode_cursor(created_at: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, _, seq = raw.partition("|")
        return created_at, int(seq)
    except (ValueError, UnicodeDecodeError):
        return None


class Store:
    """All sandbox state on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, cached_statements=256
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``) under the store lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    # -- meta, keys, accounts -------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT v FROM meta WHERE k = ?", (key,))
        return row["v"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, value))

    def ensure_keys(self, now: float) -> dict[str, ApiKeyRow]:
        """The sandbox's test and live keys, created on first use of this database.

        The secrets are kept in the sandbox database (unlike the real server, which keeps
        only hashes) because they are printed again on every start; they open nothing but
        this local sandbox.
        """
        with self.tx() as db:
            for env in ("test", "live"):
                if not db.execute("SELECT 1 FROM api_keys WHERE env = ?", (env,)).fetchone():
                    secret = ids.api_key(env)
                    db.execute(
                        "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL, ?)",
                        (
                            ids.new_uuid(),
                            env,
                            secret,
                            key_hash(secret),
                            "posts:read,posts:write",
                            iso(now),
                        ),
                    )
            rows = db.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        keys: dict[str, ApiKeyRow] = {}
        for row in rows:
            keys.setdefault(row["env"], cast(ApiKeyRow, dict(row)))
        return keys

    def key_by_hash(self, digest: str) -> ApiKeyRow | None:
        row = self.one("SELECT * FROM api_keys WHERE hash = ?", (digest,))
        return cast(ApiKeyRow, dict(row)) if row else None

    def sync_accounts(self, accounts: list[Account] | None, now: float) -> None:
        """Replace the accounts with ``accounts``; with None, seed only an empty table."""
        with self.tx() as db:
            if accounts is None:
                return
            db.execute("DELETE FROM accounts")
            for pos, acc in enumerate(accounts):
                db.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)",
                    (acc["id"], pos, acc["platform"], acc["profileId"], json.dumps(acc), iso(now)),
                )

    def has_accounts(self) -> bool:
        return self.one("SELECT 1 FROM accounts LIMIT 1") is not None

    def accounts(self) -> list[Account]:
        out = []
        for r in self.query("SELECT data, created_at FROM accounts ORDER BY position"):
            account: Account = json.loads(r["data"])  # as sync_accounts wrote it
            account["createdAt"] = r["created_at"]
            out.append(account)
        return out

    # -- posts ----------------------------------------------------------------------------

    def insert_posts(self, rows: list[PostRow]) -> None:
        with self.tx() as db:
            db.executemany(_INSERT_POST, [tuple(r.get(c) for c in POST_COLUMNS) for r in rows])

    def post(self, post_id: str) -> PostRow | None:
        row = self.one("SELECT * FROM posts WHERE id = ?", (post_id,))
        return _post(row) if row else None

    def update_post(
        self, post_id: str, fields: PostUpdate, *, status_in: Sequence[str] = ()
    ) -> bool:
        """Update one post; with ``status_in``, only if its status is one of those (atomic)."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE posts SET {sets} WHERE id = ?"
        params: list[object] = [*fields.values(), post_id]
        if status_in:
            clause, values = _in("status", status_in)
            sql += f" AND {clause}"
            params += values
        with self.tx() as db:
            return db.execute(sql, params).rowcount == 1

    def list_posts(
        self,
        *,
        sandbox: bool,
        filters: dict[str, list[str]],
        q: str | None,
        after: str | None,
        before: str | None,
        cursor: tuple[str, int] | None,
        limit: int,
    ) -> tuple[list[PostRow], str | None]:
        where = ["sandbox = ?"]
        params: list[object] = [int(sandbox)]
        for column, values in filters.items():
            if values:
                clause, vals = _in(column, values)
                where.append(clause)
                params += vals
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("text LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if after:
            where.append("created_at > ?")
            params.append(after)
        if before:
            where.append("created_at < ?")
            params.append(before)
        if cursor:
            where.append("(created_at < ? OR (created_at = ? AND seq < ?))")
            params += [cursor[0], cursor[0], cursor[1]]
        sql = (
            f"SELECT * FROM posts WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, seq DESC LIMIT ?"
        )
        rows = [_post(r) for r in self.query(sql, [*params, limit + 1])]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["seq"])
        return rows, next_cursor

    def all_posts(self) -> list[PostRow]:
        return [_post(r) for r in self.query("SELECT * FROM posts ORDER BY seq")]

    def claim_due(self, now_iso: str, limit: int = 100) -> list[PostRow]:
        """Atomically move due queued posts to ``publishing`` and return them."""
        with self.tx() as db:
            rows = db.execute(
                "SELECT * FROM posts WHERE status = 'queued' AND scheduled_at <= ? "
                "ORDER BY scheduled_at, seq LIMIT ?",
                (now_iso, limit),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE posts SET status = 'publishing', updated_at = ? WHERE id = ?",
                    (now_iso, row["id"]),
                )
        return [_post(r) for r in rows]

    def settle_publishing(self, before_iso: str) -> list[PostRow]:
        """Posts still ``publishing`` (TikTok processing) whose last update is before a time."""
        rows = self.query(
            "SELECT * FROM posts WHERE status = 'publishing' AND scheduled_at IS NULL "
            "AND updated_at <= ?",
            (before_iso,),
        )
        return [_post(r) for r in rows]

    def known_posts(self, platform: str, sandbox: bool, ref: str) -> list[str]:
        """The ids of the published posts on ``platform`` (of that environment) that ``ref`` names: it
        equals the post's cid, its uri, or the last path segment of its uri."""
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.query(
            "SELECT id, platform, uri, cid FROM posts WHERE platform = ? AND sandbox = ? "
            "AND status IN ('published', 'publishing') AND (cid = ? OR uri = ? "
            "OR uri LIKE ? ESCAPE '\\' OR uri LIKE ? ESCAPE '\\')",
            (platform, int(sandbox), ref, ref, f"%/{escaped}", f"%/{escaped}/"),
        )
        # LIKE ignores ASCII case and sees no segment boundaries: the exact test is here.
        return [
            r["id"]
            for r in rows
            if ref in (r["cid"], r["uri"]) or (r["uri"] or "").rstrip("/").rsplit("/", 1)[-1] == ref
        ]

    def bluesky_record(self, uri: str) -> PostRow | None:
        """The emulated live Bluesky post (published or publishing) whose uri, or whose
        first comment's uri, is ``uri``."""
        row = self.one(
            "SELECT * FROM posts WHERE platform = 'bluesky' AND sandbox = 0 "
            "AND status IN ('published', 'publishing') AND (uri = ? OR first_comment_uri = ?)",
            (uri, uri),
        )
        return _post(row) if row else None

    def launch_count(self, account_id: str, since_iso: str) -> int:
        row = self.one(
            "SELECT COUNT(*) AS n FROM posts WHERE account_id = ? AND status = 'published' "
            "AND sandbox = 0 AND published_at >= ?",
            (account_id, since_iso),
        )
        return int(row["n"]) if row else 0

    # -- idempotency ----------------------------------------------------------------------

    def idem_begin(
        self, org: str, key: str, fingerprint: str, now: float
    ) -> tuple[str, tuple[int, bytes] | None]:
        """Claim ``(org, key)``; returns one of:

        ``("claimed", None)``, ``("replay", (status, body))``, ``("mismatch", None)``,
        ``("in_progress", None)`` or ``("expired", None)`` (older than 24 h: run, do not record).
        """
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?, 0, NULL, NULL, ?) "
                "ON CONFLICT (org_id, key) DO NOTHING",
                (org, key, fingerprint, now),
            )
            if cur.rowcount == 1:
                return "claimed", None
            row = db.execute(
                "SELECT * FROM idempotency WHERE org_id = ? AND key = ?", (org, key)
            ).fetchone()
            if now - row["created_at"] >= IDEMPOTENCY_WINDOW:
                return "expired", None
            if row["fingerprint"] != fingerprint:
                return "mismatch", None
            if row["state"] == 0:
                if now - row["created_at"] < IDEMPOTENCY_STALE:
                    return "in_progress", None
                db.execute(
                    "UPDATE idempotency SET created_at = ? WHERE org_id = ? AND key = ? AND state = 0",
                    (now, org, key),
                )
                return "claimed", None
            return "replay", (row["status_code"], row["body"])

    def idem_complete(self, org: str, key: str, status: int, body: bytes) -> None:
        with self.tx() as db:
            db.execute(
                "UPDATE idempotency SET state = 1, status_code = ?, body = ? "
                "WHERE org_id = ? AND key = ? AND state = 0",
                (status, body, org, key),
            )

    def idem_release(self, org: str, key: str) -> None:
        with self.tx() as db:
            db.execute(
                "DELETE FROM idempotency WHERE org_id = ? AND key = ? AND state = 0", (org, key)
            )

    def idem_records(self) -> list[IdempotencyRow]:
        rows = self.query(
            "SELECT key, fingerprint, state, status_code, created_at FROM idempotency"
        )
        return [cast(IdempotencyRow, dict(r)) for r in rows]

    # -- media ----------------------------------------------------------------------------

    def insert_media(self, row: MediaRow, data: bytes) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO media (id, profile_id, content_type, size_bytes, sha256, data, created_at) "
                "VALUES (:id, :profile_id, :content_type, :size_bytes, :sha256, :data, :created_at)",
                {**row, "data": data},
            )

    def media(self, media_id: str) -> MediaRow | None:
        row = self.one(
            "SELECT seq, id, profile_id, content_type, size_bytes, sha256, created_at "
            "FROM media WHERE id = ?",
            (media_id,),
        )
        return _media(row) if row else None

    def media_bytes(self, media_id: str) -> tuple[str, bytes] | None:
        row = self.one("SELECT content_type, data FROM media WHERE id = ?", (media_id,))
        return (row["content_type"], row["data"]) if row else None

    def list_media(
        self, cursor: tuple[str, int] | None, limit: int
    ) -> tuple[list[MediaRow], str | None]:
        where, params = "1", list[object]()
        if cursor:
            where = "(created_at < ? OR (created_at = ? AND seq < ?))"
            params = [cursor[0], cursor[0], cursor[1]]
        rows = self.query(
            "SELECT seq, id, profile_id, content_type, size_bytes, sha256, created_at FROM media "
            f"WHERE {where} ORDER BY created_at DESC, seq DESC LIMIT ?",
            [*params, limit + 1],
        )
        out = [_media(r) for r in rows]
        next_cursor = None
        if len(out) > limit:
            out = out[:limit]
            next_cursor = encode_cursor(out[-1]["created_at"], out[-1]["seq"])
        return out, next_cursor

    # -- quota ----------------------------------------------------------------------------

    def charge(self, period: str, n: int, quota: int) -> int | None:
        """Take ``n`` slots of ``period``; None when that would exceed ``quota``, else the new use."""
        with self.tx() as db:
            row = db.execute("SELECT used FROM usage WHERE period = ?", (period,)).fetchone()
            used = row["used"] if row else 0
            if used + n > quota:
                return None
            db.execute(
                "INSERT INTO usage VALUES (?, ?) ON CONFLICT (period) DO UPDATE SET used = ?",
                (period, used + n, used + n),
            )
            return used + n

    def refund(self, period: str, n: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE usage SET used = MAX(0, used - ?) WHERE period = ?", (n, period))

    def usage(self, period: str) -> int:
        row = self.one("SELECT used FROM usage WHERE period = ?", (period,))
        return int(row["used"]) if row else 0

    # -- reset ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Wipe posts, idempotency records, media and quota use (keys and accounts stay)."""
        with self.tx() as db:
            for table in ("posts", "idempotency", "media", "usage"):
                db.execute(f"DELETE FROM {table}")
