"""Plumbing shared by the checkout's four services: settings, auth, database, limits, faults."""
