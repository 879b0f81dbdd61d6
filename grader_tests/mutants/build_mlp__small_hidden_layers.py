"""build_mlp with hidden widths 512, 256, 128: far fewer parameters than the report's 3.9 M."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [('(1024, 512, 512)', '(512, 256, 128)')]
