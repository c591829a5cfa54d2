"""The shared runner of the bad-call tables: each row is (call, error type, exact message)."""

import pytest


def table(rows):
    """Parametrize a test over (call, error, message) rows, ids numbered from 0."""
    return pytest.mark.parametrize(
        "call, error, message", rows, ids=[str(index) for index in range(len(rows))]
    )


def assert_refused(call, error, message):
    """``call()`` raises ``error``; with a message, exactly that message."""
    with pytest.raises(error) as raised:
        call()
    if message is not None:
        assert str(raised.value) == message
