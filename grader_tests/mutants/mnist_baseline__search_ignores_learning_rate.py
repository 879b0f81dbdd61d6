"""The search trains every candidate with Adam's default learning rate instead of hparams["lr"]."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [('update_rule="adam", optim_config={"learning_rate": hparams["lr"]}', 'update_rule="adam", optim_config={}')]
