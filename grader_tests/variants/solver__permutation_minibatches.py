"""Solver drawing minibatches without replacement: a fresh permutation every epoch, consumed in order."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "        idx = np.random.choice(num_train, self.batch_size)\n",
        '        order = getattr(self, "_order", None)\n'
        "        if order is None or len(order) < self.batch_size:\n"
        "            order = np.random.permutation(num_train)\n"
        "            if len(order) < self.batch_size:\n"
        "                order = np.resize(order, self.batch_size)\n"
        "        idx, self._order = order[: self.batch_size], order[self.batch_size:]\n",
    ),
    (
        "        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}",
        "        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}\n"
        "        self._order = None",
    ),
]
