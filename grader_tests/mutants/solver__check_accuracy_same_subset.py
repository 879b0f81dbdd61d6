"""check_accuracy draws its subset from a generator seeded inside the call: the same subset every time."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [("            idx = np.random.choice(N, num_samples)",
          "            idx = np.random.RandomState(0).choice(N, num_samples)")]
