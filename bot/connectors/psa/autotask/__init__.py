"""Autotask (REST API v1.0) as a PSA: `client` (the `Psa`), `session` (zone, auth, limits, paging), `http`
(error reading), `reads`, `records`, `posting` (adjustments with a keyed note), `check` (test_connection),
`vendor` (its registry entry), `demo`."""
