"""Risks, measures, the risk matrix and scoring."""
