"""Limits the CLI shows in its help, kept free of NumPy so that `--help` stays fast."""

# More distinct keys in one slicing is an error, not 10⁶ rows of output: almost always a
# column of ids (`max_slices` changes it).
MAX_SLICES = 100_000
