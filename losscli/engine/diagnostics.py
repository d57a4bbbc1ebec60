"""What an accumulator tells the user about besides the numbers: rows seen and omitted,
probabilities clipped, rows that do not sum to 1, the label style. Merged like the sums."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Diagnostics:
    """Counts worth telling the user about; they merge by addition (first rows by min)."""

    n_rows: int = 0
    n_omitted: int = 0
    first_omitted: int | None = None
    n_clipped: int = 0
    n_unnormalized: int = 0
    first_unnormalized: int | None = None
    saw_zero_label: bool = False
    saw_minus_one_label: bool = False
    sample_weighted: bool = False

    def merged(self, other: Diagnostics) -> Diagnostics:
        def first(a: int | None, b: int | None) -> int | None:
            return b if a is None else a if b is None else min(a, b)

        return Diagnostics(
            self.n_rows + other.n_rows,
            self.n_omitted + other.n_omitted,
            first(self.first_omitted, other.first_omitted),
            self.n_clipped + other.n_clipped,
            self.n_unnormalized + other.n_unnormalized,
            first(self.first_unnormalized, other.first_unnormalized),
            self.saw_zero_label or other.saw_zero_label,
            self.saw_minus_one_label or other.saw_minus_one_label,
            self.sample_weighted or other.sample_weighted,
        )
