"""The demo data: agencies, units, staff, members and forms of every business type, made by
running the real use cases. Not used by the production code."""
