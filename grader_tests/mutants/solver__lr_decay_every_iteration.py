"""The learning rate is decayed after every iteration instead of once per epoch."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "            self._step()\n",
        "            self._step()\n"
        "            for config in self.optim_configs.values():\n"
        '                config["learning_rate"] *= self.lr_decay\n',
    ),
    (
        "                self.epoch += 1\n"
        "                for config in self.optim_configs.values():\n"
        '                    config["learning_rate"] *= self.lr_decay\n',
        "                self.epoch += 1\n",
    ),
]
