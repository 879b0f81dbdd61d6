"""MLP Lab instructor toolkit: hardened grading, nbgrader integration, demo class."""

__version__ = "0.1.0"
