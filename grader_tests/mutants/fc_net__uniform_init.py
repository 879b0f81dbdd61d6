"""Weights drawn from a uniform distribution (np.random.rand) instead of a Gaussian."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [("weight_scale * np.random.randn(fan_in, fan_out)", "weight_scale * np.random.rand(fan_in, fan_out)")]
