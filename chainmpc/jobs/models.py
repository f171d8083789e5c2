"""Applying a revealed model to rows, in the clear (``chainmpc predict``): Naive Bayes
(``naive-bayes``'s ``result.model``), decision trees (``{"attr": NAME, "children": {VALUE:
subtree}}`` with leaves ``{"leaf": CLASS}``, the ``id3`` model's ``tree``), forests of them
(``random-forest``'s ``forest``, a majority vote), ``kmeans``
(the nearest centroid's index) and ``linear-svm`` (the sign of ``w·x + b``).

No MPC here: the model is public once the session has revealed it. Rows are dicts of column
name → decoded value (a category's value, an ``int``, or a ``fixed`` column's float).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from chainmpc.exceptions import InputError
from chainmpc.jobs.schema import Schema, Table, decode

Row = Mapping[str, Any]


def decoded_rows(table: Table) -> list[dict[str, Any]]:
    """``table``'s rows as dicts of decoded values (categories as their strings)."""
    columns = table.schema.columns
    out = []
    for i in range(table.rows):
        row = {}
        for c in columns:
            v = table.columns[c.name][i]
            row[c.name] = c.values[v] if c.type == "category" else decode(c, v)
        out.append(row)
    return out


def model_target(model: Mapping[str, Any]) -> str | None:
    """The class column a model predicts, if it names one."""
    target = model.get("target")
    return target if isinstance(target, str) else None


def predict(model: Mapping[str, Any], rows: Sequence[Row]) -> list[str]:
    """The class of each row under ``model`` (a Naive Bayes model, or ``{"tree": ...}``)."""
    if "tree" in model:
        return [predict_tree(model["tree"], row) for row in rows]
    if "forest" in model:
        return [predict_forest(model, row) for row in rows]
    if model.get("kind") == "kmeans":
        return [str(nearest_centroid(model, row)) for row in rows]
    if model.get("kind") == "linear-svm":
        return [predict_linear(model, row) for row in rows]
    variant = model.get("variant")
    if variant == "categorical":
        return [predict_categorical(model, row) for row in rows]
    if variant == "gaussian":
        eps = gaussian_epsilon(model)
        return [predict_gaussian(model, row, eps) for row in rows]
    raise InputError(
        "model: not a tree, forest, naive-bayes, kmeans or linear-svm model (no 'tree', "
        "'forest', 'variant' or 'kind')"
    )


def predict_tree(node: Mapping[str, Any], row: Row) -> str:
    """Walk the tree from ``node`` down the branches ``row``'s values name, to a leaf."""
    while "leaf" not in node:
        attr = node.get("attr")
        children = node.get("children")
        if not isinstance(attr, str) or not isinstance(children, Mapping):
            raise InputError("model.tree: a node needs 'leaf', or 'attr' and 'children'")
        if attr not in row:
            raise InputError(f"model.tree: splits on {attr!r}, which the rows do not have")
        child = children.get(str(row[attr]))
        if child is None:  # never the value: the row is an org's data
            raise InputError(f"model.tree: no branch for a value of {attr!r}")
        node = child
    return str(node["leaf"])


def predict_forest(model: Mapping[str, Any], row: Row) -> str:
    """The majority vote of the forest's trees (ties to the first class in declared order)."""
    classes = list(model["classes"])
    votes = [0] * len(classes)
    for tree in model["forest"]:
        votes[classes.index(predict_tree(tree, row))] += 1
    return _argmax(classes, votes)


def _numbers(row: Row, names: Sequence[str], where: str) -> list[float]:
    missing = [n for n in names if n not in row]
    if missing:
        raise InputError(f"model.{where}: uses {missing[0]!r}, which the rows do not have")
    return [float(row[n]) for n in names]


def nearest_centroid(model: Mapping[str, Any], row: Row) -> int:
    """The index of the centroid nearest ``row`` (squared Euclidean distance over the
    model's ``features``; ties to the lowest index, as the training's assignment)."""
    x = _numbers(row, model["features"], "features")
    dist = [sum((a - c) ** 2 for a, c in zip(x, cent, strict=True)) for cent in model["centroids"]]
    return dist.index(min(dist))


def predict_linear(model: Mapping[str, Any], row: Row) -> str:
    """The second class if ``w·x + b > 0``, else the first (the training's ``y = +1`` and
    ``y = -1``)."""
    names = list(model["weights"])
    x = _numbers(row, names, "weights")
    score = sum(model["weights"][n] * v for n, v in zip(names, x, strict=True)) + model["bias"]
    return model["classes"][1] if score > 0 else model["classes"][0]


def _argmax(classes: Sequence[str], scores: Sequence[float]) -> str:
    """The first class of the highest score (ties to the first in declared order)."""
    best = max(range(len(classes)), key=lambda k: (scores[k], -k))
    return classes[best]


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def predict_categorical(model: Mapping[str, Any], row: Row) -> str:
    """``argmax_c log(n_c / N) + Σ_a log((n_{a,v,c} + α) / (n_c + α |V_a|))``: Laplace
    smoothing α applied here, to the revealed counts (as scikit-learn's ``CategoricalNB``)."""
    classes, alpha = model["classes"], float(model.get("smoothing", 1.0))
    n_c = model["class_counts"]
    total = sum(n_c.values())
    scores = []
    for c in classes:
        if n_c[c] == 0:  # a class without rows is never predicted (scikit-learn omits it)
            scores.append(-math.inf)
            continue
        s = _log(n_c[c] / total)
        for attr, table in model["counts"].items():
            cell = table[str(row[attr])][c]
            s += _log(cell + alpha) - _log(n_c[c] + alpha * len(table))
        scores.append(s)
    return _argmax(classes, scores)


def gaussian_epsilon(model: Mapping[str, Any]) -> float:
    """``var_smoothing`` × the largest attribute variance over all rows (population), as
    scikit-learn's ``GaussianNB`` adds to every variance; computed from the per-class means
    and variances (law of total variance)."""
    n_c = model["class_counts"]
    total = sum(n_c.values())
    largest = 0.0
    for attr, means in model["mean"].items():
        present = [c for c in model["classes"] if n_c[c]]
        mean = sum(n_c[c] * means[c] for c in present) / total
        second = sum(n_c[c] * (model["variance"][attr][c] + means[c] ** 2) for c in present)
        largest = max(largest, second / total - mean * mean)
    return float(model.get("var_smoothing", 1e-9)) * largest


def predict_gaussian(model: Mapping[str, Any], row: Row, eps: float) -> str:
    """``argmax_c log(n_c / N) - ½ Σ_a (log(2π σ²) + (x - μ)² / σ²)`` with σ² the class's
    variance plus ``eps`` (:func:`gaussian_epsilon`)."""
    classes, n_c = model["classes"], model["class_counts"]
    total = sum(n_c.values())
    scores = []
    for c in classes:
        if n_c[c] == 0:
            scores.append(-math.inf)
            continue
        s = math.log(n_c[c] / total)
        for attr, means in model["mean"].items():
            var = model["variance"][attr][c] + eps
            if var <= 0:  # a constant attribute and no smoothing: only its value fits
                s += 0.0 if float(row[attr]) == means[c] else -math.inf
                continue
            s -= 0.5 * (math.log(2 * math.pi * var) + (float(row[attr]) - means[c]) ** 2 / var)
        scores.append(s)
    return _argmax(classes, scores)


def prediction_schema(schema: Schema, model: Mapping[str, Any], header: Sequence[str]) -> Schema:
    """The columns rows to predict must have: the model's (only its features, for kmeans and
    linear-svm), less its target unless ``header`` has it (then accuracy can be measured)."""
    target = model_target(model)
    used = model.get("features") or list(model.get("weights") or ())
    # kmeans, linear-svm: the features are required, any other column of the schema optional
    keep = [
        c
        for c in schema.columns
        if (c.name == target and target in header)
        or (c.name != target and (not used or c.name in used or c.name in header))
    ]
    return Schema(tuple(keep))
