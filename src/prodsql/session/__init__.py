"""Connecting, tagging and checking the audit posture of a session."""
