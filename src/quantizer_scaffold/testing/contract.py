"""The quantizer contract, written once for both Keras: the checks every trainable/inferable
quantizer pair must pass, as pytest base classes.

Users subclass a back end's classes, never these: ``quantizer_contract`` (Keras 2, tf_keras)
or ``quantizer_contract_keras3`` (Keras 3, any back end). A back end fills in the few hooks
that differ (``ContractBackEnd``): its Keras and ``qi`` module, the dispatcher, how a numpy
array becomes a tensor and back, and how gradients are taken. Everything else (what is
checked, and every failure message) lives here. This module imports numpy and pytest only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi

__all__ = [
    "ActivationQuantizerContract",
    "ContractBackEnd",
    "QuantizerContract",
    "WeightsQuantizerContract",
    "registered_member",
]


def registered_member(enum: type[Enum], name: str) -> Enum:
    """``enum[name]``; while that member does not exist, skip the whole test module.

    ``scaffold-quantizer remove`` keeps a pair you edited, and its test, but unregisters the
    method: the test then stands aside (with this reason) instead of breaking collection,
    until ``scaffold-quantizer --method <name>`` registers the pair again.
    """
    try:
        return enum[name]
    except KeyError:
        pytest.skip(
            f"{enum.__name__}.{name} is not registered (scaffold-quantizer remove kept this "
            f"pair because you edited it): `scaffold-quantizer --method {name}` registers it "
            "again",
            allow_module_level=True,
        )


# values on a grid may be off by float32 rounding of (x / scale): this many steps
GRID_TOLERANCE = 1e-3


def boundary_inputs(grid: qi.UniformGrid, channels: int) -> np.ndarray:
    """Every midpoint between two levels of ``grid`` and its float32 neighbours, as float32,
    shaped ``(values, channels)`` (one column per channel of a per-channel grid)."""
    codes = np.arange(grid.quant_min, grid.quant_max) + 0.5
    scale = np.broadcast_to(np.asarray(grid.scale, np.float64), (channels,))
    zero_point = np.broadcast_to(np.asarray(grid.zero_point, np.float64), (channels,))
    middle = ((codes[:, None] - zero_point) * scale).astype(np.float32)
    below = np.nextafter(middle, np.float32(-np.inf))
    above = np.nextafter(middle, np.float32(np.inf))
    return np.concatenate([below, middle, above])


def _refuses(build: Any, rule: str) -> None:
    """``build()`` must raise ValueError or TypeError; otherwise fail with ``rule``."""
    try:
        build()
    except (ValueError, TypeError):
        return
    pytest.fail(rule)


class ContractBackEnd:
    """What the contract needs from a Keras back end; a back end's module implements it."""

    keras: ClassVar[Any]  # the Keras the quantizers are written for
    qi: ClassVar[Any]  # its qi module: wrapper, inferable base class, loader, registries

    @staticmethod
    def dispatch(training_method: Enum, method: Any, target: Any) -> type:
        """The trainable class the back end's dispatcher maps the pair to."""
        raise NotImplementedError

    @staticmethod
    def tensor(values: np.ndarray) -> Any:
        raise NotImplementedError

    @staticmethod
    def numpy(value: Any) -> np.ndarray:
        """A tensor's or a variable's values."""
        raise NotImplementedError

    @staticmethod
    def dtype_name(value: Any) -> str:
        raise NotImplementedError

    @staticmethod
    def seed(value: int) -> None:
        raise NotImplementedError

    @staticmethod
    def gradients(
        quantizer: Any, inputs: np.ndarray, upstream: np.ndarray, variables: Sequence[Any]
    ) -> list[np.ndarray | None]:
        """The gradient of ``sum(quantizer(inputs, True) * upstream)`` to the inputs, then to
        each variable (None where the back end reports none)."""
        raise NotImplementedError

    @staticmethod
    def compiled(function: Any, variables: Sequence[Any], inputs: np.ndarray) -> np.ndarray:
        """``function(inputs)`` compiled as a model's step is (a graph, XLA), ``variables``
        read as variables there, not as constants."""
        raise NotImplementedError


class QuantizerContract(ContractBackEnd):
    """The checks shared by both targets; subclass one of the two target contracts below."""

    # ---- what a subclass declares ---------------------------------------------------------
    trainable: ClassVar[type[qi.BaseKerasTrainableQuantizer]]
    inferable: ClassVar[type[qi.BaseKerasInferableQuantizer]]
    training_method: ClassVar[Enum]  # the TrainingMethod member the dispatcher maps
    methods: ClassVar[Sequence[qi.QuantizationMethod]]  # the grids the pair implements

    # ---- what a target contract sets (a subclass may change them) -------------------------
    target: ClassVar[qi.QuantizationTarget]
    n_bits: ClassVar[int] = 4
    shape: ClassVar[tuple[int, ...]]
    # keyword arguments of make_config for each case the checks run under, by test id
    cases: ClassVar[dict[str, dict[str, Any]]] = {"default": {}}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run each check once per declared method (and case, and learned parameter)."""
        methods = list(self.methods)
        if "learned" in metafunc.fixturenames:
            pairs = [
                (method, parameter.name)
                for method in methods
                for parameter in self.trainable.parameter_spec.for_method(method)
                if parameter.trainable
            ]
            ids = [f"{method.value}-{name}" for method, name in pairs]
            if not pairs:
                reason = f"{self.trainable.__name__} declares no learned parameter"
                pairs = [pytest.param(None, None, marks=pytest.mark.skip(reason=reason))]
                ids = ["none"]
            metafunc.parametrize("method,learned", pairs, ids=ids)
        elif "method" in metafunc.fixturenames:
            metafunc.parametrize("method", methods, ids=[m.value for m in methods])
        if "case" in metafunc.fixturenames:
            metafunc.parametrize("case", list(self.cases.values()), ids=list(self.cases))

    # ---- hooks ----------------------------------------------------------------------------
    def make_config(self, method: qi.QuantizationMethod, **case: Any) -> Any:
        """A node config for ``method`` with calibrated statistics that differ per channel."""
        raise NotImplementedError

    def wrong_target_config(self) -> Any:
        """A valid config of the other target, which the trainable quantizer must refuse."""
        raise NotImplementedError

    def wrap(self, layer: Any, quantizer: Any) -> Any:
        """``layer`` wrapped with ``quantizer`` where this target's quantizers go."""
        raise NotImplementedError

    @staticmethod
    def parameters(
        method: qi.QuantizationMethod, count: int, signed: bool = True
    ) -> dict[str, Any]:
        """Calibrated statistics for ``count`` channels, different per channel as data gives."""
        if method is qi.QuantizationMethod.UNIFORM:
            lows = [-0.6 - 0.2 * i if signed else 0.0 for i in range(count)]
            return {"range_min": lows, "range_max": [0.9 + 0.3 * i for i in range(count)]}
        return {"threshold": [0.75 + 0.5 * i for i in range(count)]}

    def make_quantizer(self, method: qi.QuantizationMethod, **case: Any) -> Any:
        """A trainable quantizer as the QAT flow leaves it: variables created on a fresh
        layer (``initialize_quantization``), then calibrated on ``sample_inputs()``."""
        quantizer = self.trainable(self.make_config(method, **case))
        quantizer.initialize_quantization(self.shape, "tensor", self.keras.layers.Layer())
        quantizer.calibrate_parameters(self.sample_inputs(seed=4))
        return quantizer

    def sample_inputs(self, seed: int = 0) -> np.ndarray:
        """Values inside and well outside the grid's range."""
        return np.random.default_rng(seed).normal(0.0, 1.5, self.shape).astype(np.float32)

    def grid(self, quantizer: Any) -> qi.UniformGrid | None:
        """The grid the quantizer's values must lie on: its inferable quantizer's ``grid()``."""
        return quantizer.convert2inferable().grid()

    # ---- a wrapped model, trained ----------------------------------------------------------
    def train_wrapped_model(
        self, method: qi.QuantizationMethod, **compile_options: Any
    ) -> tuple[Any, np.ndarray]:
        """A Dense layer wrapped with the quantizer in a small model, after one epoch of
        ``fit`` (compiled with ``compile_options``); checks that the layer and the learned
        parameters trained. Returns the model and its data."""
        self.seed(0)
        keras = self.keras
        features = self.shape[0]
        data = np.random.default_rng(3).normal(size=(32, features)).astype(np.float32)
        target = data.sum(axis=1, keepdims=True)
        quantizer = self.trainable(self.make_config(method))
        # a kernel large enough that the grids of make_config() clip part of it
        layer = keras.layers.Dense(
            self.shape[-1], kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=0)
        )
        wrapper = self.wrap(layer, quantizer)
        options = ", ".join(f"{k}={v!r}" for k, v in compile_options.items())
        compiled = f" (compiled with {options})" if options else ""
        try:
            # keras.Input traces __call__ symbolically, fit traces it in a compiled step
            model = keras.Sequential([keras.Input((features,)), wrapper, keras.layers.Dense(1)])
            wrapper.calibrate()  # the QAT flow's calibration step, on the float kernel
            model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", **compile_options)
            kernel = self.numpy(layer.kernel).copy()
            learned = {
                name: self.numpy(variable).copy()
                for name, variable in quantizer.parameters.items()
                if variable.trainable
            }
            history = model.fit(data, target, batch_size=8, epochs=1, verbose=0)
        except Exception as error:  # noqa: BLE001 - any failure of the traced step is the finding
            xla = (
                "; with jit_compile=True XLA compiles it: only ops XLA has (keras.ops), no "
                "tf.numpy_function or tf.py_function"
                if compile_options.get("jit_compile")
                else ""
            )
            pytest.fail(
                f"model.fit{compiled} failed with {self._name()} in the model: "
                f"{type(error).__name__}: {error}. __call__ runs traced (keras.Input, a "
                "compiled step): no .numpy() or Python branches on tensors "
                f"(quantizer_utils.by_training picks by training){xla}"
            )
        assert np.isfinite(history.history["loss"][-1]), "the training loss is not finite"
        assert not np.array_equal(self.numpy(layer.kernel), kernel), (
            f"the quantized layer's kernel did not change while training: {self._name()} "
            "blocks the gradient to the layer (use a straight-through estimator)"
        )
        for name, before in learned.items():
            assert not np.array_equal(self.numpy(quantizer.parameters[name]), before), (
                f"the learned parameter {name!r} did not change while training: its gradient "
                "is zero or missing in __call__(x, training=True)"
            )
        return model, data

    # ---- helpers --------------------------------------------------------------------------
    def _name(self) -> str:
        return self.trainable.__name__

    def _channel_values(self, values: np.ndarray, grid: qi.UniformGrid) -> list[np.ndarray]:
        """``values`` split by the grid's channels (one array when the grid is per tensor)."""
        if grid.channels == 1:
            return [values.reshape(-1)]
        moved = np.moveaxis(values, grid.channel_axis, -1)
        return [moved[..., c].reshape(-1) for c in range(grid.channels)]

    # ---- the contract ---------------------------------------------------------------------
    def test_dispatcher_and_inferable_registry_find_the_pair(
        self, method: qi.QuantizationMethod
    ) -> None:
        name = getattr(self.training_method, "name", self.training_method)
        table = (
            "METHOD2WEIGHTQUANTIZER" if self.target.value == "weights" else "METHOD2ACTQUANTIZER"
        )
        try:
            found = self.dispatch(self.training_method, method, self.target)
        except ValueError as error:
            pytest.fail(f"the dispatcher has no entry for this pair: {error}")
        assert found is self.trainable, (
            f"{table}[TrainingMethod.{name}][{method.name}] is {found.__name__}, not "
            f"{self._name()}: point the dispatcher entry at {self._name()}"
        )
        try:
            inferable = self.qi.get_inferable_quantizer_class(
                self.target, method, self.qi.BaseKerasInferableQuantizer, identifier=name
            )
        except ValueError as error:
            pytest.fail(
                f"{error}: decorate {self.inferable.__name__} with @qi.mark_quantizer("
                f"qi.QuantizationTarget.{self.target.name}, METHODS, identifier={name!r})"
            )
        assert inferable is self.inferable, (
            f"the inferable registry gives {inferable.__name__} for {name}/{method.name}, "
            f"not {self.inferable.__name__}: check its @qi.mark_quantizer"
        )

    def test_constructor_rejects_configs_it_cannot_serve(self) -> None:
        trainable = self._name()
        _refuses(
            lambda: self.trainable(self.wrong_target_config()),
            f"{trainable} accepted a config of the other target: pass its own "
            "qi.QuantizationTarget to super().__init__ (the base then refuses the rest)",
        )
        for other in [m for m in qi.QuantizationMethod if m not in self.methods]:
            _refuses(
                lambda other=other: self.trainable(self.make_config(other)),
                f"{trainable} accepted a {other.name} config, which it does not implement: "
                "pass METHODS to super().__init__",
            )
        arguments = self.make_quantizer(self.methods[0]).convert2inferable().get_config()
        _refuses(
            lambda: self.inferable(**{**arguments, "num_bits": 0}),
            f"{self.inferable.__name__}(num_bits=0) was accepted: validate it with "
            "validation.num_bits in the constructor",
        )

    def test_declared_parameters_become_the_variables(
        self, method: qi.QuantizationMethod, case: dict[str, Any]
    ) -> None:
        spec = self.trainable.parameter_spec.for_method(method)
        quantizer = self.trainable(self.make_config(method, **case))
        layer = self.keras.layers.Layer()
        variables = quantizer.initialize_quantization(self.shape, "tensor", layer)
        hint = "declare every parameter in the parameter_spec (PARAMETERS) and nothing else"
        assert sorted(variables) == sorted(spec.names), (
            f"initialize_quantization() returned variables {sorted(variables)} but "
            f"{self._name()}.parameter_spec declares {sorted(spec.names)}: {hint}"
        )
        trainable = {v.name.split(":")[0] for v in layer.trainable_weights}
        for parameter in spec:
            variable = variables[parameter.name]
            short = variable.name.split(":")[0]
            assert (short in trainable) is parameter.trainable, (
                f"parameter {parameter.name!r} is declared {parameter.kind.value} but its "
                f"variable is {'' if short in trainable else 'not '}trainable: create it with "
                "the base's initialize_quantization (or trainable=QuantizerParameter.trainable)"
            )
            channels = quantizer.channel_axis is not None and parameter.per_channel
            expected = (self.shape[quantizer.channel_axis],) if channels else ()
            assert tuple(variable.shape) == expected, (
                f"parameter {parameter.name!r} has shape {tuple(variable.shape)}, expected "
                f"{expected}: one value per channel of a per-channel config, else a scalar"
            )

    def test_inferable_takes_exactly_the_declared_parameters(
        self, method: qi.QuantizationMethod
    ) -> None:
        inferable = self.make_quantizer(method).convert2inferable()
        arguments = inferable.get_config()
        names = [p.name for p in self.inferable.parameter_spec if p.applies_to(method)]
        owner = self.inferable.__name__
        for name in names:
            assert name in arguments, (
                f"{owner}.get_config() lacks the declared parameter {name!r}: return every "
                "name of its parameter_spec"
            )
            values = arguments[name]
            assert isinstance(values, list) and all(type(v) is float for v in values), (
                f"{owner}.get_config()[{name!r}] is {values!r}: parameters must be plain lists "
                "of floats (JSON-safe, no numpy)"
            )
            _refuses(
                lambda name=name: self.inferable(
                    **{k: v for k, v in arguments.items() if k != name}
                ),
                f"{owner} was built without its declared parameter {name!r}: check the "
                "parameters with parameter_spec.check_values in the constructor",
            )
            nan = [float("nan")] * len(arguments[name])
            _refuses(
                lambda name=name, nan=nan: self.inferable(**{**arguments, name: nan}),
                f"{owner} accepted NaN for {name!r}: check values with "
                "parameter_spec.check_values (finite floats only)",
            )
        _refuses(
            lambda: self.inferable(**{**arguments, "undeclared_parameter": [1.0]}),
            f"{owner} accepted an undeclared parameter: it must take exactly the names of its "
            "parameter_spec (check them with parameter_spec.check_values)",
        )

    @pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
    def test_output_keeps_shape_and_dtype(
        self, method: qi.QuantizationMethod, training: bool
    ) -> None:
        quantized = self.make_quantizer(method)(self.tensor(self.sample_inputs()), training)
        dtype = self.dtype_name(quantized)
        assert tuple(quantized.shape) == self.shape and dtype == "float32", (
            f"{self._name()}(x, training={training}) returned {dtype} of shape "
            f"{tuple(quantized.shape)} for float32 x of shape {self.shape}: keep both"
        )

    @pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
    def test_values_lie_on_the_grid(
        self, method: qi.QuantizationMethod, case: dict[str, Any], training: bool
    ) -> None:
        quantizer = self.make_quantizer(method, **case)
        quantized = self.numpy(quantizer(self.tensor(self.sample_inputs()), training))
        quantized = quantized.astype(np.float64)
        grid = self.grid(quantizer)
        call = f"{self._name()}(x, training={training})"
        if grid is None:
            # no grid described: only the number of distinct values can be checked
            for channel in quantized.reshape(-1, quantized.shape[-1]).T:
                assert len(np.unique(channel)) <= 2**self.n_bits, (
                    f"{call} gives {len(np.unique(channel))} distinct values in a channel, more "
                    f"than 2^{self.n_bits}; return a qi.UniformGrid from the inferable's grid() "
                    "so the values are checked against it"
                )
            return
        assert grid.quant_max - grid.quant_min < 2**self.n_bits, (
            f"{self.inferable.__name__}.grid() describes {grid.quant_max - grid.quant_min + 1} "
            f"levels, more than 2^{self.n_bits}: fix quant_min/quant_max in grid()"
        )
        for c, values in enumerate(self._channel_values(quantized, grid)):
            levels = values / grid.scale[c] + grid.zero_point[c]
            off = np.abs(levels - np.round(levels))
            assert off.max() <= GRID_TOLERANCE, (
                f"{call} gives values {off.max():.3g} steps off the grid that "
                f"{self.inferable.__name__}.grid() describes (channel {c}, scale "
                f"{grid.scale[c]:.6g}, zero point {grid.zero_point[c]}): quantize() and grid() "
                "disagree; keep them in step"
            )
            low, high = grid.quant_min - GRID_TOLERANCE, grid.quant_max + GRID_TOLERANCE
            assert low <= levels.min() and levels.max() <= high, (
                f"{call} gives values outside the grid's range (levels {levels.min():.3f}.."
                f"{levels.max():.3f}, grid {grid.quant_min}..{grid.quant_max}): clip to the "
                "range in quantize(), or widen it in grid()"
            )

    def test_gradient_flows_to_inputs_inside_the_range(self, method: qi.QuantizationMethod) -> None:
        quantizer = self.make_quantizer(method)
        inputs = self.sample_inputs()
        gradient = self.gradients(quantizer, inputs, np.ones_like(inputs), [])[0]
        assert gradient is not None, (
            f"no gradient reaches the inputs of {self._name()}(x, training=True), so nothing "
            "before it can learn: use a straight-through estimator for rounding "
            "(quantizer_utils.ste_round or quantizer_utils' grids), not a bare round or a "
            "stop_gradient on the whole output"
        )
        assert np.all(np.isfinite(gradient)), f"{self._name()}: the input gradient is not finite"
        grid = self.grid(quantizer)
        if grid is None:  # the range is unknown: some input must get a gradient
            assert np.any(gradient != 0.0), (
                f"{self._name()}(x, training=True) passes a zero gradient to every input: use a "
                "straight-through estimator for rounding"
            )
            return
        inside = np.zeros_like(inputs, dtype=bool)
        for c in range(grid.channels):
            low, high = grid.bounds(c)
            mask = (inputs > low) & (inputs < high)
            if grid.channels == 1:
                inside = mask
                break
            index = [slice(None)] * inputs.ndim
            index[grid.channel_axis] = c
            inside[tuple(index)] = mask[tuple(index)]
        assert inside.any(), "sample_inputs() has no value inside the grid's range"
        blocked = int(np.sum(gradient[inside] == 0.0))
        assert blocked == 0, (
            f"{self._name()}(x, training=True) passes no gradient to {blocked} of "
            f"{int(inside.sum())} inputs inside the grid's range: the straight-through "
            "estimator passes 1 there (zero only outside the range)"
        )

    def test_learned_parameters_get_a_gradient(
        self, method: qi.QuantizationMethod, learned: str
    ) -> None:
        quantizer = self.make_quantizer(method)
        variable = quantizer.parameters[learned]
        upstream = np.random.default_rng(5).normal(size=self.shape).astype(np.float32)
        gradient = self.gradients(quantizer, self.sample_inputs(), upstream, [variable])[1]
        hint = (
            f"{self._name()}.__call__(x, training=True) must use self.parameters[{learned!r}] "
            "differentiably (a learned parameter the loss does not depend on never trains)"
        )
        assert gradient is not None, (
            f"no gradient reaches the learned parameter {learned!r}: {hint}"
        )
        gradient = np.asarray(gradient)
        assert np.all(np.isfinite(gradient)), f"the gradient of {learned!r} is not finite"
        assert np.any(gradient != 0.0), f"the gradient of {learned!r} is zero everywhere: {hint}"

    def test_inferable_equals_trainable_in_inference(
        self, method: qi.QuantizationMethod, case: dict[str, Any]
    ) -> None:
        quantizer = self.make_quantizer(method, **case)
        inferable = quantizer.convert2inferable()
        assert isinstance(inferable, self.inferable), (
            f"{self._name()}.convert2inferable() returned {type(inferable).__name__}, not "
            f"{self.inferable.__name__}"
        )
        x = self.tensor(self.sample_inputs(seed=1))
        difference = np.abs(self.numpy(inferable(x)) - self.numpy(quantizer(x, False))).max()
        assert difference <= 1e-6, (
            f"{self.inferable.__name__} differs from {self._name()}(x, training=False) by up to "
            f"{difference:.3g}: convert2inferable() must pass the current parameter values "
            "(parameter_values()) and both must compute the same quantize()"
        )

    def test_inferable_equals_trainable_compiled_at_rounding_boundaries(
        self, method: qi.QuantizationMethod, case: dict[str, Any]
    ) -> None:
        """What ``qat_finalize`` deploys computes what the QAT model computes, even where a
        value sits next to a rounding boundary and the two are compiled."""
        quantizer = self.make_quantizer(method, **case)
        grid = self.grid(quantizer)
        if grid is None:
            pytest.skip(f"{self.inferable.__name__}.grid() is None: no boundaries to try")
        x = boundary_inputs(grid, self.shape[-1])
        trained = self.compiled(
            lambda v: quantizer(v, False), list(quantizer.parameters.values()), x
        )
        finalized = self.compiled(quantizer.convert2inferable(), [], x)
        differ = int(np.sum(finalized != trained))
        assert differ == 0, (
            f"compiled, {self.inferable.__name__} and {self._name()}(x, training=False) put "
            f"{differ} of {x.size} values next to a rounding boundary on different levels: "
            "divide by a grid parameter with quantizer_utils.divide(x, d), not x / d (a "
            "compiler rewrites a division by the deployed model's constant as a product with "
            "its reciprocal, which rounds otherwise)"
        )

    def test_configs_round_trip_through_json(self, method: qi.QuantizationMethod) -> None:
        quantizer = self.make_quantizer(method)
        config = json.loads(json.dumps(quantizer.get_config()))
        assert self.trainable.from_config(config).get_config() == quantizer.get_config(), (
            f"{self._name()}.from_config(get_config()) is not the same quantizer: get_config() "
            "must return every constructor argument as JSON-safe values"
        )
        inferable = quantizer.convert2inferable()
        config = json.loads(json.dumps(inferable.get_config()))
        rebuilt = self.inferable.from_config(config)
        assert rebuilt.get_config() == inferable.get_config(), (
            f"{self.inferable.__name__}.from_config(get_config()) changes the config: return "
            "exactly the constructor arguments"
        )
        x = self.tensor(self.sample_inputs(seed=2))
        np.testing.assert_array_equal(
            self.numpy(rebuilt(x)),
            self.numpy(inferable(x)),
            err_msg=f"{self.inferable.__name__} rebuilt from its config computes otherwise",
        )

    def test_wrapped_model_trains_saves_and_loads(
        self, method: qi.QuantizationMethod, tmp_path: Path
    ) -> None:
        model, data = self.train_wrapped_model(method)
        expected = model.predict(data, verbose=0)
        path = tmp_path / "model.keras"
        model.save(path)
        loaded = self.qi.load_quantized_model(path)
        np.testing.assert_allclose(
            loaded.predict(data, verbose=0),
            expected,
            rtol=0,
            atol=1e-6,
            err_msg="the reloaded model predicts otherwise: register the quantizer classes "
            "(@qi.register_quantizer) and keep get_config()/from_config() in step",
        )


class WeightsQuantizerContract(QuantizerContract):
    """The contract of a weights quantizer pair, on a Dense kernel with per-channel parameters."""

    target = qi.QuantizationTarget.Weights
    shape = (6, 5)  # a Dense kernel: 6 inputs, 5 output channels on axis -1
    cases = {"per_channel": {"per_channel": True}, "per_tensor": {"per_channel": False}}

    def make_config(self, method: qi.QuantizationMethod, per_channel: bool = True) -> Any:
        count = self.shape[-1] if per_channel else 1
        return qi.NodeWeightsQuantizationConfig(
            method,
            self.n_bits,
            self.parameters(method, count),
            weights_channels_axis=-1,
            weights_per_channel_threshold=per_channel,
        )

    def wrong_target_config(self) -> Any:
        return qi.NodeActivationQuantizationConfig(
            self.methods[0], self.n_bits, self.parameters(self.methods[0], 1)
        )

    def wrap(self, layer: Any, quantizer: Any) -> Any:
        return self.qi.KerasQuantizationWrapper(layer, weights_quantizers={"kernel": quantizer})


class ActivationQuantizerContract(QuantizerContract):
    """The contract of an activation quantizer pair, on a batch of activations."""

    target = qi.QuantizationTarget.Activation
    shape = (4, 5)  # a batch of 4 activations with 5 features
    cases = {"signed": {"signed": True}, "unsigned": {"signed": False}}

    def make_config(self, method: qi.QuantizationMethod, signed: bool = True) -> Any:
        params = self.parameters(method, 1, signed)
        if method is not qi.QuantizationMethod.UNIFORM:
            params["is_signed"] = signed
        return qi.NodeActivationQuantizationConfig(method, self.n_bits, params)

    def wrong_target_config(self) -> Any:
        return qi.NodeWeightsQuantizationConfig(
            self.methods[0],
            self.n_bits,
            self.parameters(self.methods[0], 1),
            weights_per_channel_threshold=False,
        )

    def wrap(self, layer: Any, quantizer: Any) -> Any:
        return self.qi.KerasQuantizationWrapper(layer, activation_quantizers=[quantizer])
