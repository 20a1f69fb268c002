"""The identifier policy of witgen.naming."""

from __future__ import annotations

import ast

import pytest

from witgen.naming import NameCollision, Namespace, docstring, package_module, pascal, snake, upper


@pytest.mark.parametrize(
    ("wit", "expected"),
    [
        ("get-data", "get_data"),
        ("parse-XML-document", "parse_xml_document"),
        ("%interface", "interface"),
        ("class", "class_"),  # keyword
        ("match", "match_"),  # soft keyword
        ("type", "type_"),  # soft keyword and builtin
        ("list", "list_"),  # builtin
        ("id", "id_"),
        ("a1-b2", "a1_b2"),
    ],
)
def test_snake(wit: str, expected: str) -> None:
    assert snake(wit) == expected


@pytest.mark.parametrize(
    ("wit", "expected"),
    [
        ("chat-request", "ChatRequest"),
        ("parse-XML", "ParseXML"),
        ("U8", "U8"),
        ("ok", "Ok_"),  # would shadow the imported result class
        ("some", "Some_"),
        ("none", "None_"),  # keyword
        ("exception", "Exception_"),  # builtin
    ],
)
def test_pascal(wit: str, expected: str) -> None:
    assert pascal(wit) == expected


def test_upper_keeps_upper_case_cases() -> None:
    assert [upper(n) for n in ("U8", "f16", "tensor-type", "none")] == ["U8", "F16", "TENSOR_TYPE", "NONE"]


def test_package_module() -> None:
    assert package_module("wasi", "io", "0.2.0-draft2") == "wasi_io_v0_2_0_draft2"
    assert package_module("wamli", "stateful", None) == "wamli_stateful"


def test_namespace_refuses_two_wit_names_for_one_python_name() -> None:
    ns = Namespace("enum e")
    ns.claim(upper("u8"), "u8")
    assert ns.claim("U8", "u8") == "U8"  # the same WIT name again is fine
    with pytest.raises(NameCollision, match="`U8` and `u8` both map to the Python name `U8`"):
        ns.claim(upper("U8"), "U8")


@pytest.mark.parametrize(
    "text",
    ['ends with a quote"', 'has """ inside', "back\\slash\\", "\\n not a newline", "ctrl \x00\x1b\r", "tab\tand\nline", "é 𝄞"],
)
def test_docstring_round_trips_any_text(text: str) -> None:
    literal = docstring(text)
    node = ast.parse(literal).body[0]
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    assert node.value.value == text
