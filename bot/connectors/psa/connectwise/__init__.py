"""ConnectWise Manage (REST 3.0) as a PSA: `client` (the `Psa`), `api` (site, codebase, headers, paging, id
batches), `conditions`, `records`, `posting` (keyed addition descriptions), `check` (test_connection),
`vendor` (its registry entry), `demo`."""
