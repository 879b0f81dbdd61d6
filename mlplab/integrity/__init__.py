"""Academic integrity: similarity of answer code between submissions."""
