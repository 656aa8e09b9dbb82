"""A small, deterministic training job: logistic regression by mini-batch gradient descent.

The initial weights and the batch order come from numpy's global generator, which `repro run`
seeds; the same seed gives bit-identical weights and metrics.
"""

import json
import os

import numpy as np

EPOCHS = 30
BATCH = 32
LR = 0.1


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1]


def main():
    x, y = load("data/train.csv")
    w = np.random.normal(scale=0.01, size=x.shape[1])
    b = 0.0
    history = []
    for epoch in range(EPOCHS):
        order = np.random.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            p = 1.0 / (1.0 + np.exp(-(x[idx] @ w + b)))
            grad = p - y[idx]
            w -= LR * x[idx].T @ grad / len(idx)
            b -= LR * grad.mean()
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        loss = float(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        history.append(loss)
    accuracy = float(np.mean((p > 0.5) == y))
    os.makedirs("out", exist_ok=True)
    np.savez("out/model.npz", w=w, b=np.array([b]))
    with open("out/metrics.json", "w") as f:
        json.dump({"loss": history[-1], "accuracy": accuracy, "epochs": EPOCHS, "loss_history": history}, f, indent=2)
    print(f"epochs {EPOCHS}  loss {history[-1]:.6f}  accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
