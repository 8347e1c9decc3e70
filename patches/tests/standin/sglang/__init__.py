"""Stand-in for the `sglang` package; see tests/standin/README.md."""
