"""A module without a `process` function."""

VALUE = 1
