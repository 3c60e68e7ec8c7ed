"""Ladder level 0: run capture. The Run record, tools, decisions, cassettes, production capture."""
