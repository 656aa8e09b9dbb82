"""A tiny Hugging Face Transformers `Trainer` run on CPU: a two-layer BERT built from a config
(no download), random token ids, one epoch, a checkpoint and an evaluation."""

import json

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments, set_seed


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 100, (n, 16), generator=g)
        self.labels = (self.ids.sum(dim=1) % 2).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def main() -> None:
    set_seed(42)
    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(output_dir="out", num_train_epochs=1, per_device_train_batch_size=16,
                             save_strategy="epoch", eval_strategy="epoch", logging_strategy="epoch",
                             report_to=[], use_cpu=True, seed=42, data_seed=42, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=Tokens(128, 0), eval_dataset=Tokens(32, 1))
    trainer.train()
    with open("out/eval.json", "w") as f:
        json.dump(trainer.evaluate(), f, indent=1)


if __name__ == "__main__":
    main()
