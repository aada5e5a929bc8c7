"""Ingram Micro Cloud Marketplace (CMP REST, spec 1.6) as a marketplace: `client` (the `Marketplace`), `auth`
(gateway key and token), `records` (CMP JSON as SeatSync's records), `vendor` (its registry entry), `demo`."""
