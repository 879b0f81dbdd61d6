"""Hidden layers ordered affine -> relu -> batchnorm instead of affine -> batchnorm -> relu."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [
    (
        "            c_norm = None\n            if self.normalization",
        "            h, c_relu = relu_forward(h)\n            c_norm = None\n            if self.normalization",
    ),
    ("            h, c_relu = relu_forward(h)\n            c_drop = None", "            c_drop = None"),
    (
        "            dh = relu_backward(dh, c_relu)\n            if self.normalization",
        "            if self.normalization",
    ),
    (
        "            dh, dw, db = affine_backward(dh, c_aff)",
        "            dh = relu_backward(dh, c_relu)\n            dh, dw, db = affine_backward(dh, c_aff)",
    ),
]
