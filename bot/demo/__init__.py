"""`seatsync demo`: the whole product on embedded defaults against the bundled simulators."""
