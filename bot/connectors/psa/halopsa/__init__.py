"""HaloPSA as a PSA: `client` (the `Psa`), `api` (the OAuth2 token with tenant and scopes, Halo's paging and
array-body POST, its errors), `records`, `posting` (the line's new quantity, its pro-rata record and the key),
`check` (test_connection), `vendor` (its registry entry), `demo`."""
