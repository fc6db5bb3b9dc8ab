"""Speaker-balanced batch sampler: each batch holds P speakers x M utterances.

The batch list of an epoch is a pure function of (seed, epoch), so a run resumed at
(epoch, batch) sees exactly the batches an uninterrupted run would. Under DDP, rank r takes
batches r, r + world, r + 2*world... of the same global list.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


class SpeakerBalancedSampler:
    """Yields batches of ``(utterance_index, crop_seed)`` pairs.

    Args:
        labels: speaker label of each utterance.
        spk_per_batch: P, distinct speakers per batch.
        utts_per_spk: M, utterances drawn per speaker (repeats allowed for small speakers).
        seed: base seed; epoch ``e`` uses ``numpy.random.default_rng([seed, e])``.
        num_batches: global batches per epoch (default: one pass worth, ``len(labels) // (P*M)``),
            rounded down to a multiple of ``world_size`` (at least ``world_size``) so that every rank
            runs the same number of steps (DDP would hang otherwise), like ``drop_last``.
        rank, world_size: DDP shard: rank r gets global batches r, r + world_size, ...; step k of the
            run trains on global batches ``k*world_size ... k*world_size + world_size - 1``.
    """

    def __init__(self, labels: Sequence[int], spk_per_batch: int, utts_per_spk: int, seed: int = 0,
                 num_batches: int | None = None, rank: int = 0, world_size: int = 1) -> None:
        self.labels = np.asarray(labels)
        self.speakers = np.unique(self.labels)
        if spk_per_batch > len(self.speakers):
            raise ValueError(f"spk_per_batch={spk_per_batch} exceeds the {len(self.speakers)} speakers in the data")
        self.by_speaker = {int(s): np.flatnonzero(self.labels == s) for s in self.speakers}
        self.P, self.M, self.seed = spk_per_batch, utts_per_spk, seed
        total = num_batches or max(1, len(self.labels) // (spk_per_batch * utts_per_spk))
        self.num_global_batches = max(world_size, total - total % world_size)
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch and the first local batch to yield (for mid-epoch resume)."""
        self.epoch, self.start_batch = epoch, start_batch

    def __len__(self) -> int:
        """Local batches per epoch."""
        return self.num_global_batches // self.world_size

    def epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        """The global batch list of ``epoch``."""
        rng = np.random.default_rng([self.seed, epoch])
        queues = {s: rng.permutation(idx).tolist() for s, idx in self.by_speaker.items()}
        cursor = {s: 0 for s in queues}
        speaker_order: list[int] = []
        batches = []
        for _ in range(self.num_global_batches):
            chosen: list[int] = []
            while len(chosen) < self.P:
                if not speaker_order:
                    speaker_order = rng.permutation(self.speakers).tolist()
                s = speaker_order.pop()
                if s not in chosen:
                    chosen.append(s)
            batch = []
            for s in chosen:
                q = queues[s]
                for _ in range(self.M):
                    batch.append(q[cursor[s] % len(q)])
                    cursor[s] += 1
            crop_seeds = rng.integers(0, 2**31 - 1, size=len(batch))
            batches.append([(int(i), int(c)) for i, c in zip(batch, crop_seeds)])
        return batches

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        local = self.epoch_batches(self.epoch)[self.rank::self.world_size]
        yield from local[self.start_batch:]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "start_batch": self.start_batch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.set_epoch(int(state["epoch"]), int(state["start_batch"]))
