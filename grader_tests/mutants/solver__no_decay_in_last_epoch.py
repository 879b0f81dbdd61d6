"""The learning rate is decayed between epochs only (not after the last one)."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "                for config in self.optim_configs.values():\n"
        '                    config["learning_rate"] *= self.lr_decay\n',
        "                for config in self.optim_configs.values():\n"
        "                    if self.epoch < self.num_epochs:\n"
        '                        config["learning_rate"] *= self.lr_decay\n',
    )
]
