"""What the platform packages share at run time: posting, pacing, background work, health."""
