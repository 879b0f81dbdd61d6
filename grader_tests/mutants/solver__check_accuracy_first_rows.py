"""check_accuracy with num_samples measures the first num_samples rows instead of a random subset."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [("            idx = np.random.choice(N, num_samples)", "            idx = np.arange(num_samples)")]
