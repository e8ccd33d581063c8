"""The framework-free contract of a trainable (QAT) quantizer, for every back end.

A trainable quantizer quantizes one tensor (a layer's weight, or a layer's output) while the
model trains, and hands over to an inferable quantizer for deployment. The contract, in the
order a QAT flow uses it:

1. ``__init__(quantization_config, quantization_target, quantization_methods)``: the
   subclass's constructor takes the node config and passes its target and the methods it
   implements. The base checks that the config is for that target, enabled, and asks for one
   of those methods, and sets ``quantization_config``, ``quantization_method``, ``num_bits``,
   ``channel_axis`` (None unless a per-channel weights config) and ``initial_values``: the
   starting value(s) of each declared parameter, read from the config. A subclass may change
   ``initial_values`` in its constructor (e.g. a step size = threshold / 2^(b-1)).
2. ``parameter_spec`` (class attribute): the ``ParameterSpec`` that declares the quantizer's
   parameters (see ``parameters.py``); an empty spec is a parameter-free quantizer.
3. ``initialize_quantization(tensor_shape, name, layer)``: called once, when the layer that
   owns the tensor is built. It creates one variable per declared parameter on ``layer``
   (trainable if learned), named ``f"{name}_{parameter}"``, shaped ``(channels,)`` per
   channel or ``()`` per tensor, and returns them by name; ``parameters`` gives them
   afterwards. The back end's ``_create_variable`` makes the variable. A quantizer holds the
   variables of one tensor: a second call, or a second owner (``claim``), is refused.
4. ``calibrate(values)``: called once by the QAT flow after ``initialize_quantization``, when
   the float values are in place: for a weights quantizer the weight's value, for an
   activation quantizer the layer's outputs on the representative data (the batches
   concatenated on axis 0); a numpy array either way. It returns new values for some
   declared parameters by name (a number, or one per channel); the default returns none.
   ``calibrate_parameters(values)`` runs it and assigns the result (the flow's call). Only
   classes that override ``calibrate`` get activation values (``has_calibration()``).
5. ``__call__(inputs, training)``: the one call form. Returns the quantized tensor, the same
   shape and dtype as ``inputs``. ``training`` is True while the model fits (the quantizer may
   use a training-only path) and False in inference (the output must then equal that of
   ``convert2inferable()``); a Python bool or a boolean scalar tensor. The caller (wrapper,
   tfmot adapter, tests) always passes it; a class whose ``__call__`` cannot take
   ``(inputs, training)`` is refused when it is defined. Read parameters from
   ``self.parameters``; the call must be traceable (no ``.numpy()``), it runs in
   ``tf.function``/``jax.jit``.
6. ``convert2inferable()``: the inferable quantizer with the current parameter values
   (``parameter_values()`` gives them as lists of floats). It must compute what ``__call__``
   computes with ``training=False``.
7. ``get_config()`` / ``from_config()``: the constructor arguments as JSON-safe values (the
   node config as a dict, names never numbers). Parameter values are not in the config: they
   are the layer's variables and are saved with its weights.

A back end provides two things:

- one subclass of this class (``BaseKerasTrainableQuantizer`` for Keras 2) implementing the
  three variable hooks: ``_create_variable(layer, name, values, shape, trainable)`` (a float32
  variable on ``layer``, saved with it; trainable exactly when the parameter is learned),
  ``_read_variable(variable)`` (a flat list of Python floats) and
  ``_assign_variable(variable, values)`` (flat values, the variable's own size). Everything
  else above is shared;
- a wrapper layer that, in its ``build``, calls ``quantizer.claim(f"{wrapper}.{weight}")``
  (or ``.activation_{i}``) and then ``initialize_quantization(shape, f"{weight}_quantizer",
  layer=wrapper)`` for every trainable quantizer; in its ``call``, ``quantizer(tensor,
  training)`` for trainable and ``quantizer(tensor)`` for inferable quantizers (a trainable
  quantizer is told by ``isinstance(q, BaseTrainableQuantizer)``, never by its signature),
  with ``training`` False when the framework passes None; a ``calibrate(activation_values)``
  that runs ``calibrate_parameters`` with each weight's current value as a numpy array (and,
  for activation quantizers, the given outputs); and a ``qat_init`` that runs it once the
  clone holds the float weights, collecting activation outputs only for classes whose
  ``has_calibration()`` is True.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .constants import QuantizationMethod, QuantizationTarget
from .node_config import (
    NodeActivationQuantizationConfig,
    NodeQuantizationConfig,
    NodeWeightsQuantizationConfig,
    config_from_dict,
)
from .parameters import ParameterSpec, spread_over_channels
from .validation import float_list

CONFIG_CLASS = {
    QuantizationTarget.Weights: NodeWeightsQuantizationConfig,
    QuantizationTarget.Activation: NodeActivationQuantizationConfig,
}


def config_method(config: NodeQuantizationConfig) -> QuantizationMethod:
    """The quantization method a node config asks for, whichever target it is for."""
    if isinstance(config, NodeWeightsQuantizationConfig):
        return config.weights_quantization_method
    return config.activation_quantization_method


def _check_call_form(cls: type) -> None:
    """Refuse a concrete ``__call__`` that cannot be called as ``(inputs, training)``."""
    call = cls.__dict__.get("__call__")
    if call is None or getattr(call, "__isabstractmethod__", False):
        return
    signature = inspect.signature(call)
    try:
        signature.bind(None, "inputs", "training")
    except TypeError:
        takes_training = False
    else:
        parameters = list(signature.parameters.values())
        takes_training = any(
            p.name == "training" or p.kind is inspect.Parameter.VAR_POSITIONAL
            for p in parameters[1:]
        )
    if not takes_training:
        raise TypeError(
            f"{cls.__qualname__}.__call__{signature} must take (self, inputs, training): "
            "the wrapper calls quantizer(inputs, training) with training True while the model "
            "fits and False in inference; accept it even if your math ignores it"
        )


class BaseTrainableQuantizer(abc.ABC):
    """Quantizes one tensor during training; subclasses declare parameters and the math."""

    parameter_spec: ClassVar[ParameterSpec] = ParameterSpec()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_call_form(cls)
        if not isinstance(cls.parameter_spec, ParameterSpec):
            raise TypeError(
                f"{cls.__qualname__}.parameter_spec must be a ParameterSpec, "
                f"got {type(cls.parameter_spec).__name__}"
            )

    def __init__(
        self,
        quantization_config: NodeQuantizationConfig,
        quantization_target: QuantizationTarget,
        quantization_methods: Sequence[QuantizationMethod],
    ) -> None:
        name = type(self).__name__
        target = QuantizationTarget(quantization_target)
        expected = CONFIG_CLASS[target]
        if not isinstance(quantization_config, expected):
            raise ValueError(
                f"{name} quantizes {target.name} and needs a {expected.__name__}, "
                f"got {type(quantization_config).__name__}"
            )
        methods = [QuantizationMethod(m) for m in quantization_methods]
        if not methods:
            raise ValueError(f"{name} must list at least one QuantizationMethod it implements")
        weights = isinstance(quantization_config, NodeWeightsQuantizationConfig)
        enabled = (
            quantization_config.enable_weights_quantization
            if weights
            else quantization_config.enable_activation_quantization
        )
        if not enabled:
            raise ValueError(
                f"{name} got a config with {target.value} quantization disabled: leave that "
                f"tensor unquantized instead of building a quantizer for it"
            )
        method = config_method(quantization_config)
        if method not in methods:
            supported = ", ".join(m.name for m in methods)
            raise ValueError(
                f"{name} implements {supported} but the config asks for {method.name}: "
                f"use a quantizer registered for {method.name} or change the config's method"
            )
        self.quantization_config = quantization_config
        self.quantization_target = target
        self.quantization_methods = methods
        self.quantization_method = method
        if weights:
            self.num_bits = quantization_config.weights_n_bits
            per_channel = quantization_config.weights_per_channel_threshold
            self.channel_axis = quantization_config.weights_channels_axis if per_channel else None
        else:
            self.num_bits = quantization_config.activation_n_bits
            self.channel_axis = None
        self.initial_values = self.declared_parameters.initial_values(quantization_config)
        self._variables: dict[str, Any] | None = None
        self._owner: str | None = None

    # ---- parameters ------------------------------------------------------------------------
    @property
    def declared_parameters(self) -> ParameterSpec:
        """The entries of ``parameter_spec`` that apply to this quantizer's method."""
        return type(self).parameter_spec.for_method(self.quantization_method)

    @property
    def parameters(self) -> dict[str, Any]:
        """The variables of the declared parameters, by name (after initialize_quantization)."""
        if self._variables is None:
            raise RuntimeError(
                f"{type(self).__name__} has no variables yet: initialize_quantization("
                "tensor_shape, name, layer) creates them (a wrapper's build calls it)"
            )
        return self._variables

    def parameter_values(self) -> dict[str, list[float]]:
        """The current value of every declared parameter as a flat list of floats."""
        return {name: self._read_variable(v) for name, v in self.parameters.items()}

    def claim(self, owner: str) -> None:
        """Record that ``owner`` (e.g. ``"quant_dense.kernel"``) quantizes with this instance.

        A quantizer holds the variables of one tensor, so a second owner is refused.
        """
        if self._owner is not None and self._owner != owner:
            raise ValueError(
                f"this {type(self).__name__} already quantizes {self._owner}, so it cannot "
                f"quantize {owner} too: a trainable quantizer holds the variables of one "
                f"tensor; give each its own, e.g. {type(self).__name__}.from_config("
                "quantizer.get_config())"
            )
        self._owner = owner

    def initialize_quantization(self, tensor_shape: Any, name: str, layer: Any) -> dict[str, Any]:
        """Create one variable per declared parameter on ``layer``; return them by name."""
        owner = type(self).__name__
        if self._variables is not None:
            raise RuntimeError(
                f"{owner} is already initialized (its variables are "
                f"{', '.join(self._variables) or 'none'}): a trainable quantizer holds the "
                "variables of one tensor; give each tensor its own quantizer"
            )
        channels = self._channels(tensor_shape)
        variables = {}
        for parameter in self.declared_parameters:
            values, shape = spread_over_channels(
                self.initial_values[parameter.name],
                channels if parameter.per_channel else None,
                owner,
                parameter.name,
            )
            variables[parameter.name] = self._create_variable(
                layer, f"{name}_{parameter.name}", values, shape, parameter.trainable
            )
        self._variables = variables
        return dict(variables)

    def _channels(self, tensor_shape: Any) -> int | None:
        """The number of channels along ``channel_axis`` (None when per tensor)."""
        if self.channel_axis is None:
            return None
        dims = list(tensor_shape)
        axis = self.channel_axis
        if not -len(dims) <= axis < len(dims):
            raise ValueError(
                f"{type(self).__name__}: channel axis {axis} is out of range for a tensor of "
                f"shape {tuple(dims)}"
            )
        channels = dims[axis]
        if channels is None:
            raise ValueError(
                f"{type(self).__name__}: the tensor of shape {tuple(dims)} has no static size "
                f"on its channel axis {axis}"
            )
        return int(channels)

    # ---- calibration -----------------------------------------------------------------------
    def calibrate(self, values: Any) -> Mapping[str, Any]:
        """New values for declared parameters from the tensor's float ``values`` (numpy).

        Override it when a parameter starts from something other than a constant or a
        calibrated statistic (e.g. LSQ's step size 2*mean|w|/sqrt(Qp)); the default keeps the
        values that ``initialize_quantization`` set.
        """
        return {}

    @classmethod
    def has_calibration(cls) -> bool:
        """Whether the class overrides ``calibrate`` (so the flow must pass it values)."""
        return cls.calibrate is not BaseTrainableQuantizer.calibrate

    def calibrate_parameters(self, values: Any) -> dict[str, list[float]]:
        """Run ``calibrate(values)`` and assign what it returns; return what was set."""
        owner = type(self).__name__
        new = dict(self.calibrate(values))
        unknown = sorted(set(new) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"{owner}.calibrate() returned {', '.join(unknown)}, which it does not declare "
                f"(declared: {', '.join(self.parameters) or 'none'}): add it to parameter_spec"
            )
        assigned = {}
        for name, value in new.items():
            variable = self.parameters[name]
            count = len(self._read_variable(variable))
            checked = float_list(value, f"{owner}.calibrate(): {name}")
            spread, _ = spread_over_channels(checked, count if count > 1 else None, owner, name)
            self._assign_variable(variable, spread)
            assigned[name] = spread
        return assigned

    # ---- the math --------------------------------------------------------------------------
    @abc.abstractmethod
    def __call__(self, inputs: Any, training: Any) -> Any:
        """Return the quantized ``inputs``; ``training`` is True while fitting, else False."""

    @abc.abstractmethod
    def convert2inferable(self) -> Any:
        """Return the inferable quantizer that computes the same output in inference mode."""

    # ---- the back end's variables ----------------------------------------------------------
    @abc.abstractmethod
    def _create_variable(
        self, layer: Any, name: str, values: list[float], shape: tuple[int, ...], trainable: bool
    ) -> Any:
        """A float32 variable of ``shape`` on ``layer`` holding ``values`` (flat)."""

    @abc.abstractmethod
    def _read_variable(self, variable: Any) -> list[float]:
        """The variable's current value as a flat list of Python floats."""

    @abc.abstractmethod
    def _assign_variable(self, variable: Any, values: list[float]) -> None:
        """Set the variable to ``values`` (flat, its own element count)."""

    # ---- serialization ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-safe values; subclasses add their own extra ones."""
        return {"quantization_config": self.quantization_config.to_dict()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BaseTrainableQuantizer:
        config = dict(config)
        node_config = config.pop("quantization_config")
        if not isinstance(
            node_config, (NodeWeightsQuantizationConfig, NodeActivationQuantizationConfig)
        ):
            node_config = config_from_dict(node_config)
        return cls(quantization_config=node_config, **config)
