"""`/seats relations`: suggested matches set, or relations cleared, many at a time."""
