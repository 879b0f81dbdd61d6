"""Library mutants (``mlplab validate-graders --mutation``) that compute the same thing as the reference.

``EQUIVALENT`` maps a mutant's name (``<cell>:<operator>#<occurrence>``) to a one-line reason. A
mutant listed here is not counted in the mutation score; every other surviving mutant is a gap to
close with a new check.
"""

EQUIVALENT: dict[str, str] = {
    "affine_forward_solution:NumberReplacer#2":
        "numpy's reshape infers the size of any negative dimension, so -2 means the same as -1",
    "dropout_forward_solution:ReplaceComparisonOperator_Lt_LtE#0":
        "np.random.rand draws exactly p with probability 0: rand <= p and rand < p give the same mask",
    "train_one_epoch_solution:ReplaceTrueWithFalse#0":
        "non_blocking only changes when a host-to-GPU copy may overlap; the values are the same",
    "evaluate_solution:ReplaceTrueWithFalse#1":
        "non_blocking only changes when a host-to-GPU copy may overlap; the values are the same",
    "train_one_epoch_solution:ReplaceTrueWithFalse#1":
        "non_blocking only changes when a host-to-GPU copy may overlap; the values are the same",
    "evaluate_solution:ReplaceTrueWithFalse#0":
        "non_blocking only changes when a host-to-GPU copy may overlap; the values are the same",
}
