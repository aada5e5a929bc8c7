"""SeatSync: every seat bought in the marketplace, billed in the PSA, exactly once."""

__version__ = "0.1.0"
