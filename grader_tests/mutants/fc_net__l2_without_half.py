"""L2 penalty added as reg * sum(W**2) (no factor 0.5) while the gradients keep + reg * W."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [("loss += 0.5 * self.reg * sum(", "loss += self.reg * sum(")]
