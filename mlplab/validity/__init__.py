"""Grader validity: bugs and correct variants applied to the reference, and ``validate-graders``."""
