"""hparams["ws"] is ignored: the net keeps the default weight_scale 1e-2."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [('reg=hparams["reg"], weight_scale=hparams["ws"], dtype', 'reg=hparams["reg"], dtype')]
