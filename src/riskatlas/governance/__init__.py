"""Consensus governance: proposals (a change to a risk or measure as a diff against a base
version), national positions, adoption rules and meetings."""
