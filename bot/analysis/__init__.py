"""Commit analysis: the offline heuristic analyzer and the LLM analyzer, behind one interface."""
