"""Baseline built with positional hidden sizes; the search tracks the best candidate in the loop."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
SOURCE = '''
def build_baseline_model(hparams):
    hidden = [256, 128, 64]
    return FullyConnectedNet(hidden, 784, 10, hparams["kp"], "batchnorm", hparams["reg"], hparams["ws"])


def search_hyperparameters(data, candidates, num_epochs=5, batch_size=100, verbose=False):
    results, best, best_acc = [], None, -1.0
    for hp in candidates:
        solver = Solver(build_baseline_model(hp), data, update_rule="adam",
                        optim_config={"learning_rate": hp["lr"]}, num_epochs=num_epochs,
                        batch_size=batch_size, verbose=verbose)
        solver.train()
        acc = solver.best_val_acc
        results.append((hp, acc))
        if acc > best_acc:
            best, best_acc = hp, acc
    return best, results
'''
