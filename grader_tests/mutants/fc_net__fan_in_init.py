"""He/Xavier-style initialisation (randn / sqrt(fan_in)) that ignores weight_scale."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [("weight_scale * np.random.randn(fan_in, fan_out)", "np.random.randn(fan_in, fan_out) / np.sqrt(fan_in)")]
