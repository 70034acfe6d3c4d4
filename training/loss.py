"""The RUDOLPH training loss: weighted cross-entropy over left text, image and right text.

Logits at position ``t`` predict token ``t + 1``. Labels are the input ids with every left-text pad
(0 at left position ``i``) replaced by its pad-position id ``V_text - l + i``, exactly as the model
embeds it, so the left-text loss also teaches where the text ends. Text parts are scored on the
text columns ``[0, V_text)`` of the head, the image part on the image columns
``[V_text, V_text + V_img)`` (an image label ``k`` is column ``V_text + k``). Right-text pads (0)
are ignored; the first right token (always bos) is not predicted.

Two layouts differ only at the left/image border (``LOSS_LAYOUTS``):

- ``rudolph`` (default): the last left position predicts the first image token on the *image*
  columns; the left loss averages ``l - 1`` predictions, the image loss ``m*m``.
- ``fbc2-reference``: the slicing of the organisers' ``ruDolphModel.forward(return_loss=True)``
  (ai-forever/fbc2_aij2022): the left loss runs over all ``l`` positions, so its last position is
  asked for the first *image* id as if it were a text id (on the text columns), and the image loss
  covers only the ``m*m - 1`` predictions from image positions. Kept for exact comparisons.

A sample's task loss is ``sum(w_p * CE_p) / sum(w_p)`` over the parts it has (ImageGeneration has
no right text); each part's CE is the mean over all tokens of that task's samples in the batch (the
organisers ran one sub-batch per task); the batch loss is ``sum(task_weight * task_loss)`` over the
tasks present.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from solution.rudolph import RudolphConfig

from .tasks import TASK_TRAINING, TaskTraining

# layout name -> how many left positions predict left-text labels, given l.
LOSS_LAYOUTS = {
    "rudolph": lambda l: l - 1,
    "fbc2-reference": lambda l: l,
}


def part_ranges(config: RudolphConfig, layout: str = "rudolph") -> dict[str, tuple[int, int]]:
    """Logit positions ``[start, end)`` of each part; the label of position ``t`` is token ``t + 1``."""
    if layout not in LOSS_LAYOUTS:
        raise ValueError(f"unknown loss layout {layout!r}; known: {sorted(LOSS_LAYOUTS)}")
    image_start, right_start = config.parts["image"][0], config.parts["right"][0]
    left_end = LOSS_LAYOUTS[layout](image_start)
    return {"left": (0, left_end), "image": (left_end, right_start - 1), "right": (right_start, config.seq_length - 1)}


def label_ids(input_ids: torch.Tensor, config: RudolphConfig) -> torch.Tensor:
    """``input_ids`` with left-text pads replaced by their pad-position ids ``V_text - l + i``."""
    l = config.l_text_seq_length
    pad_ids = config.pad_position_ids(torch.arange(l, device=input_ids.device))
    left = torch.where(input_ids[:, :l] == 0, pad_ids, input_ids[:, :l])
    return torch.cat([left, input_ids[:, l:]], dim=1)


@dataclass
class LossOutput:
    loss: torch.Tensor  # the weighted batch loss (with grad)
    task_losses: dict[str, float] = field(default_factory=dict)  # per task: its weighted part mean
    part_losses: dict[str, dict[str, float]] = field(default_factory=dict)  # task -> part -> mean CE
    task_counts: dict[str, int] = field(default_factory=dict)  # samples per task in the batch
    right_correct: int = 0  # right-text tokens predicted exactly (teacher forcing), non-pad
    right_total: int = 0


def rudolph_loss(logits: torch.Tensor, input_ids: torch.Tensor, tasks: list[str], config: RudolphConfig,
                 registry: dict[str, TaskTraining] | None = None, layout: str = "rudolph") -> LossOutput:
    """Loss of a batch of full sequences ``input_ids (b, S)`` with ``logits (b, S, V_text + V_img)``;
    ``tasks[j]`` names sample j's task (a key of ``registry``, default ``TASK_TRAINING``)."""
    registry = TASK_TRAINING if registry is None else registry
    b, s = input_ids.shape
    if s != config.seq_length or logits.shape[:2] != (b, s):
        raise ValueError(f"expected full sequences of {config.seq_length} tokens and matching logits, got ids "
                         f"{tuple(input_ids.shape)} and logits {tuple(logits.shape)}")
    if len(tasks) != b:
        raise ValueError(f"{len(tasks)} task names for a batch of {b}")
    vt, vi = config.text_vocab, config.image_vocab
    columns = {"left": (0, vt), "image": (vt, vt + vi), "right": (0, vt)}
    targets = label_ids(input_ids, config)[:, 1:]

    sums, counts = {}, {}  # part -> (b,) per-sample CE sums and token counts
    right_hits = None
    for part, (start, end) in part_ranges(config, layout).items():
        lo, hi = columns[part]
        part_logits = logits[:, start:end, lo:hi].float()
        labels = targets[:, start:end]
        ce = F.cross_entropy(part_logits.transpose(1, 2), labels, reduction="none", ignore_index=-100)
        keep = labels != 0 if part == "right" else torch.ones_like(labels, dtype=torch.bool)
        sums[part] = (ce * keep).sum(dim=1)
        counts[part] = keep.sum(dim=1)
        if part == "right":
            right_hits = ((part_logits.argmax(dim=-1) == labels) & keep).sum(dim=1)

    out = LossOutput(loss=logits.new_zeros((), dtype=torch.float32))
    for name in dict.fromkeys(tasks):
        spec = registry[name]
        rows = torch.tensor([t == name for t in tasks], device=input_ids.device)
        weights = {"left": spec.weights.left, "image": spec.weights.image, "right": spec.weights.right}
        if not spec.has_right_text:
            del weights["right"]
        task_loss, total_weight, parts = 0.0, 0.0, {}
        for part, w in weights.items():
            mean = sums[part][rows].sum() / counts[part][rows].sum().clamp(min=1)
            parts[part] = float(mean.detach())
            if w:
                task_loss = task_loss + w * mean
                total_weight += w
        task_loss = task_loss / total_weight
        out.loss = out.loss + spec.task_weight * task_loss
        out.task_losses[name] = float(task_loss.detach())
        out.part_losses[name] = parts
        out.task_counts[name] = int(rows.sum())
        if spec.has_right_text:
            out.right_correct += int(right_hits[rows].sum())
            out.right_total += int(counts["right"][rows].sum())
    return out
