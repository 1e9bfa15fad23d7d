"""X's weighted length against twitter-text's official conformance suite.

``tests/fixtures/twitter-text/validate.yml`` is the suite's ``conformance/validate.yml``
(Apache-2.0, its LICENSE beside it). Its counter cases run as the official libraries'
own conformance tests run them: ``WeightedTweetsCounterTest`` with the v2 configuration
(no emoji parsing), ``WeightedTweetsWithDiscountedEmojiCounterTest`` and
``UnicodeDirectionalMarkerCounterTest`` with v3 (what X uses, and what
``limits.x_weighted_length`` counts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.rules import xlength
from publisher.rules.limits import (
    Content,
    check,
    letmepost_x_length,
    measure,
    x_weighted_length,
)

SUITE = Path(__file__).parents[1] / "fixtures" / "twitter-text"
_TESTS = yaml.safe_load((SUITE / "validate.yml").read_text(encoding="utf-8"))["tests"]

V3_GROUPS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")


def _cases(group: str) -> list[Any]:
    return [pytest.param(case, id=case["description"]) for case in _TESTS[group]]


def test_the_suite_and_its_license_are_kept_together() -> None:
    assert "Apache License" in (SUITE / "LICENSE").read_text(encoding="utf-8")
    counted = sum(len(_TESTS[g]) for g in ("WeightedTweetsCounterTest", *V3_GROUPS))
    assert counted >= 40  # the counter cases are all there


@pytest.mark.parametrize("case", _cases("WeightedTweetsCounterTest"))
def test_v2_counter_cases(case: dict[str, Any]) -> None:
    assert xlength.weighted_length(case["text"], xlength.V2) == case["expected"]["weightedLength"]


@pytest.mark.parametrize("case", [p for group in V3_GROUPS for p in _cases(group)])
def test_v3_counter_cases(case: dict[str, Any]) -> None:
    expected = case["expected"]
    assert x_weighted_length(case["text"]) == expected["weightedLength"]
    assert measure("twitter", case["text"]).used == expected["weightedLength"]


@pytest.mark.parametrize("case", [p for group in V3_GROUPS for p in _cases(group)])
def test_v3_verdicts_follow_the_weighted_length(case: dict[str, Any]) -> None:
    """X's verdict (the suite's ``valid``): over 280 on X's count, or a character X
    refuses, is reported; a valid text gets no finding about its text."""
    expected = case["expected"]
    found = {f.rule for f in check(Content("twitter", case["text"])) if f.field == "text"}
    over = expected["weightedLength"] > 280
    assert bool(found & {"twitter.text.max_weighted", "twitter.text.max_graphemes"}) == over
    if expected["valid"]:
        assert found == set()
    else:
        assert found


# The kinds of text where a hand-written count went wrong: each probe padded with "a"
# to exactly 280 on X's count passes X's rule, and to 281 is refused. letmepost's
# preflight counts its own way (an invalid domain after http:// is a 23-character link
# there): its rule fires exactly when its count is over.
PROBES = [
    "example.org and github.com/foo",  # links without a scheme: 23 each
    " ".join(["t.co"] * 11),
    "https://foo.-bar.com/x",  # an invalid domain label: text
    "http://exa_mple.com",
    "\u200f\u200eשלום\u202a\u202c",  # directional marks weigh 2
    "a\u0301\u0302\u0303 Z\u0351\u0352",  # stacked combining marks
    "👨‍👩‍👧 🇫🇷 👍🏽 #️⃣ ©",
    "日本語のテキスト",
    "नमस्ते क्षत्रिय",
    "line\r\nbreak",
]


@pytest.mark.parametrize("probe", PROBES)
def test_boundary_probes(probe: str) -> None:
    base = x_weighted_length(probe + " ")
    at_limit = probe + " " + "a" * (280 - base)
    assert x_weighted_length(at_limit) == 280
    for text in (at_limit, at_limit + "a"):
        theirs = letmepost_x_length(text) > 280
        ours = x_weighted_length(text) > 280
        want = ["twitter.text.max_graphemes"] if theirs else []
        if ours and not theirs:
            want = ["twitter.text.max_weighted"]
        assert [f.rule for f in check(Content("twitter", text)) if f.field == "text"] == want
    assert x_weighted_length(at_limit + "a") == 281


def test_x_counts_where_setuptools_has_no_pkg_resources() -> None:
    """The port imports ``pkg_resources``, gone from setuptools 81 on (and absent from a
    uv environment): X's count works without it and leaves no stand-in behind."""
    code = (
        "import sys\n"
        "class NoPkgResources:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pkg_resources':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoPkgResources())\n"
        "from publisher.rules.limits import x_weighted_length\n"
        "print(x_weighted_length('example.org \\U0001f468\\u200d\\U0001f469\\u200d\\U0001f467'))\n"
        "print('pkg_resources' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["26", "False"]
