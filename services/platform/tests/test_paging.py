"""Cursor paging: a cursor comes back as the keyset it was made from, and only a keyset of the list's shape does."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from kernel.errors import DomainError
from kernel.paging import decode_cursor, encode_cursor

START = ["", uuid.UUID(int=0)]


def test_no_cursor_starts_before_the_first_row() -> None:
    assert decode_cursor(None, START) == START
    assert decode_cursor("", [0]) == [0]


def test_a_cursor_given_out_comes_back_as_its_keyset() -> None:
    key = ["150102", uuid.uuid4()]
    assert decode_cursor(encode_cursor(key), START) == key
    assert decode_cursor(encode_cursor([41]), [0]) == [41]


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor(["150102"]),  # too short
        encode_cursor(["150102", str(uuid.uuid4()), "x"]),  # too long
        encode_cursor(["150102", "not-a-uuid"]),
        encode_cursor([150102, str(uuid.uuid4())]),  # a number where text was
        encode_cursor(["150\x00102", str(uuid.uuid4())]),  # PostgreSQL text cannot hold NUL
        base64.urlsafe_b64encode(orjson.dumps({"a": 1})).decode(),  # not a list
        "not base64 at all!",
        "bnVsbA",  # base64 of `null`
    ],
)
def test_a_cursor_of_another_shape_is_refused(cursor: str) -> None:
    with pytest.raises(DomainError) as refused:
        decode_cursor(cursor, START)
    # A 422 like every other invalid parameter (it was a 400), in the validation shape.
    assert refused.value.status_code == 422
    assert refused.value.detail() == [
        {"type": "value_error", "msg": "the cursor is not one this API gave out", "loc": ["query", "cursor"]}
    ]


def test_a_boolean_is_not_a_number() -> None:
    with pytest.raises(DomainError):
        decode_cursor(encode_cursor([True]), [0])
