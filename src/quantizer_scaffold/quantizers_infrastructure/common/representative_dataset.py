"""Representative datasets, as TFLite's converter and ``qat_init`` take them.

A representative dataset is a callable returning an iterable of input batches: an array, a
list of arrays (one per model input) or a dict of them, without labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

Batch = Any
RepresentativeDataset = Callable[[], Iterable[Batch]]


def input_batches(representative_dataset: Any, n_inputs: int) -> Iterator[Batch]:
    """Normalise TFLite-style batches (array, [array], [a, b], dict) to what the model takes."""
    if not callable(representative_dataset):
        raise TypeError(
            "representative_dataset must be a callable returning an iterable of input batches, "
            f"e.g. lambda: dataset.take(8); got {type(representative_dataset).__name__}"
        )
    for batch in representative_dataset():
        if isinstance(batch, dict):
            yield batch
        elif isinstance(batch, (list, tuple)):
            if len(batch) != n_inputs:
                raise ValueError(
                    f"a representative batch has {len(batch)} parts but the model has "
                    f"{n_inputs} input(s): yield inputs only, without labels"
                )
            yield batch[0] if n_inputs == 1 else list(batch)
        else:
            if n_inputs != 1:
                raise ValueError(
                    f"the model has {n_inputs} inputs: yield a list of {n_inputs} arrays per batch"
                )
            yield batch
