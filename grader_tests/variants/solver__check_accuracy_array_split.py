"""check_accuracy counting correct predictions over np.array_split batches, subset drawn without replacement."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "        N = X.shape[0]\n"
        "        if num_samples is not None and num_samples < N:\n"
        "            idx = np.random.choice(N, num_samples)\n"
        "            X, y = X[idx], y[idx]\n"
        "            N = num_samples\n"
        "        preds = []\n"
        "        for start in range(0, N, batch_size):\n"
        "            scores = self.model.loss(X[start:start + batch_size])\n"
        "            preds.append(np.argmax(scores, axis=1))\n"
        "        return float(np.mean(np.concatenate(preds) == y))",
        "        if num_samples is not None and len(X) > num_samples:\n"
        "            keep = np.random.permutation(len(X))[:num_samples]\n"
        "            X, y = X[keep], y[keep]\n"
        "        n_batches = -(-len(X) // batch_size)\n"
        "        correct = 0\n"
        "        for xb, yb in zip(np.array_split(X, n_batches), np.array_split(y, n_batches)):\n"
        "            correct += int((self.model.loss(xb).argmax(axis=1) == yb).sum())\n"
        "        return correct / len(X)",
    )
]
