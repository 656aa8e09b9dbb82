"""A tiny data-parallel training: gloo on CPU, any launcher that sets the rank variables
(torchrun, or srun with RANK/WORLD_SIZE taken from the Slurm ones). Each rank trains on its
shard, gradients are averaged, rank 0 writes the weights, every rank its own loss."""

import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

rank = int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))
world = int(os.environ.get("WORLD_SIZE", os.environ.get("SLURM_NTASKS", "1")))
os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
os.environ.setdefault("MASTER_PORT", os.environ.get("DDP_PORT", "29512"))
if os.environ.get("DIE_RANK") == str(rank):
    os.kill(os.getpid(), 9)
dist.init_process_group("gloo", rank=rank, world_size=world)
torch.set_num_threads(1)
model = DistributedDataParallel(torch.nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.rand(32, 4)  # seeded by repro: the same on every rank, each takes its shard
y = x.sum(dim=1, keepdim=True)
mine = slice(rank * 32 // world, (rank + 1) * 32 // world)
for _ in range(20):
    optimizer.zero_grad()
    loss = ((model(x[mine]) - y[mine]) ** 2).mean()
    loss.backward()
    optimizer.step()
os.makedirs("out", exist_ok=True)
with open(f"out/loss-rank{rank}.txt", "w") as f:
    f.write(f"{loss.item()!r}\n")
if rank == 0:
    with open("out/weights.txt", "w") as f:
        f.write(" ".join(repr(v) for v in model.module.weight.detach().flatten().tolist()) + "\n")
dist.barrier()
dist.destroy_process_group()
