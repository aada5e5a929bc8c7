"""`/seats report`: a report's summary with signed links."""
