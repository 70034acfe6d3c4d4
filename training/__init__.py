"""Fine-tuning RUDOLPH on FBC2 data: task registry, loss, data pipeline, DeepSpeed trainer, eco2AI."""

from .data import Example, ImageCodeCache, build_examples, choose_special, encode_example, make_batch
from .loss import LOSS_LAYOUTS, LossOutput, label_ids, part_ranges, rudolph_loss
from .tasks import TASK_TRAINING, PartWeights, TaskTraining, task_training, with_task_weights

__all__ = [
    "LOSS_LAYOUTS", "TASK_TRAINING", "Example", "ImageCodeCache", "LossOutput", "PartWeights", "TaskTraining",
    "build_examples", "choose_special", "encode_example", "label_ids", "make_batch", "part_ranges", "rudolph_loss",
    "task_training", "with_task_weights",
]
