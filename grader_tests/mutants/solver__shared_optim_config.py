"""All parameters share ONE optim_config dict, so velocity/cache/m/v/t state is mixed up."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}",
        "self.optim_configs = {name: self.optim_config for name in self.model.params}",
    )
]
