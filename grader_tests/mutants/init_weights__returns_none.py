"""init_weights initialises everything in place but forgets the documented return value (returns None)."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [("            nn.init.zeros_(module.bias)\n    return model", "            nn.init.zeros_(module.bias)")]
