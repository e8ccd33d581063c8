"""The contract every trainable/inferable quantizer pair must keep, as pytest base classes.

Subclass ``WeightsQuantizerContract`` or ``ActivationQuantizerContract`` in a ``test_*.py``
module, in a class named ``Test...``, and declare the pair::

    class TestMyMethodWeightsQuantizer(WeightsQuantizerContract):
        trainable = MyMethodWeightsTrainingQuantizer
        inferable = MyMethodWeightsInferableQuantizer
        training_method = TrainingMethod.MyMethod
        methods = METHODS

pytest then runs every check below once per quantization method in ``methods``:
registration and dispatch, constructor validation, output shape and dtype, values on the
grid and in range, gradient flow, trainable == inferable in inference, get_config/from_config
round trips, and a tiny wrapped model that trains and reloads with identical predictions.
The checks are properties, not a formula: they hold for STE and for learned parameters alike.
Override a hook (``make_config``, ``make_quantizer``, ``sample_inputs``, ``grid``, ``wrap``)
where your quantizer needs something else, and add method-specific tests to your subclass.

This module imports TensorFlow and pytest; nothing in the package imports it for you.
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
from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

__all__ = [
    "ActivationQuantizerContract",
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


class QuantizerContract:
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
    per_channel_cases: ClassVar[tuple[bool, ...]] = (False,)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run each check once per declared quantization method (and channel layout)."""
        if "method" in metafunc.fixturenames:
            methods = list(self.methods)
            metafunc.parametrize("method", methods, ids=[m.value for m in methods])
        if "per_channel" in metafunc.fixturenames:
            cases = list(self.per_channel_cases)
            ids = ["per_channel" if case else "per_tensor" for case in cases]
            metafunc.parametrize("per_channel", cases, ids=ids)

    # ---- hooks ----------------------------------------------------------------------------
    def make_config(self, method: qi.QuantizationMethod, per_channel: bool = True) -> Any:
        """A node config for ``method`` with parameters that differ per channel."""
        raise NotImplementedError

    def wrong_target_config(self) -> Any:
        """A valid config of the other target, which the trainable quantizer must refuse."""
        raise NotImplementedError

    def wrap(self, layer: keras.layers.Layer, quantizer: Any) -> qi.KerasQuantizationWrapper:
        """``layer`` wrapped with ``quantizer`` where this target's quantizers go."""
        raise NotImplementedError

    @staticmethod
    def parameters(method: qi.QuantizationMethod, count: int) -> dict[str, list[float]]:
        """Grid parameters for ``count`` channels, different per channel as calibration gives."""
        if method is qi.QuantizationMethod.UNIFORM:
            return {
                "range_min": [-0.6 - 0.2 * i for i in range(count)],
                "range_max": [0.9 + 0.3 * i for i in range(count)],
            }
        return {"threshold": [0.75 + 0.5 * i for i in range(count)]}

    def make_quantizer(self, method: qi.QuantizationMethod, per_channel: bool = True) -> Any:
        """A trainable quantizer with its variables on a bare layer, as the wrapper builds it."""
        quantizer = self.trainable(self.make_config(method, per_channel))
        quantizer.initialize_quantization(self.shape, "tensor", keras.layers.Layer())
        return quantizer

    def sample_inputs(self, seed: int = 0) -> np.ndarray:
        """Values inside and well outside the grid's range."""
        return np.random.default_rng(seed).normal(0.0, 1.5, self.shape).astype(np.float32)

    def grid(self, quantizer: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(low, high, step) of the grid, read from the inferable quantizer's parameters.

        Understands the built-in parameter names (``threshold`` with ``quantization_method``
        and ``signed``, or ``range_min``/``range_max``); override it for another grid.
        """
        config = quantizer.convert2inferable().get_config()
        n_bits = config["num_bits"]
        if "threshold" in config:
            threshold = np.asarray(config["threshold"], np.float64)
            if config.get("quantization_method") == qi.QuantizationMethod.POWER_OF_TWO.value:
                threshold = 2.0 ** np.ceil(np.log2(threshold))
            signed = config.get("signed", True)
            step = threshold / 2.0 ** (n_bits - int(signed))
            low = -threshold if signed else np.zeros_like(threshold)
            return low, threshold - step, step
        low = np.minimum(np.asarray(config["range_min"], np.float64), 0.0)
        high = np.maximum(np.asarray(config["range_max"], np.float64), 0.0)
        step = (high - low) / (2.0**n_bits - 1)
        adjusted = step * np.floor(low / step + 0.5)
        return adjusted, high - low + adjusted, step

    # ---- the contract ---------------------------------------------------------------------
    def test_dispatcher_and_inferable_registry_find_the_pair(
        self, method: qi.QuantizationMethod
    ) -> None:
        found = get_trainable_quantizer_class(self.training_method, method, self.target)
        assert found is self.trainable
        inferable = qi.get_inferable_quantizer_class(
            self.target,
            method,
            qi.BaseKerasInferableQuantizer,
            identifier=self.training_method.name,
        )
        assert inferable is self.inferable

    def test_constructor_rejects_configs_it_cannot_serve(self) -> None:
        with pytest.raises(ValueError):
            self.trainable(self.wrong_target_config())
        for other in [m for m in qi.QuantizationMethod if m not in self.methods]:
            with pytest.raises(ValueError):
                self.trainable(self.make_config(other))
        parameters = self.make_quantizer(self.methods[0]).convert2inferable().get_config()
        with pytest.raises(ValueError):
            self.inferable(**{**parameters, "num_bits": 0})
        name = "threshold" if "threshold" in parameters else "range_max"
        with pytest.raises(ValueError):
            self.inferable(**{**parameters, name: [float("nan")] * len(parameters[name])})

    def test_output_keeps_shape_and_dtype(self, method: qi.QuantizationMethod) -> None:
        quantized = self.make_quantizer(method)(tf.constant(self.sample_inputs()))
        assert quantized.shape == self.shape
        assert quantized.dtype == tf.float32

    def test_values_lie_on_the_grid_and_in_range(
        self, method: qi.QuantizationMethod, per_channel: bool
    ) -> None:
        quantizer = self.make_quantizer(method, per_channel)
        quantized = quantizer(tf.constant(self.sample_inputs())).numpy().astype(np.float64)
        low, high, step = self.grid(quantizer)
        tolerance = 1e-5 * np.max(np.abs(high)) + 1e-6
        assert np.all(quantized >= low - tolerance)
        assert np.all(quantized <= high + tolerance)
        levels = (quantized - low) / step
        np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
        assert len(np.unique(np.round(levels))) <= 2**self.n_bits

    def test_gradient_flows_to_inputs_inside_the_range(self, method: qi.QuantizationMethod) -> None:
        quantizer = self.make_quantizer(method)
        low, high, _ = self.grid(quantizer)
        x = tf.Variable(self.sample_inputs())
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(quantizer(x, training=True))
        gradient = tape.gradient(loss, x)
        assert gradient is not None, "the quantizer blocks the gradient: training cannot learn"
        gradient = gradient.numpy()
        assert np.all(np.isfinite(gradient))
        inside = (x.numpy() > low) & (x.numpy() < high)
        assert inside.any()
        assert np.all(gradient[inside] != 0.0)

    def test_inferable_equals_trainable_in_inference(
        self, method: qi.QuantizationMethod, per_channel: bool
    ) -> None:
        quantizer = self.make_quantizer(method, per_channel)
        inferable = quantizer.convert2inferable()
        assert isinstance(inferable, self.inferable)
        x = tf.constant(self.sample_inputs(seed=1))
        np.testing.assert_allclose(
            inferable(x).numpy(), quantizer(x, training=False).numpy(), rtol=0, atol=1e-6
        )

    def test_configs_round_trip_through_json(self, method: qi.QuantizationMethod) -> None:
        quantizer = self.make_quantizer(method)
        config = json.loads(json.dumps(quantizer.get_config()))
        assert self.trainable.from_config(config).get_config() == quantizer.get_config()
        inferable = quantizer.convert2inferable()
        config = json.loads(json.dumps(inferable.get_config()))
        rebuilt = self.inferable.from_config(config)
        assert rebuilt.get_config() == inferable.get_config()
        x = tf.constant(self.sample_inputs(seed=2))
        np.testing.assert_array_equal(rebuilt(x).numpy(), inferable(x).numpy())

    def test_wrapped_model_trains_saves_and_loads(
        self, method: qi.QuantizationMethod, tmp_path: Path
    ) -> None:
        tf.random.set_seed(0)
        features = self.shape[0]
        data = np.random.default_rng(3).normal(size=(32, features)).astype(np.float32)
        target = data.sum(axis=1, keepdims=True)
        quantizer = self.trainable(self.make_config(method))
        wrapper = self.wrap(keras.layers.Dense(self.shape[-1]), quantizer)
        model = keras.Sequential([keras.Input((features,)), wrapper, keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        before = [w.copy() for w in model.get_weights()]
        history = model.fit(data, target, batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        after = model.get_weights()
        assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
        expected = model.predict(data, verbose=0)
        path = tmp_path / "model.keras"
        model.save(path)
        loaded = qi.load_quantized_model(path)
        np.testing.assert_allclose(loaded.predict(data, verbose=0), expected, rtol=0, atol=1e-6)


class WeightsQuantizerContract(QuantizerContract):
    """The contract of a weights quantizer pair, on a Dense kernel with per-channel parameters."""

    target = qi.QuantizationTarget.Weights
    shape = (6, 5)  # a Dense kernel: 6 inputs, 5 output channels on axis -1
    per_channel_cases = (True, False)

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

    def wrap(self, layer: keras.layers.Layer, quantizer: Any) -> qi.KerasQuantizationWrapper:
        return qi.KerasQuantizationWrapper(layer, weights_quantizers={"kernel": quantizer})


class ActivationQuantizerContract(QuantizerContract):
    """The contract of an activation quantizer pair, on a batch of activations."""

    target = qi.QuantizationTarget.Activation
    shape = (4, 5)  # a batch of 4 activations with 5 features

    def make_config(self, method: qi.QuantizationMethod, per_channel: bool = False) -> Any:
        return qi.NodeActivationQuantizationConfig(method, self.n_bits, self.parameters(method, 1))

    def wrong_target_config(self) -> Any:
        return qi.NodeWeightsQuantizationConfig(
            self.methods[0],
            self.n_bits,
            self.parameters(self.methods[0], 1),
            weights_per_channel_threshold=False,
        )

    def wrap(self, layer: keras.layers.Layer, quantizer: Any) -> qi.KerasQuantizationWrapper:
        return qi.KerasQuantizationWrapper(layer, activation_quantizers=[quantizer])
