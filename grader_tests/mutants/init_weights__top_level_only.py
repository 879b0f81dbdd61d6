"""init_weights loops over model.children(): only the top-level modules, so layers inside nested blocks
(an nn.Sequential inside the model) keep PyTorch's default initialisation."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [("for module in model.modules():", "for module in model.children():")]
