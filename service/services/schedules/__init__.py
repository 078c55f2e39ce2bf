"""Schedules: the scheduler and its leader, the weekly CPD batch, notices, background jobs."""
