"""The QAT flow, written once for every back end: which layers to wrap, with what, and why.

``qat_init`` clones a model, wrapping every layer it knows how to quantize in the back end's
quantization wrapper, whose quantizers come from the back end's dispatcher and whose initial
parameters come from data: weight thresholds (or ranges) from the kernel, activation
thresholds, signedness and ranges from the outputs over the representative dataset. With
activations quantized, each float model input passes through an activation quantizer first
(``quant_<input>``, an ``Identity`` layer wrapped, as tfmot's ``QuantizeLayer`` does), so an
int8 model starts from a known grid. Once the clone holds the float weights, the calibration
step runs each trainable quantizer's ``calibrate`` hook (weights quantizers on their weight,
activation quantizers that override ``calibrate`` on the layer's representative outputs).
Layers it does not quantize are left as they are and listed in ``model.qat_report`` (and in a
log warning when they hold weights). ``qat_finalize`` replaces every trainable quantizer with
its ``convert2inferable()``.

What differs between Keras 2 and Keras 3 (the layer classes, reading a model's layer graph,
cloning, inserting the input quantizers, running the representative data) is behind
``QATBackEnd``; everything here is plain Python and numpy.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from quantizer_scaffold.quantizers_infrastructure.common import (
    BaseTrainableQuantizer,
    NodeActivationQuantizationConfig,
    NodeWeightsQuantizationConfig,
    QuantizationMethod,
    QuantizationTarget,
)
from quantizer_scaffold.quantizers_infrastructure.common.node_config import DEFAULT_MIN_THRESHOLD
from quantizer_scaffold.quantizers_infrastructure.common.representative_dataset import (
    RepresentativeDataset,
    input_batches,
)

from .qat_config import QATConfig

logger = logging.getLogger("quantizer_scaffold.qat")

Layer = Any
LayerCopier = Callable[[Layer], Layer]
Plan = dict[str, dict[str, int]]  # layer name -> weight attribute -> channel axis from the end


@dataclass(frozen=True)
class QATReport:
    """What ``qat_init`` did to each layer: wrapped, or left alone and why."""

    quantized: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)
    # the skipped layers a user most likely meant to quantize: they hold weights
    skipped_with_weights: tuple[str, ...] = ()
    quantized_inputs: tuple[str, ...] = ()
    # a layer split before wrapping -> the layers it became, each wrapped (QATBackEnd.split_layers)
    split: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"quantized {len(self.quantized)} layer(s): {', '.join(self.quantized)}"]
        if self.quantized_inputs:
            lines.append(f"quantized input(s): {', '.join(self.quantized_inputs)}")
        lines += [f"split {name} into {halves}" for name, halves in self.split.items()]
        lines += [f"left unquantized: {name} ({reason})" for name, reason in self.skipped.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class QATBackEnd:
    """What the flow needs from one Keras: its module, layer table, wrapper and model checks."""

    keras: Any  # tf_keras or keras: the module the model's classes come from
    # layer class -> {weight attribute: its output-channel axis}; matched by exact class, so a
    # user's subclass (which may change what the weight means) is reported, not guessed at
    quantized_weights: Mapping[type, Mapping[str, int]]
    wrapper_class: type
    # raise unless the model is a Functional or Sequential model of this Keras
    check_model: Callable[[Any], None]
    # every output tensor of a layer inside a model: one per call of a shared layer
    layer_outputs: Callable[[Any, Layer], list[Any]]
    # (training method, quantization method, target) -> trainable quantizer class
    trainable_quantizer_class: Callable[[Any, QuantizationMethod, QuantizationTarget], type]
    # (name, tensor, dtype name, whether it is float) of each model input
    inputs: Callable[[Any], list[tuple[str, Any, str, bool]]]
    # a copy of the model (same weights) with an Identity layer after each named input;
    # {identity layer name: input name}
    with_input_identities: Callable[[Any, dict[str, str]], Any]
    # a model computing the same with some layers split into ones TFLite quantizes between
    # (a new model, the same weights), and {split layer: what it became}
    split_layers: Callable[[Any], tuple[Any, dict[str, str]]] = lambda model: (model, {})

    def is_input_layer(self, layer: Layer) -> bool:
        return isinstance(layer, self.keras.layers.InputLayer)

    def is_model(self, layer: Layer) -> bool:
        return isinstance(layer, self.keras.Model)

    def weight_values(self, layer: Layer, attribute: str) -> np.ndarray:
        return np.asarray(layer.get_weights()[_weight_index(layer, attribute)])

    def probe_model(self, model: Any, outputs: list[Any]) -> Any:
        """A model from ``model``'s inputs to ``outputs`` (a single input as itself)."""
        inputs = model.inputs
        return self.keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs)

    def clone(self, model: Any, replace: Callable[[Layer, LayerCopier], Layer]) -> Any:
        """Clone ``model`` with ``replace(layer, copy_layer)`` standing in for each layer.

        ``copy_layer`` makes a fresh copy of a layer from its config; the original's weights
        are copied into every such copy once the clone is built.
        """
        pending: list[tuple[Layer, Layer]] = []

        def copy_layer(layer: Layer) -> Layer:
            fresh = layer.__class__.from_config(layer.get_config())
            pending.append((layer, fresh))
            return fresh

        clone = self.keras.models.clone_model(
            model, clone_function=lambda layer: replace(layer, copy_layer)
        )
        for source, fresh in pending:
            fresh.set_weights(source.get_weights())
        return clone


def _weight_index(layer: Layer, attribute: str) -> int:
    """The position of the variable ``layer.<attribute>`` in ``layer.weights``."""
    variable = getattr(layer, attribute)
    for i, weight in enumerate(layer.weights):
        if weight is variable:
            return i
    raise ValueError(f"{layer.name}.{attribute} is not one of the layer's weights")


def qat_init(
    back_end: QATBackEnd,
    model: Any,
    representative_dataset: RepresentativeDataset | None,
    qat_config: QATConfig | None,
    weights_n_bits: int,
    activation_n_bits: int,
    weights_method: QuantizationMethod | None,
    activation_method: QuantizationMethod | None,
    per_channel: bool,
    quantize_inputs: bool = True,
) -> Any:
    """``quantizer_scaffold.qat.qat_init`` on ``back_end`` (documented there)."""
    qat_config = qat_config or QATConfig()
    back_end.check_model(model)
    if weights_method is None and activation_method is None:
        raise ValueError("nothing to quantize: weights_method and activation_method are both None")
    if weights_method is not None:
        make_weights_quantizer, _ = quantizer_factory(
            back_end,
            qat_config.weight_training_method,
            weights_method,
            QuantizationTarget.Weights,
            qat_config.weight_quantizer_params_override,
            "weight_quantizer_params_override",
        )
    calibrates_activations = False
    if activation_method is not None:
        make_activation_quantizer, activation_class = quantizer_factory(
            back_end,
            qat_config.activation_training_method,
            activation_method,
            QuantizationTarget.Activation,
            qat_config.activation_quantizer_params_override,
            "activation_quantizer_params_override",
        )
        calibrates_activations = activation_class.has_calibration()
    if activation_method is not None and representative_dataset is None:
        raise ValueError(
            "activation quantization needs data to set its thresholds: pass "
            "representative_dataset=<callable returning input batches>, or "
            "activation_method=None to quantize weights only"
        )

    model, split = back_end.split_layers(model)
    plan, report = plan_layers(back_end, model.layers)
    report = replace(report, split=split)
    if not plan:
        supported = ", ".join(sorted(cls.__name__ for cls in back_end.quantized_weights))
        raise ValueError(f"no layer of {model.name!r} can be quantized: qat_init wraps {supported}")
    inputs: dict[str, str] = {}  # float input name -> its quantizer layer's name
    if activation_method is not None and quantize_inputs:
        not_float = {}
        for name, _, dtype, is_float in back_end.inputs(model):
            if is_float:
                inputs[name] = f"quant_{name}"
            else:
                not_float[name] = f"{dtype} input: only float inputs are quantized"
        report = replace(
            report, quantized_inputs=tuple(inputs), skipped={**not_float, **report.skipped}
        )
    statistics, outputs = (
        output_statistics(
            back_end, model, plan, inputs, representative_dataset, keep=calibrates_activations
        )
        if activation_method is not None
        else ({}, {})
    )
    # each float input gets an Identity layer, wrapped with its quantizer like any other layer
    identities = {f"{name}_identity": name for name in inputs}

    def wrap(layer: Layer, copy_layer: LayerCopier) -> Layer:
        if layer.name in identities:
            name = identities[layer.name]
            config = activation_config(statistics[name], activation_method, activation_n_bits)
            return back_end.wrapper_class(
                copy_layer(layer),
                activation_quantizers=[make_activation_quantizer(config)],
                name=inputs[name],
            )
        if layer.name not in plan:
            return copy_layer(layer)
        weights_quantizers = {}
        if weights_method is not None:
            for attribute, axis in plan[layer.name].items():
                kernel = back_end.weight_values(layer, attribute)
                config = weights_config(kernel, axis, weights_method, weights_n_bits, per_channel)
                weights_quantizers[attribute] = make_weights_quantizer(config)
        activation_quantizers = []
        if activation_method is not None:
            config = activation_config(statistics[layer.name], activation_method, activation_n_bits)
            activation_quantizers.append(make_activation_quantizer(config))
        return back_end.wrapper_class(
            copy_layer(layer),
            weights_quantizers=weights_quantizers,
            activation_quantizers=activation_quantizers,
        )

    source = back_end.with_input_identities(model, identities) if identities else model
    qat_model = back_end.clone(source, wrap)
    # the calibration step: the clone now holds the float weights (an input quantizer's
    # Identity layer is named after its input, whose values are kept under the input's name)
    for layer in qat_model.layers:
        if isinstance(layer, back_end.wrapper_class):
            name = identities.get(layer.layer.name, layer.layer.name)
            layer.calibrate([outputs.get(name)])
    log_report(report, model.name)
    qat_model.qat_report = report
    return qat_model


def qat_finalize(back_end: QATBackEnd, qat_model: Any) -> Any:
    """``quantizer_scaffold.qat.qat_finalize`` on ``back_end`` (documented there)."""
    back_end.check_model(qat_model)
    wrapper_class = back_end.wrapper_class
    if not any(isinstance(layer, wrapper_class) for layer in qat_model.layers):
        raise ValueError(
            f"{qat_model.name!r} has no KerasQuantizationWrapper layer: pass the model that "
            "qat_init returned"
        )

    def convert(layer: Layer, copy_layer: LayerCopier) -> Layer:
        if isinstance(layer, wrapper_class):
            return layer.convert_to_inferable_quantizers()
        return copy_layer(layer)

    return back_end.clone(qat_model, convert)


def quantizer_factory(
    back_end: QATBackEnd,
    training_method: Any,
    method: QuantizationMethod,
    target: QuantizationTarget,
    override: dict[str, Any] | None,
    override_name: str,
) -> tuple[Callable[[Any], BaseTrainableQuantizer], type]:
    """The quantizer class's factory, and the class (resolved, the override checked, before
    the model is touched)."""
    quantizer_class = back_end.trainable_quantizer_class(training_method, method, target)
    override = dict(override or {})
    parameters = inspect.signature(quantizer_class).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(override) - set(parameters) - {"quantization_config"})
    if unknown and not takes_any:
        raise ValueError(
            f"{override_name} has {unknown}, which {quantizer_class.__name__}() does not take "
            f"(it takes: {', '.join(parameters)})"
        )
    return (lambda config: quantizer_class(config, **override)), quantizer_class


def plan_layers(back_end: QATBackEnd, layers: Iterable[Layer]) -> tuple[Plan, QATReport]:
    """Which layers get wrapped (name -> weight attribute -> channel axis), and the report."""
    plan: Plan = {}
    skipped: dict[str, str] = {}
    with_weights: list[str] = []
    for layer in layers:
        if back_end.is_input_layer(layer):
            continue
        weights = back_end.quantized_weights.get(type(layer))
        if weights is not None:
            plan[layer.name] = dict(weights)
        elif back_end.is_model(layer):
            skipped[layer.name] = "nested model: its layers are not wrapped; build the model flat"
            with_weights.append(layer.name)
        elif layer.weights:
            skipped[layer.name] = f"{type(layer).__name__} holds weights but has no quantizer"
            with_weights.append(layer.name)
        else:
            skipped[layer.name] = f"{type(layer).__name__} has no weights; output not quantized"
    return plan, QATReport(tuple(plan), skipped, tuple(with_weights))


def log_report(report: QATReport, model_name: str) -> None:
    logger.info("qat_init(%s): %s", model_name, report)
    if report.skipped_with_weights:
        logger.warning(
            "qat_init(%s) left layers with weights unquantized: %s",
            model_name,
            "; ".join(f"{name} ({report.skipped[name]})" for name in report.skipped_with_weights),
        )


def weights_config(
    kernel: np.ndarray,
    axis: int,
    method: QuantizationMethod,
    n_bits: int,
    per_channel: bool,
) -> NodeWeightsQuantizationConfig:
    """Thresholds (or ranges) that cover the kernel: per output channel, or one for the tensor."""
    channel = axis % kernel.ndim
    reduce_axes = tuple(i for i in range(kernel.ndim) if i != channel) if per_channel else None
    if QuantizationMethod(method) is QuantizationMethod.UNIFORM:
        low = np.min(kernel, axis=reduce_axes)
        high = np.max(kernel, axis=reduce_axes)
        high = np.maximum(high, low + DEFAULT_MIN_THRESHOLD)  # a constant channel still has a range
        params = {"range_min": low.tolist(), "range_max": high.tolist()}
    else:
        threshold = np.maximum(np.max(np.abs(kernel), axis=reduce_axes), DEFAULT_MIN_THRESHOLD)
        params = {"threshold": threshold.tolist()}
    return NodeWeightsQuantizationConfig(
        weights_quantization_method=method,
        weights_n_bits=n_bits,
        weights_quantization_params=params,
        weights_channels_axis=axis if per_channel else None,
        weights_per_channel_threshold=per_channel,
    )


def activation_config(
    statistics: tuple[float, float], method: QuantizationMethod, n_bits: int
) -> NodeActivationQuantizationConfig:
    """Threshold and sign (or range) that cover every output seen on the representative data."""
    low, high = statistics
    if QuantizationMethod(method) is QuantizationMethod.UNIFORM:
        params: dict[str, Any] = {
            "range_min": low,
            "range_max": max(high, low + DEFAULT_MIN_THRESHOLD),
        }
    else:
        signed = low < 0
        threshold = max(abs(low), abs(high)) if signed else high
        params = {"threshold": max(threshold, DEFAULT_MIN_THRESHOLD), "is_signed": signed}
    return NodeActivationQuantizationConfig(
        activation_quantization_method=method,
        activation_n_bits=n_bits,
        activation_quantization_params=params,
    )


def output_statistics(
    back_end: QATBackEnd,
    model: Any,
    plan: Plan,
    inputs: Iterable[str],
    representative_dataset: RepresentativeDataset,
    keep: bool = False,
) -> tuple[dict[str, tuple[float, float]], dict[str, np.ndarray]]:
    """(min, max) of each planned layer's output and of each named model input, over every
    representative batch.

    With ``keep``, also every output itself, the batches (and the calls of a shared layer)
    concatenated on axis 0, for activation quantizers that calibrate from values.
    """
    owners: list[str] = []
    outputs = []
    for name in plan:
        for output in back_end.layer_outputs(model, model.get_layer(name)):
            owners.append(name)
            outputs.append(output)
    for name, tensor, _, _ in back_end.inputs(model):
        if name in inputs:
            owners.append(name)
            outputs.append(tensor)
    probe = back_end.probe_model(model, outputs)
    low = {name: np.inf for name in owners}
    high = {name: -np.inf for name in owners}
    kept: dict[str, list[np.ndarray]] = {name: [] for name in owners} if keep else {}
    seen = 0
    for batch in input_batches(representative_dataset, len(model.inputs)):
        values = probe.predict_on_batch(batch)
        if len(outputs) == 1:
            values = [values]
        for name, value in zip(owners, values, strict=True):
            low[name] = min(low[name], float(np.min(value)))
            high[name] = max(high[name], float(np.max(value)))
            if keep:
                kept[name].append(np.asarray(value))
        seen += 1
    if not seen:
        raise ValueError("representative_dataset() yielded no batch: it must yield input batches")
    for name in low:
        if not (np.isfinite(low[name]) and np.isfinite(high[name])):
            what = f"input {name!r}" if name in inputs else f"the output of layer {name!r}"
            raise ValueError(
                f"{what} is not finite on the representative data "
                f"(min {low[name]}, max {high[name]}): check the inputs and the float model"
            )
    return {name: (low[name], high[name]) for name in low}, {
        name: _concatenate(values) for name, values in kept.items()
    }


def _concatenate(values: list[np.ndarray]) -> np.ndarray:
    """Arrays on axis 0; flattened first when a shared layer's calls differ in shape."""
    if len({v.shape[1:] for v in values}) == 1:
        return np.concatenate(values, axis=0)
    return np.concatenate([v.reshape(-1) for v in values])
