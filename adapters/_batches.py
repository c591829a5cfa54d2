"""Training batches for the framework range tests (torch's and Keras's), framework-free."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import lrsched


def repeat_batches(batches: Iterable, name: str) -> Iterator[Any]:
    """Yield from ``batches`` again and again (a list, a DataLoader, a tf.data dataset).

    ``name`` is the argument named in the errors: an empty ``batches``, or a one-shot
    iterator that runs out.
    """
    for epoch in itertools.count():
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise lrsched.ArgumentError(
                f"range_test(): {name} yielded no batches"
                if epoch == 0
                else f"range_test(): {name} ran out (pass a re-iterable such as a list or a "
                "DataLoader, not a one-shot iterator)"
            )
