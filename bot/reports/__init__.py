"""Reports: the queries billing staff and auditors read, their file formats, and signed links to them."""
