"""Grayscale as the plain mean of R, G and B instead of the ITU-R 601-2 luma weights."""

TASK = "to_grayscale"
CELL = "to_grayscale_solution"
PATCH = [('(0.299, 0.587, 0.114)', '(1 / 3, 1 / 3, 1 / 3)')]
