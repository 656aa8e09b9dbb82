"""A tiny PyTorch Lightning training: a linear regression on synthetic data, CPU, seconds.

Lightning names its log directory after what it finds (`lightning_logs/version_N`), which is
why replaying an early run needs the project as that run saw it."""

import argparse

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger


class Regression(L.LightningModule):
    def __init__(self, lr: float = 0.05):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    L.seed_everything(7, workers=True)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(256, 1)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", devices=1, deterministic=True,
                        logger=CSVLogger(".", name="lightning_logs"), enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(Regression(), data)


if __name__ == "__main__":
    main()
