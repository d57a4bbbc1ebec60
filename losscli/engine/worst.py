"""The K rows with the largest per-sample loss, kept in bounded memory (SPEC §8 ``worst``).

Each chunk offers its own K largest ℓᵢ; the kept rows and the offered ones are ranked
together by (ℓ descending, row ascending) and cut back to K. That order is total, so the
result equals a full sort of every row's ℓ (ties to the earlier row) whatever the chunking
and whatever order chunks, threads or partitions merge in. NaN ranks as +inf.

A chunk describes only the rows it offers (`describe`), so the cost of naming rows (ids,
file lines, shown columns) is paid for at most K rows per chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
# chunk positions of the offered rows → per-row facts (pred, label, weight, id, line, ...)
Describe = Callable[[NDArray[np.intp]], dict[str, list[Any]]]


@dataclass
class WorstRows:
    """The `k` largest ℓᵢ seen, with their 0-based input rows and what `describe` said."""

    k: int
    loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    rows: NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    facts: list[dict[str, Any]] = field(default_factory=list)

    def offer(self, losses: Array, rows: NDArray[np.intp], describe: Describe) -> None:
        """Offer a chunk: ℓᵢ of its rows and their 0-based input rows (ascending)."""
        pick = _largest(losses, self.k)
        if len(self.loss) == self.k and len(pick):
            # a row below the K-th kept value cannot enter: name only those that can (naming
            # a row costs far more than ranking it)
            floor = np.min(np.where(np.isnan(self.loss), np.inf, self.loss))
            rank = np.where(np.isnan(losses[pick]), np.inf, losses[pick])
            pick = pick[rank >= floor]
        if not len(pick):
            return
        told = describe(pick)
        facts = [{name: values[i] for name, values in told.items()} for i in range(len(pick))]
        self._keep(
            np.concatenate([self.loss, losses[pick]]),
            np.concatenate([self.rows, rows[pick]]),
            self.facts + facts,
        )

    def merged(self, other: WorstRows) -> WorstRows:
        out = WorstRows(self.k)
        out._keep(
            np.concatenate([self.loss, other.loss]),
            np.concatenate([self.rows, other.rows]),
            self.facts + other.facts,
        )
        return out

    def _keep(self, loss: Array, rows: NDArray[np.intp], facts: list[dict[str, Any]]) -> None:
        rank = np.where(np.isnan(loss), np.inf, loss)
        order = np.lexsort((rows, -rank))[: self.k]
        self.loss, self.rows = loss[order], rows[order]
        self.facts = [facts[i] for i in order]


def _largest(losses: Array, k: int) -> NDArray[np.intp]:
    """Positions of the k largest values, ties to the earlier position, in any order."""
    n = len(losses)
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.intp)
    if n <= k:
        return np.arange(n, dtype=np.intp)
    rank = np.where(np.isnan(losses), np.inf, losses)
    cut = np.partition(rank, n - k)[n - k]  # the k-th largest
    above = np.flatnonzero(rank > cut)
    at = np.flatnonzero(rank == cut)[: k - len(above)]
    return np.concatenate([above, at])
