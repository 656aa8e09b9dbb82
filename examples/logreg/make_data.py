"""Regenerate data/train.csv (already shipped; kept so the data's origin is explicit)."""

import numpy as np

rng = np.random.default_rng(20261128)
n = 400
x = rng.normal(size=(n, 4))
true_w = np.array([1.5, -2.0, 0.7, 0.0])
p = 1.0 / (1.0 + np.exp(-(x @ true_w + 0.3)))
y = (rng.random(n) < p).astype(int)
with open("data/train.csv", "w") as f:
    f.write("x1,x2,x3,x4,label\n")
    for row, label in zip(x, y):
        f.write(",".join(f"{v:.6f}" for v in row) + f",{label}\n")
