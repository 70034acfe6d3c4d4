"""The FBC2 task registry, kept in a data file (`evaluator/tasks.json` by default).

Each task: id (the value in sample_ids.json), name, kind ("open" or "hidden"), output type
("text" or "image"), metric (a name from `evaluator.metrics.task_metrics.TASK_METRICS`, or null for a
hidden slot whose metric is not set yet), threshold (prize threshold or null), baseline score,
and whether the non-official pycocoevalcap extras are computed for it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from evaluator.errors import InputError
from evaluator.metrics.task_metrics import METRIC_OUTPUT, TASK_METRICS

DEFAULT_REGISTRY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks.json")
KINDS = ("open", "hidden")
# The integral score's weights and the nomination's baseline when a registry file does not set them
# (the packaged tasks.json sets the same values): S = sum(open) / 15 + sum(hidden) / 10.
OPEN_DIVISOR = 15
HIDDEN_DIVISOR = 10
BASELINE_INTEGRAL = 0.24


@dataclass(frozen=True)
class Task:
    id: int
    name: str
    kind: str
    output: str | None
    metric: str | None
    threshold: float | None = None
    baseline: float | None = None
    extras: bool = False


@dataclass(frozen=True)
class Registry:
    tasks: tuple[Task, ...]
    open_divisor: float = OPEN_DIVISOR
    hidden_divisor: float = HIDDEN_DIVISOR
    baseline_integral: float = BASELINE_INTEGRAL

    def by_id(self) -> dict[int, Task]:
        return {task.id: task for task in self.tasks}

    def weight(self, task: Task) -> float:
        """The task's weight in the integral score: 1/open_divisor for open tasks, 1/hidden_divisor for hidden ones."""
        return 1.0 / (self.open_divisor if task.kind == "open" else self.hidden_divisor)

    def to_json(self) -> dict:
        return {
            "open_divisor": self.open_divisor,
            "hidden_divisor": self.hidden_divisor,
            "baseline_integral": self.baseline_integral,
            "tasks": [asdict(task) for task in self.tasks],
        }


def _task_from_json(raw: dict, where: str) -> Task:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each task must be an object, found {raw!r}")
    unknown = set(raw) - {"id", "name", "kind", "output", "metric", "threshold", "baseline", "extras"}
    if unknown:
        raise InputError(f"{where}: task {raw.get('name')!r} has unknown fields {sorted(unknown)}")
    for field in ("id", "name", "kind"):
        if field not in raw:
            raise InputError(f"{where}: a task lacks {field!r}: {raw!r}")
    if not isinstance(raw["id"], int) or isinstance(raw["id"], bool):
        raise InputError(f"{where}: task id must be an integer: {raw!r}")
    if raw["kind"] not in KINDS:
        raise InputError(f"{where}: task {raw['name']!r} has kind {raw['kind']!r}, expected one of {KINDS}")
    metric = raw.get("metric")
    output = raw.get("output")
    if metric is not None:
        if metric not in METRIC_OUTPUT:
            raise InputError(f"{where}: task {raw['name']!r} has unknown metric {metric!r}; "
                             f"known: {', '.join(sorted(METRIC_OUTPUT))}")
        if output is None:
            output = METRIC_OUTPUT[metric]
        elif output != METRIC_OUTPUT[metric]:
            raise InputError(f"{where}: task {raw['name']!r}: metric {metric!r} scores {METRIC_OUTPUT[metric]!r} "
                             f"outputs, but output is {output!r}")
    elif output not in (None, "text", "image"):
        raise InputError(f"{where}: task {raw['name']!r} has output {output!r}, expected 'text' or 'image'")
    for field in ("threshold", "baseline"):
        value = raw.get(field)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise InputError(f"{where}: task {raw['name']!r}: {field} must be a number or null")
    return Task(id=raw["id"], name=str(raw["name"]), kind=raw["kind"], output=output, metric=metric,
                threshold=raw.get("threshold"), baseline=raw.get("baseline"), extras=bool(raw.get("extras", False)))


def load_registry(path: str | None = None) -> Registry:
    """Load and validate a registry file (the packaged default when `path` is None)."""
    where = path or DEFAULT_REGISTRY
    try:
        with open(where, encoding="utf-8") as handle:
            raw = json.load(handle)
    except FileNotFoundError:
        raise InputError(f"tasks file not found: {where}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"tasks file is not valid JSON: {where} ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), list):
        raise InputError(f"tasks file {where} must be an object with a 'tasks' list")
    tasks = tuple(_task_from_json(item, where) for item in raw["tasks"])
    ids = [t.id for t in tasks]
    names = [t.name for t in tasks]
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        raise InputError(f"tasks file {where}: task ids and names must be unique")
    return Registry(
        tasks=tasks,
        open_divisor=raw.get("open_divisor", OPEN_DIVISOR),
        hidden_divisor=raw.get("hidden_divisor", HIDDEN_DIVISOR),
        baseline_integral=raw.get("baseline_integral", BASELINE_INTEGRAL),
    )


def with_hidden_metrics(registry: Registry, assignments: dict[str, str]) -> Registry:
    """A copy of `registry` with metrics set on tasks by name, e.g. {"Hidden1": "vqa_meteor"}."""
    by_name = {t.name: t for t in registry.tasks}
    tasks = list(registry.tasks)
    for name, metric in assignments.items():
        if name not in by_name:
            raise InputError(f"no task named {name!r} in the registry")
        if metric not in METRIC_OUTPUT:
            raise InputError(f"unknown metric {metric!r} for {name}; known: {', '.join(sorted(METRIC_OUTPUT))}")
        old = by_name[name]
        if old.kind != "hidden":
            raise InputError(f"{name} is an open task: its official metric {old.metric!r} cannot be changed "
                             "(--hidden-metric sets the metric of a hidden slot, Hidden1..Hidden6)")
        new = Task(old.id, old.name, old.kind, METRIC_OUTPUT[metric], metric, old.threshold, old.baseline,
                   old.extras or TASK_METRICS[metric].extras_by_default)
        tasks[tasks.index(old)] = new
    return Registry(tuple(tasks), registry.open_divisor, registry.hidden_divisor, registry.baseline_integral)
