"""Checks every bot answer must pass, for hand-written and staff-written content alike."""
