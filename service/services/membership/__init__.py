"""Membership and accounts: signing in, members, units and their staff, confirmations, join
codes, the secretariat's directory, records and statistics."""
