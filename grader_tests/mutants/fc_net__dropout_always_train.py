"""Dropout forced into training mode, so loss(X) at test time still drops units."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [
    (
        "h, c_drop = dropout_forward(h, self.dropout_param)",
        'h, c_drop = dropout_forward(h, {**self.dropout_param, "mode": "train"})',
    )
]
