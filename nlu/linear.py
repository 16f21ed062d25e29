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


def train_nbsvm(
    x: sp.csr_matrix,
    y: np.ndarray,
    n_classes: int,
    c: float = 1.0,
    alpha: float = 1.0,
) -> SoftmaxModel:
    """NB-SVM (Wang & Manning 2012), logistic flavour, one-vs-rest: for each class, the features'
    log-count ratio ``r = log((p/‖p‖₁) / (q/‖q‖₁))`` (``p``, ``q``: feature sums over the class's
    and the other classes' rows, plus ``alpha``) scales the binarised features of a binary logistic
    regression (objective ``0.5·‖w‖² + C·Σᵢ wᵢ·log-loss``, each side weighing the same).
    Because ``(x ⊙ r)·w = x·(r ⊙ w)``, the seven binary models fold into one ``SoftmaxModel``
    over the binarised features: inference stays one sparse product; its ``predict_proba`` is the
    softmax of the one-vs-rest scores. Give it ``binarize(x)`` at inference too."""
    xb = binarize(x)
    d = xb.shape[1]
    coef = np.zeros((d, n_classes))
    intercept = np.zeros(n_classes)
    for k in range(n_classes):
        inside = y == k
        p = np.asarray(xb[inside].sum(axis=0)).ravel() + alpha
        q = np.asarray(xb[~inside].sum(axis=0)).ravel() + alpha
        r = np.log((p / p.sum()) / (q / q.sum()))
        binary = inside.astype(np.int64)
        # a two-class softmax with weights (-w/2, w/2) is a binary logistic regression with
        # penalty 0.25·‖w‖², so C/2 here is C there
        model = train_softmax(
            sp.csr_matrix(xb.multiply(r)),
            binary,
            2,
            c=c / 2,
            sample_weight=balanced_weights(binary, 2),
        )
        coef[:, k] = r * (model.coef[:, 1] - model.coef[:, 0])
        intercept[k] = model.intercept[1] - model.intercept[0]
    return SoftmaxModel(coef=coef, intercept=intercept)


def binarize(x: sp.csr_matrix) -> sp.csr_matrix:
    """``x`` with every stored non-zero value set to 1 (which features occur, not how much)."""
    xb = sp.csr_matrix(x, copy=True)
    xb.eliminate_zeros()
    xb.data[:] = 1.0
    return xb
