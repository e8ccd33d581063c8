"""``--param``: the parameters a scaffolded quantizer declares, and their role in its first math.

Grammar (the option repeats, one parameter each)::

    --param none                              no parameters (a parameter-free quantizer)
    --param NAME=KIND[:INIT][:LAYOUT]         one parameter

- ``KIND``: ``fixed`` (a non-trainable variable set by calibration) or ``learned`` (a trainable
  variable);
- ``INIT``: its starting value, a number or a calibrated statistic of the tensor:
  ``threshold`` (max |x|), ``range_min`` or ``range_max``; default: the statistic NAME names,
  else ``threshold``;
- ``LAYOUT``: ``per-channel`` (the default: one value per output channel when the weights are
  quantized per channel) or ``per-tensor`` (always one value); activations are per tensor.

Without ``--param`` a quantizer declares its grids' own fixed, calibrated parameters:
``threshold`` (symmetric, power-of-two) and ``range_min``, ``range_max`` (uniform). The
manifest records the declarations a target was scaffolded with; a later run without
``--param`` (``--force``, ``--check``) renders with the recorded ones.

The generated quantizer starts as a working straight-through estimator on its grid, so each
declared parameter plays one of the grid's values in that first math: the value of its name,
else the statistic it starts from, else the next free one (threshold; range_max, then
range_min). A grid value no parameter plays is a constant (threshold 1.0, range [-1.0, 1.0]).
A parameter left without a role is refused: the tests of the generated code check that every
learned parameter gets a gradient.

Framework-free: the runtime's ``QuantizerParameter`` validates names, no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..quantizers_infrastructure.common.parameters import STATISTICS, QuantizerParameter
from .errors import UsageError

KINDS = ("fixed", "learned")
LAYOUTS = {"per-channel": True, "per_channel": True, "per-tensor": False, "per_tensor": False}
# the values of each grid, in the order a parameter without another claim takes them
GRID_VALUES = {
    "symmetric": ("threshold",),
    "power_of_two": ("threshold",),
    "uniform": ("range_max", "range_min"),
}
CONSTANTS = {"threshold": 1.0, "range_min": -1.0, "range_max": 1.0}
EXAMPLES = "e.g. --param alpha=learned:threshold, --param step=learned:0.1:per-tensor"


@dataclass(frozen=True)
class DeclaredParameter:
    """One ``--param``, validated: what the templates write into ``PARAMETERS``."""

    name: str
    kind: str
    initial: str  # a statistic name, or a float as Python source ("6.0")
    per_channel: bool = True
    methods: tuple[str, ...] = ()  # the grids it applies to; empty: all of the quantizer's

    def spec(self) -> str:
        """The canonical ``--param`` value that declares this parameter."""
        layout = "" if self.per_channel else ":per-tensor"
        return f"{self.name}={self.kind}:{self.initial}{layout}"

    def to_context(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "initial": self.initial,
            "per_channel": self.per_channel,
            "methods": list(self.methods),
        }


def _reject(text: str, reason: str) -> UsageError:
    return UsageError(f"invalid --param {text!r}: {reason}")


def parse_parameter(text: str, weights: bool) -> DeclaredParameter:
    """One ``NAME=KIND[:INIT][:LAYOUT]`` declaration."""
    if not isinstance(text, str) or "=" not in text:
        raise _reject(text, f"write NAME=KIND[:INIT][:LAYOUT] or none, {EXAMPLES}")
    name, _, rest = text.partition("=")
    name = name.strip()
    tokens = [token.strip() for token in rest.split(":")]
    kind = tokens[0].lower()
    if kind not in KINDS:
        raise _reject(text, f"the kind must be fixed or learned, got {tokens[0]!r}")
    initial: str | None = None
    per_channel = True
    for token in tokens[1:]:
        lowered = token.lower()
        if lowered in LAYOUTS:
            per_channel = LAYOUTS[lowered]
            if per_channel and not weights:
                raise _reject(text, "activations are quantized per tensor: drop per-channel")
        elif lowered in STATISTICS:
            initial = lowered
        else:
            try:
                number = float(token)
            except ValueError:
                raise _reject(
                    text,
                    f"{token!r} is neither a number, a statistic ({', '.join(STATISTICS)}) "
                    "nor a layout (per-channel, per-tensor)",
                ) from None
            if not math.isfinite(number):
                raise _reject(text, f"the initial value must be finite, got {token!r}")
            initial = repr(number)
    if initial is None:
        initial = name if name in STATISTICS else "threshold"
    try:
        QuantizerParameter(
            name,
            kind,
            initial if initial in STATISTICS else float(initial),
            per_channel,
        )
    except ValueError as error:
        raise _reject(text, str(error)) from None
    return DeclaredParameter(name, kind, initial, per_channel)


def declared_parameters(
    values: Sequence[str], methods: Sequence[str], weights: bool
) -> list[DeclaredParameter]:
    """The parameters a run declares: parsed ``--param`` values, or the grids' own."""
    texts = [v.strip() for v in values]
    if not texts:
        return _grid_parameters(methods)
    if "none" in [t.lower() for t in texts]:
        if len(texts) > 1:
            raise UsageError("--param none declares no parameters: give it alone")
        return []
    parameters = [parse_parameter(text, weights) for text in texts]
    names = [p.name for p in parameters]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"--param {name} is given twice: declare each parameter once")
    return parameters


def recorded_specs(given: Sequence[str], declared: Sequence[DeclaredParameter]) -> list[str] | None:
    """What the manifest records of a run's ``--param`` values, to render the same again: their
    canonical spelling (``none`` for a parameter-free quantizer); None without ``--param``."""
    if not given:
        return None
    return [p.spec() for p in declared] or ["none"]


def _grid_parameters(methods: Sequence[str]) -> list[DeclaredParameter]:
    """Today's default: each grid's calibrated values, fixed (limited to its grids if mixed)."""
    threshold_grids = tuple(m for m in methods if m != "uniform")
    uniform = ("uniform",) if "uniform" in methods else ()
    mixed = bool(threshold_grids and uniform)
    parameters = []
    if threshold_grids:
        only = threshold_grids if mixed else ()
        parameters.append(DeclaredParameter("threshold", "fixed", "threshold", True, only))
    for name in ("range_min", "range_max") if uniform else ():
        parameters.append(DeclaredParameter(name, "fixed", name, True, uniform if mixed else ()))
    return parameters


def roles(parameters: Sequence[DeclaredParameter], methods: Sequence[str]) -> list[dict]:
    """For each grid, which declared parameter plays each of its values (None: a constant)."""
    result = []
    for method in methods:
        values = GRID_VALUES[method]
        applicable = [p for p in parameters if not p.methods or method in p.methods]
        bound: dict[str, str] = {}
        for claims in (
            lambda p, value: p.name == value,
            lambda p, value: p.initial == value,
            lambda p, value: True,
        ):
            for parameter in applicable:
                if parameter.name in bound.values():
                    continue
                for value in values:
                    if value not in bound and claims(parameter, value):
                        bound[value] = parameter.name
                        break
        left = [p.name for p in applicable if p.name not in bound.values()]
        if left:
            raise UsageError(
                f"--param {left[0]}: the generated {method} math has no value left for it "
                f"(the {method} grid takes {', '.join(sorted(values))}); scaffold with those, "
                "then add more parameters to PARAMETERS and your math"
            )
        result.append({"method": method, **{value: bound.get(value) for value in values}})
    return result
