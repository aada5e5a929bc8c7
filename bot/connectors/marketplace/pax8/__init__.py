"""Pax8's partner API as a SeatSync marketplace (shared/apis/pax8.md; Pax8's OpenAPI documents in tests/specs)."""
