"""A quantizer's parameters, declared once: what it learns, what calibration sets, nothing else.

A quantizer pair declares its parameters as a ``ParameterSpec`` of ``QuantizerParameter``
entries, and every part of the runtime reads that one declaration:

- the trainable base class creates exactly those variables in ``initialize_quantization``
  (learned ones trainable, fixed ones not) with their initial values;
- the inferable side takes exactly those names as constructor arguments
  (``ParameterSpec.check_values``) and returns them from ``get_config`` as lists of floats,
  so saving and loading follow;
- the quantizer contract tests check all of it against the declaration.

So adding, removing or changing a parameter is one edit of the declaration (plus the math that
uses it). An empty ``ParameterSpec()`` declares a parameter-free quantizer.

**Kinds.** ``FIXED``: a non-trainable variable, set from its initial value and changed only by
calibration (or an explicit assignment). ``LEARNED``: a trainable variable that the optimizer
updates.

**Initial values.** A number, or the name of a calibrated statistic of the quantized tensor:
``threshold`` (max |x|), ``range_min`` (min x) or ``range_max`` (max x). They are read from
the node config, which ``qat_init`` fills from the weights and the representative data; the
config of every grid gives all three (a symmetric config's ``threshold`` t gives the range
[-t, t], or [0, t] for unsigned activations; a uniform config's range [a, b] gives the threshold
max(|a|, |b|)). The quantizer's ``calibrate`` hook may replace any of them once the weights
are in place.

**Channel layout.** ``per_channel=True`` (the default): one value per channel when the
quantizer's config is per channel (weights along ``weights_channels_axis``), one value
otherwise; activation configs are always per tensor. ``per_channel=False``: one value for the
whole tensor; from a per-channel statistic it takes the value that covers every channel (the
largest threshold or range_max, the smallest range_min).

Framework-free: plain Python values, no numpy, no TensorFlow.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from . import validation
from .constants import QuantizationMethod

__all__ = [
    "RESERVED_NAMES",
    "STATISTICS",
    "ParameterKind",
    "ParameterSpec",
    "QuantizerParameter",
    "calibrated_statistics",
]

# the calibrated statistics of a tensor that any node config carries (see calibrated_statistics)
STATISTICS = ("threshold", "range_min", "range_max")

# constructor arguments of the generated inferable quantizers and the trainable base: a
# parameter cannot take one of these names
RESERVED_NAMES = frozenset(
    {"quantization_config", "quantization_method", "num_bits", "channel_axis", "signed"}
)


class ParameterKind(str, Enum):
    """How a parameter changes: fixed (set by calibration) or learned (by the optimizer)."""

    FIXED = "fixed"
    LEARNED = "learned"


@dataclass(frozen=True)
class QuantizerParameter:
    """One declared parameter: its name, kind, initial value, channel layout and grids.

    ``initial`` is a number or one of ``STATISTICS``; it defaults to the statistic the
    parameter is named after. ``methods`` limits the parameter to some quantization methods
    (a pair that implements several grids); None means every method of the pair.
    """

    name: str
    kind: ParameterKind | str = ParameterKind.FIXED
    initial: float | str | None = None
    per_channel: bool = True
    methods: tuple[QuantizationMethod, ...] | None = None

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"a parameter name must be a Python identifier, got {name!r}")
        if name.startswith("_") or name in RESERVED_NAMES:
            raise ValueError(
                f"parameter name {name!r} is reserved (names starting with '_' and "
                f"{', '.join(sorted(RESERVED_NAMES))}): choose another"
            )
        try:
            kind = ParameterKind(self.kind)
        except ValueError:
            raise ValueError(
                f"parameter {name!r}: kind must be 'fixed' or 'learned', got {self.kind!r}"
            ) from None
        initial = self.initial
        if initial is None:
            if name not in STATISTICS:
                raise ValueError(
                    f"parameter {name!r} needs an initial value: a number or a calibrated "
                    f"statistic ({', '.join(STATISTICS)})"
                )
            initial = name
        elif isinstance(initial, str):
            if initial not in STATISTICS:
                raise ValueError(
                    f"parameter {name!r}: initial must be a number or one of "
                    f"{', '.join(STATISTICS)}, got {initial!r}"
                )
        else:
            initial = validation.finite_float(initial, f"parameter {name!r}: initial")
        methods = self.methods
        if methods is not None:
            methods = tuple(QuantizationMethod(m) for m in methods)
            if not methods:
                raise ValueError(f"parameter {name!r}: methods must not be empty (None: all)")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "initial", initial)
        object.__setattr__(
            self, "per_channel", validation.boolean(self.per_channel, f"{name}: per_channel")
        )
        object.__setattr__(self, "methods", methods)

    @property
    def trainable(self) -> bool:
        """Whether the optimizer updates it (a learned parameter)."""
        return self.kind is ParameterKind.LEARNED

    @property
    def calibrated(self) -> bool:
        """Whether its initial value is a calibrated statistic (not a constant)."""
        return isinstance(self.initial, str)

    def applies_to(self, method: QuantizationMethod) -> bool:
        return self.methods is None or QuantizationMethod(method) in self.methods


class ParameterSpec:
    """The declared parameters of a quantizer, in order; empty for a parameter-free one."""

    def __init__(self, *parameters: QuantizerParameter) -> None:
        seen: set[str] = set()
        for parameter in parameters:
            if not isinstance(parameter, QuantizerParameter):
                raise TypeError(
                    f"ParameterSpec takes QuantizerParameter entries, got {parameter!r}"
                )
            if parameter.name in seen:
                raise ValueError(f"parameter {parameter.name!r} is declared twice")
            seen.add(parameter.name)
        self.parameters: tuple[QuantizerParameter, ...] = tuple(parameters)

    def __iter__(self) -> Iterator[QuantizerParameter]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterSpec) and self.parameters == other.parameters

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ParameterSpec({', '.join(repr(p) for p in self.parameters)})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def for_method(self, method: QuantizationMethod) -> ParameterSpec:
        """The parameters that apply to ``method``."""
        return ParameterSpec(*(p for p in self.parameters if p.applies_to(method)))

    def initial_values(self, config: Any) -> dict[str, list[float]]:
        """Each parameter's initial value(s) from ``config`` (a node config) as lists of floats.

        A calibrated parameter gets the statistic's values (one per channel for a per-channel
        config, reduced to the covering value for a ``per_channel=False`` parameter).
        """
        statistics = calibrated_statistics(config) if any(p.calibrated for p in self) else {}
        values: dict[str, list[float]] = {}
        for parameter in self.parameters:
            if not parameter.calibrated:
                values[parameter.name] = [float(parameter.initial)]  # type: ignore[arg-type]
                continue
            found = statistics[parameter.initial]  # type: ignore[index]
            if not parameter.per_channel and len(found) > 1:
                found = [min(found) if parameter.initial == "range_min" else max(found)]
            values[parameter.name] = list(found)
        return values

    def check_values(
        self, given: Mapping[str, Any], owner: str, per_channel: bool
    ) -> dict[str, list[float]]:
        """Exactly the declared parameters, each as a non-empty list of finite floats.

        What an inferable quantizer's constructor calls on its parameter arguments. With
        ``per_channel`` False (no channel axis) every parameter holds one value; with it, the
        per-channel parameters hold one value per channel (the same count for all of them)
        and the others one value.
        """
        unknown = sorted(set(given) - set(self.names))
        if unknown:
            declared = ", ".join(self.names) or "none (a parameter-free quantizer)"
            raise ValueError(
                f"{owner}: unexpected parameter(s) {', '.join(unknown)}; it declares: {declared}"
            )
        missing = [name for name in self.names if given.get(name) is None]
        if missing:
            raise ValueError(f"{owner}: missing parameter(s) {', '.join(missing)}")
        values = {p.name: validation.float_list(given[p.name], f"{owner}: {p.name}") for p in self}
        counts = {len(values[p.name]) for p in self if p.per_channel}
        for parameter in self.parameters:
            count = len(values[parameter.name])
            if (not per_channel or not parameter.per_channel) and count != 1:
                where = "per-tensor parameter" if per_channel else "quantizer without channel_axis"
                raise ValueError(
                    f"{owner}: {parameter.name} has {count} values; a {where} takes one value"
                )
        if len(counts) > 1:
            raise ValueError(
                f"{owner}: per-channel parameters disagree on the channel count: "
                + ", ".join(f"{p.name} has {len(values[p.name])}" for p in self if p.per_channel)
            )
        return values


def calibrated_statistics(config: Any) -> dict[str, list[float]]:
    """``threshold``, ``range_min`` and ``range_max`` of a node config, as lists of floats.

    One value per channel for a per-channel weights config, one value otherwise. A symmetric
    or power-of-two config's threshold t gives the range [-t, t] (weights, signed activations)
    or [0, t] (unsigned activations); a uniform config's range [a, b] gives max(|a|, |b|).
    """
    if hasattr(config, "weights_quantization_method"):
        method = config.weights_quantization_method
        params = config.weights_quantization_params
        signed = True
    else:
        method = config.activation_quantization_method
        params = config.activation_quantization_params
        signed = bool(params.get("is_signed", True))
    if QuantizationMethod(method) is QuantizationMethod.UNIFORM:
        lows, _ = validation.as_items(params["range_min"])
        highs, _ = validation.as_items(params["range_max"])
        lows, highs = [float(v) for v in lows], [float(v) for v in highs]
        return {
            "threshold": [max(abs(a), abs(b)) for a, b in zip(lows, highs, strict=True)],
            "range_min": lows,
            "range_max": highs,
        }
    thresholds = [float(v) for v in validation.as_items(params["threshold"])[0]]
    return {
        "threshold": thresholds,
        "range_min": [-t if signed else 0.0 for t in thresholds],
        "range_max": list(thresholds),
    }


def spread_over_channels(
    values: Sequence[float], channels: int | None, owner: str, name: str
) -> tuple[list[float], tuple[int, ...]]:
    """``values`` laid out for a variable: ``channels`` values (shape ``(C,)``) or one (``()``).

    One value is repeated over every channel; otherwise the count must match.
    """
    values = list(values)
    if channels is None:
        if len(values) != 1:
            raise ValueError(
                f"{owner}: {name} has {len(values)} values but the quantizer is per tensor: "
                "give one value, or a per-channel config"
            )
        return values, ()
    if len(values) == 1:
        return values * channels, (channels,)
    if len(values) != channels:
        raise ValueError(
            f"{owner}: {name} has {len(values)} values but the tensor has {channels} channels: "
            "give one value per channel"
        )
    return values, (channels,)
