"""Every batchnorm layer uses the same bn_params dict (self.bn_params[0]), so running averages mix."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [
    (
        'h, c_norm = batchnorm_forward(h, self.params[f"gamma{i}"], self.params[f"beta{i}"],\n'
        "                                              self.bn_params[i - 1])",
        'h, c_norm = batchnorm_forward(h, self.params[f"gamma{i}"], self.params[f"beta{i}"],\n'
        "                                              self.bn_params[0])",
    )
]
