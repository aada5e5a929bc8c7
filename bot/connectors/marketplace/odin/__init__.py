"""Odin / CloudBlue BA (Ingram's billing platform, XML-RPC) as a marketplace: `client` (the `Marketplace`),
`rpc` (calls and faults), `rows` (BA rows as SeatSync's records), `vendor` (its registry entry), `demo`."""
