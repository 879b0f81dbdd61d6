"""Dropout applied in the forward pass but forgotten in the backward pass."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [("                dh = dropout_backward(dh, c_drop)\n", "                pass\n")]
