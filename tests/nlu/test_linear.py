"""NB-SVM (``train_nbsvm``) on a tiny hand-made sparse matrix."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nlu.linear import binarize, train_nbsvm, train_softmax


def toy() -> tuple[sp.csr_matrix, np.ndarray]:
    # three classes, each with its own two features, plus a feature every row shares
    rows = []
    for k in range(3):
        for i in range(6):
            row = np.zeros(7)
            row[2 * k + i % 2] = 1.0 + i  # counts, which the NB-SVM ignores
            row[6] = 1.0
            rows.append(row)
    return sp.csr_matrix(np.array(rows)), np.repeat(np.arange(3), 6)


def test_binarize_keeps_only_which_features_occur():
    x = sp.csr_matrix(np.array([[0.0, 2.5, 0.0], [3.0, 0.0, 1.0]]))
    assert binarize(x).toarray().tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    assert x.toarray()[0, 1] == 2.5  # the input is not changed


def test_nbsvm_learns_the_classes_and_folds_into_one_linear_model():
    x, y = toy()
    model = train_nbsvm(x, y, 3, c=1.0)
    assert model.coef.shape == (7, 3)
    proba = model.predict_proba(binarize(x))
    assert (proba.argmax(axis=1) == y).all()
    assert np.allclose(proba.sum(axis=1), 1.0)
    # the shared feature says nothing about any class: its log-count ratio is ~0, so its weight is too
    assert np.abs(model.coef[6]).max() < 0.1 * np.abs(model.coef[:6]).max()


def test_each_column_is_the_binary_logistic_regression_on_ratio_scaled_features():
    x, y = toy()
    model = train_nbsvm(x, y, 3, c=2.0)
    xb = binarize(x)
    inside = y == 0
    p = np.asarray(xb[inside].sum(axis=0)).ravel() + 1.0
    q = np.asarray(xb[~inside].sum(axis=0)).ravel() + 1.0
    r = np.log((p / p.sum()) / (q / q.sum()))
    binary = inside.astype(np.int64)
    weights = np.where(inside, len(y) / (2 * inside.sum()), len(y) / (2 * (~inside).sum()))
    two = train_softmax(sp.csr_matrix(xb.multiply(r)), binary, 2, c=1.0, sample_weight=weights)
    expected = np.asarray(xb.multiply(r) @ (two.coef[:, 1] - two.coef[:, 0])).ravel()
    expected += two.intercept[1] - two.intercept[0]
    assert np.allclose(model.scores(xb)[:, 0], expected, atol=1e-6)
