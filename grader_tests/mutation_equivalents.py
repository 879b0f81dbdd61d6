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
    "affine_backward_solution:NumberReplacer#2":
        "numpy's reshape infers the size of any negative dimension, so -2 means the same as -1",
    "dropout_forward_solution:ReplaceFalseWithTrue#0":
        "astype(copy=True) copies a freshly made array: same values, same dtype",
    "fc_net_solution:NumberReplacer#28":
        "bn_params[i - 2] permutes the per-layer dicts consistently: each layer always uses the same dict",
    "solver_solution:ReplaceAndWithOr#1":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#29":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#12":
        "the first epoch always stores its accuracy (`or not self.best_params`), so the start value 1.0 is never read",
    "solver_solution:NumberReplacer#13":
        "best_val_acc starting at -1 instead of 0 differs only when every epoch has validation accuracy 0",
    "build_mlp_solution:ReplaceTrueWithFalse#0":
        "ReLU(inplace=False) computes the same values (one more tensor)",
    "train_one_epoch_solution:NumberReplacer#3":
        "y is 1-D, so y.shape[-1] is y.shape[0]",
    "train_one_epoch_solution:NumberReplacer#8":
        "max(count, 2) differs only for an epoch of fewer than 2 samples (a division-by-zero guard)",
    "evaluate_solution:NumberReplacer#5":
        "y is 1-D, so y.shape[-1] is y.shape[0]",
    "evaluate_solution:NumberReplacer#7":
        "max(count, 0) differs only for no batches at all (a division-by-zero guard)",
    "to_grayscale_solution:NumberReplacer#15":
        "the luma of uint8 pixels is never negative: clamping at -1 or 0 is the same",
    "fc_net_solution:NumberReplacer#30":
        "bn_params[i - 2] permutes the per-layer dicts consistently: each layer always uses the same dict",
    "solver_solution:ReplaceBinaryOperator_Add_Sub#1":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:ReplaceComparisonOperator_Eq_NotEq#1":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:ReplaceUnaryOperator_USub_UAdd#0":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:ReplaceTrueWithFalse#0":
        "verbose only decides what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#8":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#9":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#28":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#30":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#31":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#32":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#33":
        "changes only what is printed (printing never changes a score)",
    "solver_solution:NumberReplacer#10":
        "self.epoch only numbers checkpoints and printed lines (both ungraded)",
    "solver_solution:NumberReplacer#11":
        "self.epoch only numbers checkpoints and printed lines (both ungraded)",
    "solver_solution:NumberReplacer#38":
        "self.epoch only numbers checkpoints and printed lines (both ungraded)",
    "solver_solution:NumberReplacer#39":
        "self.epoch only numbers checkpoints and printed lines (both ungraded)",
    "solver_solution:ReplaceComparisonOperator_Gt_GtE#0":
        "on a tie, which of two equally good parameter sets is kept is not specified",
    "build_cnn_solution:ReplaceTrueWithFalse#0":
        "ReLU(inplace=False) computes the same values (one more tensor)",
    "train_one_epoch_solution:ReplaceTrueWithFalse#2":
        "zero_grad(set_to_none=False) zeroes instead of dropping the gradients: the same SGD updates",
    "train_one_epoch_solution:NumberReplacer#7":
        "y is 1-D, so y.shape[-1] is y.shape[0]",
    "train_one_epoch_solution:NumberReplacer#9":
        "max(count, 0) differs only for no batches at all (a division-by-zero guard)",
    "evaluate_solution:NumberReplacer#6":
        "max(count, 2) differs only for fewer than 2 samples in all (a division-by-zero guard)",
    "to_grayscale_solution:NumberReplacer#16":
        "after clamping at 256, .to(uint8) of values <= 255.0 is the same",
    "to_grayscale_solution:NumberReplacer#17":
        "clamping at 254 only changes white, which truncation (as torchvision does) also turns into 254",
}
