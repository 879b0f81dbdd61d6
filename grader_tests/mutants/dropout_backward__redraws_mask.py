"""Dropout backward draws the mask again (reseeding with dropout_param's seed when there is one) instead of
reusing the cached mask: right only when the forward pass was seeded and nothing drew in between."""

TASK = "dropout_backward"
CELL = "dropout_backward_solution"
PATCH = [(
    "        dx = dout * mask\n",
    "        if \"seed\" in dropout_param:\n"
    "            np.random.seed(dropout_param[\"seed\"])\n"
    "        p = dropout_param[\"p\"]\n"
    "        dx = dout * ((np.random.rand(*dout.shape) < p) / p).astype(dout.dtype)\n",
)]
