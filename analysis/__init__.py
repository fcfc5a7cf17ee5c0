"""Outcomes analysis for ketamine and interventional-psychiatry practices."""
