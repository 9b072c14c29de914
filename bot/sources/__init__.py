"""Commit sources: GitHub REST (PyGithub) and local git checkouts, behind one interface."""
