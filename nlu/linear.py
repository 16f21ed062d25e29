"""Multinomial logistic regression over sparse features: trained with SciPy's L-BFGS, stored as arrays.

Training and inference need only NumPy and SciPy, so a model trained in one environment gives the same
probabilities in the other (no scikit-learn pickles). The objective is scikit-learn's
``LogisticRegression``: ``0.5·‖W‖² + C·Σᵢ wᵢ·CE(xᵢ, yᵢ)``, intercepts not penalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse as sp


@dataclass(frozen=True)
class SoftmaxModel:
    """Weights ``coef`` (features × classes) and ``intercept`` (classes)."""

    coef: np.ndarray
    intercept: np.ndarray

    def scores(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef) + self.intercept

    def predict_proba(self, x: sp.csr_matrix) -> np.ndarray:
        return softmax(self.scores(x))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def train_softmax(
    x: sp.csr_matrix,
    y: np.ndarray,
    n_classes: int,
    c: float = 10.0,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 500,
    start: SoftmaxModel | None = None,
) -> SoftmaxModel:
    """Fit the model; ``y`` holds class indices in ``range(n_classes)``. ``start`` (a model over the
    same features) is where L-BFGS starts: the objective is strictly convex, so the optimum is the
    same, only reached in fewer steps (cross-validation starts from the model of all the data)."""
    n, d = x.shape
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    xt = x.T.tocsr()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes :]
        z = np.asarray(x @ w) + b
        z -= z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1, keepdims=True))
        log_p = z - log_norm
        loss = -c * float((weights[:, None] * onehot * log_p).sum()) + 0.5 * float((w * w).sum())
        residual = c * weights[:, None] * (np.exp(log_p) - onehot)
        grad_w = np.asarray(xt @ residual) + w
        grad_b = residual.sum(axis=0)
        return loss, np.concatenate([grad_w.ravel(), grad_b])

    if start is None:
        theta0 = np.zeros(d * n_classes + n_classes)
    else:
        theta0 = np.concatenate([start.coef.ravel(), start.intercept])
    result = scipy.optimize.minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-5},
    )
    theta = result.x
    return SoftmaxModel(
        coef=theta[: d * n_classes].reshape(d, n_classes).copy(),
        intercept=theta[d * n_classes :].copy(),
    )


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-sample weights ``n / (k · count(class))`` so every class weighs the same in the loss."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    per_class = len(y) / (n_classes * np.maximum(counts, 1.0))
    return np.asarray(per_class[y])


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature ``T`` minimising the negative log-likelihood of ``softmax(logits / T)``
    (temperature scaling, Guo et al. 2017), by golden-section search on ``log T`` in [1/20, 20].
    ``logits`` are out-of-fold scores, so the probabilities are calibrated for unseen messages;
    the ranking of classes does not change."""
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -float(log_p[rows, y].mean())

    lo, hi = -np.log(20.0), np.log(20.0)
    ratio = (np.sqrt(5.0) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))
