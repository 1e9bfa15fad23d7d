"""POST/GET /v1/media of the sandbox."""

from __future__ import annotations

import hashlib
import re

import httpx

from tests.fixtures.sandbox import make_png

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_upload_sniffs_the_type_from_the_bytes(sandbox_client):
    png = make_png(2000)
    r = sandbox_client.post("/v1/media", files={"file": ("photo.txt", png, "text/plain")})
    assert r.status_code == 201
    body = r.json()
    assert re.match(r"^med_[0-9A-Za-z]{22}$", body["id"])
    assert body["contentType"] == "image/png"
    assert body["sizeBytes"] == len(png)
    assert body["sha256"] == hashlib.sha256(png).hexdigest()
    assert body["createdAt"].endswith("Z")
    served = httpx.get(body["url"])
    assert served.content == png and served.headers["content-type"] == "image/png"
    jpeg = sandbox_client.post("/v1/media", files={"file": ("x.png", JPEG)}).json()
    assert jpeg["contentType"] == "image/jpeg"


def test_uploaded_media_can_be_posted(sandbox_client):
    media_id = sandbox_client.post("/v1/media", files={"file": ("a.jpg", JPEG)}).json()["id"]
    ref = {"kind": "image", "mediaId": media_id, "altText": "alt"}
    r = sandbox_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "pic", "media": [ref]}
    )
    assert r.json()["status"] == "published"
    post = sandbox_client.get(f"/v1/posts/{r.json()['results'][0]['postId']}").json()
    assert post["mediaRefs"] == [ref]


def _rule(r: httpx.Response) -> tuple[int, str, str]:
    err = r.json()["error"]
    return r.status_code, err["code"], err["rule"]


def test_upload_rules(sandbox, sandbox_client):
    assert _rule(sandbox_client.post("/v1/media", files={"image": ("a.jpg", JPEG)})) == (
        400, "validation_failed", "media.missing_file",
    )  # fmt: skip
    two = [("file", ("a.jpg", JPEG)), ("file", ("b.jpg", JPEG))]
    assert _rule(sandbox_client.post("/v1/media", files=two))[2] == "media.single_file"
    extra = sandbox_client.post("/v1/media", files={"file": ("a.jpg", JPEG)}, data={"note": "x"})
    assert _rule(extra)[2] == "media.single_file"
    assert _rule(sandbox_client.post("/v1/media", json={"file": "x"}))[2] == "media.content_type"
    unknown = sandbox_client.post("/v1/media", files={"file": ("a.jpg", b"plain text, not media")})
    assert _rule(unknown)[2] == "media.content_type"
    sandbox.configure(mediaMaxBytes=1000)
    big = sandbox_client.post("/v1/media", files={"file": ("a.png", make_png(5000))})
    assert _rule(big) == (413, "validation_failed", "media.size_max")
    assert sandbox_client.get("/v1/media").json()["data"] == []


def test_media_list_is_newest_first_and_paginated(sandbox_client):
    ids = [
        sandbox_client.post("/v1/media", files={"file": ("a.jpg", JPEG)}).json()["id"]
        for _ in range(3)
    ]
    page = sandbox_client.get("/v1/media", params={"limit": 2}).json()
    assert [m["id"] for m in page["data"]] == ids[::-1][:2]
    rest = sandbox_client.get("/v1/media", params={"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [m["id"] for m in rest["data"]] == ids[:1] and rest["nextCursor"] is None
