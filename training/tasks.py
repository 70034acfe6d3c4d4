"""How each FBC2 task becomes a training sequence: special tokens, image source, loss weights.

One registry entry per open task of ``fbc2_tasks.OPEN_TASKS`` (same names, same order). The values follow the
organisers' FBC2 fine-tuning of RUDOLPH (ai-forever/fbc2_aij2022: ``src/train/dataloader.py``,
``config/fusion_train.yaml``; spec ``rudolph.md`` section 8):

- left text = all text items joined with spaces, special token ``lt_token`` (or ``<LT_UNK>``);
- image block = the VQGAN codes of the input's (last) image (``input``), of the ground-truth image
  (``gold``, ImageGeneration), or all zeros for text-only tasks (``none``);
- right text = the first (canonical) gold answer with ``rt_token`` (or ``<RT_UNK>``).
  ImageGeneration has no right text (``rt_token`` None): the organisers trained it on
  ``[left | image]`` only, so its right-text weight 0.01 of their config never takes effect;
- loss = (left * CE_left + image * CE_image + right * CE_right) / (sum of the weights of the parts
  present), and the batch loss sums ``task_weight * loss`` over the tasks in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

LT_UNK, RT_UNK = "<LT_UNK>", "<RT_UNK>"
TASK_TOKEN_PROBABILITY = 0.75  # otherwise the UNK tokens: at inference the task is unknown


@dataclass(frozen=True)
class PartWeights:
    left: float
    image: float
    right: float


TEXT_WEIGHTS = PartWeights(left=1.0, image=0.01, right=7.0)  # TextQA, MathQA
GENERATION_WEIGHTS = PartWeights(left=1.0, image=7.0, right=0.01)  # ImageGeneration
IMAGE_TO_TEXT_WEIGHTS = PartWeights(left=1.0, image=1.0, right=7.0)  # captioning, VQA, TRitW


@dataclass(frozen=True)
class TaskTraining:
    name: str
    lt_token: str
    rt_token: str | None  # None: the task has no right text
    image_source: str  # where the image block comes from: "input", "gold" or "none" (training/data.py)
    weights: PartWeights
    task_weight: float = 0.5

    @property
    def has_right_text(self) -> bool:
        return self.rt_token is not None


TASK_TRAINING: dict[str, TaskTraining] = {
    t.name: t
    for t in [
        TaskTraining("TextQA", "<LT_TQA>", "<RT_TQA>", "none", TEXT_WEIGHTS),
        TaskTraining("MathQA", "<LT_MQA>", "<RT_MQA>", "none", TEXT_WEIGHTS),
        TaskTraining("ImageGeneration", "<LT_GEN>", None, "gold", GENERATION_WEIGHTS),
        TaskTraining("ImageCaptioning", "<LT_CAP>", "<RT_CAP>", "input", IMAGE_TO_TEXT_WEIGHTS),
        TaskTraining("VisualQA", "<LT_VQA>", "<RT_VQA>", "input", IMAGE_TO_TEXT_WEIGHTS),
        TaskTraining("TRitW", "<LT_REC>", "<RT_REC>", "input", IMAGE_TO_TEXT_WEIGHTS),
    ]
}


def task_training(name: str) -> TaskTraining:
    try:
        return TASK_TRAINING[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASK_TRAINING)}") from None


def with_task_weights(overrides: dict[str, float], registry: dict[str, TaskTraining] | None = None
                      ) -> dict[str, TaskTraining]:
    """A copy of the registry with some tasks' ``task_weight`` replaced (``--task-weight NAME=W``)."""
    registry = dict(TASK_TRAINING if registry is None else registry)
    for name, weight in overrides.items():
        registry[name] = replace(task_training(name) if name not in registry else registry[name], task_weight=weight)
    return registry
