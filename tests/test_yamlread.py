"""A model or config is read by libyaml where it is quick and safe, else by PyYAML's own
parser: the same values and lines either way, and a text nested deep enough to crash one
build of libyaml (some 30,000 levels) is refused with pbr's message, however it nests."""

from __future__ import annotations

from unittest import mock

import pytest
import yaml

from pbr_cli.model import yamlread
from pbr_cli.model.yamlread import YamlProblem, read_yaml
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "models").glob("*.yaml")) + [ROOT / "pbr.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_either_parser_reads_every_shipped_file_alike(path):
    text = path.read_text(encoding="utf-8")
    with mock.patch.object(yamlread, "_C_LOADER", None):
        plain = read_yaml(text)
    assert read_yaml(text) == plain
    if getattr(yaml, "CSafeLoader", None) is not None:
        assert yamlread._loader(text) is yaml.CSafeLoader  # (the quick one is used)


DEEP = 50_000
LINES = 2_000  # nesting by indentation takes a text of LINES² / 2 characters
NESTED = {
    "brackets": "scheme: " + "[" * DEEP + "]" * DEEP + "\n",
    "braces": "scheme: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n",
    "dashes on one line": "scheme:\n  " + "- " * DEEP + "1\n",
    "indented keys": "".join(" " * i + "a:\n" for i in range(LINES)) + " " * LINES + "1\n",
    "indented dashes": "".join(" " * i + "-\n" for i in range(LINES)) + " " * LINES + "1\n",
    "question marks": "? " * DEEP + "a\n",
    "carriage returns": "".join(" " * i + "a:\r" for i in range(LINES)) + " " * LINES + "1\r",
}


@pytest.mark.parametrize("text", NESTED.values(), ids=list(NESTED))
def test_a_text_nested_deep_is_refused_not_a_crash(text):
    with pytest.raises(YamlProblem) as raised:
        read_yaml(text)
    assert raised.value.message == "nested too deeply (a model is a few levels deep)"
