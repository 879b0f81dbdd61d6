"""The Solver computes a loss on every minibatch but updates the parameters only on the first minibatch of
each epoch: one optimiser step per epoch instead of one per minibatch."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [(
    "        self.loss_history.append(float(loss))\n",
    "        self.loss_history.append(float(loss))\n"
    "        if (len(self.loss_history) - 1) % max(self.X_train.shape[0] // self.batch_size, 1):\n"
    "            return\n",
)]
