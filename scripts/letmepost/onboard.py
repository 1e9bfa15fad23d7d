"""Onboard a fresh letmepost API through its own HTTP endpoints, in two halves (stdlib only).

The source's ``tools/bootstrap.py`` does it all in one go, after the PDS is up; here the
part that needs no PDS runs while the PDS (or the test session) is still starting:

    onboard.py prepare API_URL JAR    sign-up, organisation, test + live keys, the
                                      Default and "Second" profiles; KEY=VALUE lines
    onboard.py connect API_URL JAR PDS_URL HANDLE1:PASSWORD1 [HANDLE2:PASSWORD2]
                                      Bluesky accounts on the PDS: the first in the Default
                                      profile, the next in "Second"; KEY=VALUE lines

JAR keeps the dashboard session (its cookie) between the two halves. The lines printed
are the source's bootstrap.py's: LMP_ORG_ID LMP_TEST_KEY LMP_LIVE_KEY LMP_PROFILE_ID
LMP_PROFILE2_ID, then LMP_<NAME>_ID and LMP_<NAME>_DID per handle.
"""

from __future__ import annotations

import http.cookiejar
import json
import sys
import urllib.error
import urllib.request

ORIGIN = "http://localhost:3001"  # the dashboard origin better-auth always trusts


class Api:
    def __init__(self, url: str, jar_path: str, *, load: bool) -> None:
        self.url = url.rstrip("/")
        self.jar = http.cookiejar.LWPCookieJar(jar_path)
        if load:
            self.jar.load(ignore_discard=True, ignore_expires=True)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Origin", ORIGIN)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(req, timeout=60) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            sys.exit(f"onboard: {method} {path} -> {exc.code}: {exc.read()[:500]!r}")

    def save(self) -> None:
        self.jar.save(ignore_discard=True, ignore_expires=True)


def prepare(api: Api) -> dict[str, str]:
    api.call(
        "POST",
        "/api/auth/sign-up/email",
        {"email": "ci@publisher.test", "password": "publisher-ci-pass", "name": "Publisher CI"},
    )
    org = api.call(
        "POST", "/api/auth/organization/create", {"name": "Publisher CI", "slug": "publisher-ci"}
    )
    out = {"LMP_ORG_ID": org["id"]}
    for env, prefix in (("TEST", "lmp_test_"), ("LIVE", "lmp_live_")):
        k = api.call(
            "POST",
            "/v1/api-keys",
            {"name": f"ci-{env.lower()}", "prefix": prefix, "scopes": ["posts:read", "posts:write"]},
        )
        out[f"LMP_{env}_KEY"] = k["key"]
    profiles = {p["slug"]: p["id"] for p in api.call("GET", "/v1/profiles")["data"]}
    # What the connect of an account without a profile finds or creates (resolveProfileId).
    default = profiles.get("default") or api.call(
        "POST", "/v1/profiles", {"name": "Default", "slug": "default"}
    )["id"]
    second = api.call("POST", "/v1/profiles", {"name": "Second", "slug": "second"})["id"]
    out["LMP_PROFILE_ID"], out["LMP_PROFILE2_ID"] = default, second
    api.save()
    return out


def connect(api: Api, pds: str, accounts: list[list[str]]) -> dict[str, str]:
    out = {}
    for i, (handle, password) in enumerate(accounts):
        body = {"identifier": handle, "appPassword": password, "pdsUrl": pds}
        if i == 1:
            second = {p["slug"]: p["id"] for p in api.call("GET", "/v1/profiles")["data"]}
            body["profileId"] = second["second"]
        acct = api.call("POST", "/v1/accounts/connect/bluesky/complete", body)
        name = handle.split(".")[0].upper()
        out[f"LMP_{name}_ID"] = acct["id"]
        out[f"LMP_{name}_DID"] = acct["platformAccountId"]
    return out


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "prepare":
        out = prepare(Api(argv[1], argv[2], load=False))
    elif len(argv) >= 5 and argv[0] == "connect":
        accounts = [a.split(":", 1) for a in argv[4:]]
        out = connect(Api(argv[1], argv[2], load=True), argv[3], accounts)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for key, value in out.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
