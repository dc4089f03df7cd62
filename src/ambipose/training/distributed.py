"""Data-parallel training over several processes with torch.distributed (one process per GPU, or
several CPU processes).

Launch with torchrun, which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT:

    torchrun --nproc_per_node=4 -m ambipose.training.distributed --config configs/full.yaml --out runs/full

How it works (see docs/performance.md):
- every rank draws the same global batch (`train.batch_size`) and keeps its 1/N slice
  (`Trainer(rank, world_size)`), so N processes see exactly the samples of a 1-process run;
- rank 0's initial weights are broadcast to all ranks;
- after every backward, the gradients of the optimisers being stepped are averaged across ranks
  (one flat all_reduce per optimiser), so all ranks take the same optimiser step;
- BatchNorm normalises with *per-process* batch statistics (each rank's slice of B/N samples),
  as plain DDP does; the running statistics used at test time are averaged across ranks after
  every step, so all ranks hold identical weights and buffers and the saved model reflects every
  rank's data. The KL scale prior also uses per-process batch mean and spread of the scales.
  With these two exceptions a step equals a 1-process step on the global batch;
- the losses each rank reports are averaged, so logs and the divergence check agree on all ranks;
- only rank 0 writes logs and checkpoints.

Backend: NCCL on CUDA (device cuda:LOCAL_RANK), gloo on CPU.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from ..config import ExperimentConfig
from ..models.checkpoint import save_checkpoint
from ..settings import pick_device
from .data import TrainingData
from .loop import Trainer
from .run import run_training


class DistributedTrainer(Trainer):
    """Trainer whose ranks stay in lock-step: same initial weights, averaged gradients, averaged
    BatchNorm running statistics and reported losses. Needs an initialised process group (see
    `init_process_group`); with world size 1 it behaves exactly like Trainer."""

    def __init__(self, cfg: ExperimentConfig, out_dir: str | Path, device: str = "cpu",
                 data: TrainingData | None = None, progress: bool = True):
        if not dist.is_initialized():
            raise RuntimeError("DistributedTrainer needs torch.distributed to be initialised (use init_process_group)")
        rank, world = dist.get_rank(), dist.get_world_size()
        super().__init__(cfg, out_dir, device, data, progress=progress and rank == 0, rank=rank, world_size=world)
        # Every rank seeds torch identically, so the weights already agree; broadcasting makes
        # that a guarantee (e.g. across different GPU models or after --init on one rank).
        with torch.no_grad():
            for t in self._tensors(params=True, buffers=True):
                dist.broadcast(t, src=0)
        self._seed_dropout()

    def _seed_dropout(self) -> None:
        """Give each rank its own torch RNG stream (dropout masks): with the shared seed, sample i
        of every rank's slice would get the same mask. The sampler generator (`self.gen`: batch
        indices, rotations) stays identical on all ranks, as the global batch requires."""
        if self.rank > 0:
            torch.manual_seed(self.cfg.train.seed + 1_000_003 * self.rank + self.step)

    def resume(self) -> bool:
        """Resume every rank from rank 0's last.pt (it holds rank 0's RNG state; other ranks
        re-derive theirs from the seed, rank and step)."""
        ok = super().resume()
        if ok:
            self._seed_dropout()
        return ok

    def _modules(self) -> list[nn.Module]:
        return [m for m in (self.model, self.disc) if m is not None]

    def _tensors(self, params: bool, buffers: bool) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        for m in self._modules():
            if params:
                out += [p.data for p in m.parameters()]
            if buffers:
                out += list(m.buffers())
        return out

    def sync_weights(self) -> None:
        """Rank 0's weights and buffers on every rank (after the self-training stage's rounds,
        whose BatchNorm statistics each rank gathered on its own slice)."""
        if self.world_size == 1:
            return
        with torch.no_grad():
            for t in self._tensors(params=True, buffers=True):
                dist.broadcast(t, src=0)

    def after_backward(self, names: list[str]) -> None:
        """Average the gradients of the optimisers `names` over all ranks. Parameters without a
        gradient are skipped; every rank runs the same code path, so the set is the same on all."""
        if self.world_size == 1:
            return
        for n in names:
            grads = [p.grad for g in self.opts[n].param_groups for p in g["params"] if p.grad is not None]
            _all_reduce_mean(grads, self.world_size)

    def train_step(self, it: int) -> tuple[str, dict[str, float]]:
        kind, losses = super().train_step(it)
        if self.world_size == 1:
            return kind, losses
        # One all_reduce for the reported losses (logs, divergence check: NaN on one rank stops
        # all of them) and the BatchNorm running statistics (floating buffers).
        buffers = [b for b in self._tensors(params=False, buffers=True) if b.is_floating_point()]
        keys = sorted(losses)
        vals = torch.tensor([losses[k] for k in keys], dtype=torch.float64, device=self.device)
        _all_reduce_mean([vals, *buffers], self.world_size)
        return kind, dict(zip(keys, vals.tolist()))


def _all_reduce_mean(tensors: list[torch.Tensor], world_size: int) -> None:
    """In-place mean over ranks, one collective per dtype (tensors flattened into one buffer)."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.all_reduce(flat)
        flat /= world_size
        offset = 0
        for t in group:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


# ---- process group ---------------------------------------------------------------------------
def env_rank() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) outside torchrun."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def init_process_group(device: str = "auto", rank: int | None = None, world_size: int | None = None,
                       local_rank: int | None = None, init_method: str = "env://",
                       timeout_s: float = 1800.0) -> str:
    """Join the process group (NCCL on CUDA, gloo on CPU) and return this rank's device string.

    `device`: "auto" (cuda:LOCAL_RANK when CUDA is available, else cpu), "cpu" or "cuda".
    Ranks default to torchrun's environment variables.
    """
    e_rank, e_world, e_local = env_rank()
    rank = e_rank if rank is None else rank
    world_size = e_world if world_size is None else world_size
    local_rank = e_local if local_rank is None else local_rank
    device = pick_device(device)
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}" if device == "cuda" else device
        torch.cuda.set_device(torch.device(device))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout_s))
    return device


def run_distributed(cfg: ExperimentConfig, out: Path, device: str = "auto", resume: bool = False,
                    init: str | None = None, progress: bool = True, data: TrainingData | None = None,
                    max_steps: int | None = None, overwrite: bool = False) -> Path:
    """One distributed training run (this process's part), then rank 0 writes `<out>/model.pt`
    (same layout as `ambipose train`). Call after `init_process_group`."""
    trainer = DistributedTrainer(cfg, out, device=device, data=data, progress=progress)
    final = run_training(cfg, out, resume=resume, init=init, trainer=trainer, max_steps=max_steps, overwrite=overwrite)
    dist.barrier()  # nobody exits (tearing down the group) before rank 0 has written
    return final


def main(argv: list[str] | None = None) -> int:
    """Entry point for torchrun: `torchrun --nproc_per_node=N -m ambipose.training.distributed ...`."""
    from ..train_options import add_train_arguments, config_from_args, default_run_dir
    from ..errors import AmbiposeError

    p = argparse.ArgumentParser(prog="python -m ambipose.training.distributed",
                                description="data-parallel training; launch with torchrun --nproc_per_node=N")
    add_train_arguments(p)
    args = p.parse_args(argv)
    rank = env_rank()[0]
    try:
        cfg = config_from_args(args)
        # Outside torchrun (no MASTER_ADDR): a 1-process group on a free local port.
        standalone = "MASTER_ADDR" not in os.environ
        device = init_process_group(args.device, *((0, 1, 0) if standalone else (None, None, None)),
                                    init_method=f"tcp://127.0.0.1:{free_port()}" if standalone else "env://")
        try:
            run_distributed(cfg, Path(args.out or default_run_dir(args, cfg.name)), device=device,
                            resume=args.resume, init=args.init, progress=not args.no_progress, overwrite=args.overwrite)
        finally:
            dist.destroy_process_group()
    except AmbiposeError as e:
        print(f"ambipose distributed (rank {rank}): error: {e}", file=sys.stderr)
        return 2
    return 0


# ---- in-process launcher (tests, small CPU runs) ---------------------------------------------
def _spawn_worker(rank: int, world_size: int, port: int, cfg_dict: dict, out: str, data: TrainingData | None,
                  max_steps: int | None, threads: int, save_at: tuple[int, ...]) -> None:
    from ..config import config_from_dict

    torch.set_num_threads(threads)
    init_process_group("cpu", rank, world_size, rank, init_method=f"tcp://127.0.0.1:{port}", timeout_s=120)
    try:
        cfg = config_from_dict(cfg_dict)
        if not save_at:
            run_distributed(cfg, Path(out), device="cpu", progress=False, data=data, max_steps=max_steps)
            return
        # Step by step (as `fit` does within an epoch), writing every rank's full state after
        # the steps in `save_at`, to compare ranks and runs.
        trainer = DistributedTrainer(cfg, out, device="cpu", data=data, progress=False)
        for it in range(max(save_at)):
            trainer.train_step(it % trainer.iters)
            trainer.step += 1
            if trainer.step in save_at:
                save_checkpoint(Path(out) / f"rank{rank}_step{trainer.step}.pt", trainer.state())
        dist.barrier()
    finally:
        dist.destroy_process_group()


def spawn_cpu(world_size: int, cfg: ExperimentConfig, out: str | Path, data: TrainingData | None = None,
              max_steps: int | None = None, threads: int = 1, save_at: tuple[int, ...] = ()) -> None:
    """Train with `world_size` CPU processes (gloo over 127.0.0.1 on a free port), started with
    torch.multiprocessing. Without `save_at`: `run_distributed` (fit, then rank 0 writes
    `<out>/model.pt`). With `save_at`: `max(save_at)` steps, every rank writing its full trainer
    state after each step in `save_at` to `<out>/rank<r>_step<n>.pt` (tests).
    For tests and small CPU runs; use torchrun for real runs."""
    import torch.multiprocessing as mp

    port = free_port()
    mp.spawn(_spawn_worker, args=(world_size, port, cfg.to_dict(), str(out), data, max_steps, threads, tuple(save_at)),
             nprocs=world_size, join=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
