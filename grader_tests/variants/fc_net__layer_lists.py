"""FullyConnectedNet keeping per-layer caches in lists and building parameters pairwise with zip.

Same random draw order as the reference (one randn per weight matrix, in layer order).
"""

TASK = "fc_net"
CELL = "fc_net_solution"
SOURCE = '''
class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        sizes = [input_dim] + list(hidden_dims)
        outs = list(hidden_dims) + [num_classes]
        for layer, (n_in, n_out) in enumerate(zip(sizes, outs), start=1):
            w = np.random.randn(n_in, n_out) * weight_scale
            self.params["W" + str(layer)] = w.astype(dtype)
            self.params["b" + str(layer)] = np.zeros(n_out, dtype=dtype)
        if normalization in ("batchnorm", "layernorm"):
            for layer, width in enumerate(hidden_dims, start=1):
                self.params["gamma" + str(layer)] = np.ones(width, dtype=dtype)
                self.params["beta" + str(layer)] = np.zeros(width, dtype=dtype)
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if self.normalization is not None:
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def _norm(self, h, k):
        g, b = self.params["gamma" + str(k)], self.params["beta" + str(k)]
        if self.normalization == "batchnorm":
            return batchnorm_forward(h, g, b, self.bn_params[k - 1])
        return layernorm_forward(h, g, b, self.bn_params[k - 1])

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        affine_caches, norm_caches, relu_caches, drop_caches = [], [], [], []
        out = X
        for k in range(1, self.num_layers):
            out, cache = affine_forward(out, self.params["W" + str(k)], self.params["b" + str(k)])
            affine_caches.append(cache)
            if self.normalization is not None:
                out, cache = self._norm(out, k)
                norm_caches.append(cache)
            out, cache = relu_forward(out)
            relu_caches.append(cache)
            if self.use_dropout:
                out, cache = dropout_forward(out, self.dropout_param)
                drop_caches.append(cache)
        last = str(self.num_layers)
        scores, cache = affine_forward(out, self.params["W" + last], self.params["b" + last])
        affine_caches.append(cache)
        if y is None:
            return scores

        data_loss, dout = softmax_loss(scores, y)
        weights = [self.params["W" + str(k)] for k in range(1, self.num_layers + 1)]
        loss = data_loss + 0.5 * self.reg * sum(float((w * w).sum()) for w in weights)
        grads = {}
        for k in reversed(range(1, self.num_layers + 1)):
            if k < self.num_layers:
                if self.use_dropout:
                    dout = dropout_backward(dout, drop_caches[k - 1])
                dout = relu_backward(dout, relu_caches[k - 1])
                if self.normalization == "batchnorm":
                    dout, dg, dbeta = batchnorm_backward(dout, norm_caches[k - 1])
                elif self.normalization == "layernorm":
                    dout, dg, dbeta = layernorm_backward(dout, norm_caches[k - 1])
                if self.normalization is not None:
                    grads["gamma" + str(k)], grads["beta" + str(k)] = dg, dbeta
            dout, dw, db = affine_backward(dout, affine_caches[k - 1])
            grads["W" + str(k)] = dw + self.reg * self.params["W" + str(k)]
            grads["b" + str(k)] = db
        return loss, grads
'''
