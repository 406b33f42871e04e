import math

import pytest
from elasticio_sailor.jsvalues import is_empty, is_truthy


@pytest.mark.parametrize(("value", "truthy"), [
    (None, False), (False, False), (0, False), (0.0, False), (math.nan, False), ("", False),
    (True, True), (1, True), (-0.5, True), ("0", True), ({}, True), ([], True), ({"a": 1}, True),
])
def test_is_truthy_follows_javascript(value, truthy):
    assert is_truthy(value) is truthy


@pytest.mark.parametrize(("value", "empty"), [
    (None, True), (True, True), (5, True), ("", True), ({}, True), ([], True),
    ("x", False), ({"a": 1}, False), ([0], False),
])
def test_is_empty_follows_lodash(value, empty):
    assert is_empty(value) is empty
