"""The luma weights in BGR order (OpenCV habit): 0.114 R + 0.587 G + 0.299 B."""

TASK = "to_grayscale"
CELL = "to_grayscale_solution"
PATCH = [('(0.299, 0.587, 0.114)', '(0.114, 0.587, 0.299)')]
