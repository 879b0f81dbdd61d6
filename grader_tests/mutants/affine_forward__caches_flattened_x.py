"""Affine forward caches the flattened input: the documented cache is (x, w, b) with x as it came in, so a
backward written as documented returns dx of shape (N, D) for image-shaped inputs."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
PATCH = [("    cache = (x, w, b)", "    cache = (x_flat, w, b)")]
