"""Hidden widths 1024-512-256 instead of 1024-512-512 (3.7 % fewer parameters: inside the count tolerance)."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [("for hidden in (1024, 512, 512):", "for hidden in (1024, 512, 256):")]
