"""check_accuracy draws its random subset with np.random.randint (with replacement, as np.random.choice)."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "            idx = np.random.choice(N, num_samples)\n",
        "            idx = np.random.randint(0, N, size=num_samples)\n",
    )
]
