"""Momentum sign error: w - v with v = momentum * v - lr * dw, so the weights move uphill."""

TASK = "sgd_momentum"
CELL = "sgd_momentum_solution"
PATCH = [("next_w = w + v", "next_w = w - v")]
