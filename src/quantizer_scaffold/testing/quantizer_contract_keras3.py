"""The quantizer contract for Keras 3 pairs, as pytest base classes (on any Keras 3 back end).

The same checks as ``quantizer_contract`` (Keras 2), written once in ``contract.py``; the same
names, so a Keras 3 test module reads like a Keras 2 one::

    class TestMyMethodWeightsQuantizer(WeightsQuantizerContract):
        trainable = MyMethodWeightsTrainingQuantizer
        inferable = MyMethodWeightsInferableQuantizer
        training_method = TrainingMethod.MyMethod
        methods = METHODS

They run on the Keras 3 back end of the process (``KERAS_BACKEND``, TensorFlow by default);
``test_the_contract_holds_on_jax`` then runs the class once more in a subprocess with
``KERAS_BACKEND=jax`` (Keras 3 fixes its back end when it is first imported), and is skipped
with the reason where JAX is not installed.

This module imports Keras 3 and pytest; nothing in the package imports it for you.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any, ClassVar

import numpy as np
import pytest

from quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras, ops

from . import contract
from .contract import registered_member

__all__ = [
    "ActivationQuantizerContract",
    "QuantizerContract",
    "WeightsQuantizerContract",
    "registered_member",
]

JAX_TIMEOUT = 900  # seconds for the JAX run of one test class


class Keras3(contract.ContractBackEnd):
    """The contract's hooks on Keras 3 (``keras.ops``; gradients by the back end's own means)."""

    keras: ClassVar[Any] = keras
    qi: ClassVar[Any] = qi3

    @staticmethod
    def dispatch(training_method: Enum, method: Any, target: Any) -> type:
        return get_trainable_quantizer_class(training_method, method, target)

    @staticmethod
    def tensor(values: np.ndarray) -> Any:
        return ops.convert_to_tensor(values)

    @staticmethod
    def numpy(value: Any) -> np.ndarray:
        if isinstance(value, keras.Variable):
            value = value.value
        return np.asarray(ops.convert_to_numpy(value))

    @staticmethod
    def dtype_name(value: Any) -> str:
        return str(keras.backend.standardize_dtype(value.dtype))

    @staticmethod
    def seed(value: int) -> None:
        keras.utils.set_random_seed(value)

    @staticmethod
    def gradients(
        quantizer: Any, inputs: np.ndarray, upstream: np.ndarray, variables: Sequence[Any]
    ) -> list[np.ndarray | None]:
        x = ops.convert_to_tensor(inputs)
        weight = ops.convert_to_tensor(upstream)
        if keras.backend.backend() == "jax":
            import jax

            def loss(values: Any, x: Any) -> Any:
                with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                    return ops.sum(quantizer(x, True) * weight)

            to_values, to_x = jax.grad(loss, argnums=(0, 1))([v.value for v in variables], x)
            return [np.asarray(to_x), *(np.asarray(g) for g in to_values)]
        if keras.backend.backend() != "tensorflow":
            pytest.skip(
                f"gradients are checked on TensorFlow and JAX, not {keras.backend.backend()}"
            )
        import tensorflow as tf

        watched = [x, *(v.value for v in variables)]
        with tf.GradientTape() as tape:
            for tensor in watched:
                tape.watch(tensor)
            total = ops.sum(quantizer(x, True) * weight)
        found = tape.gradient(total, watched)
        return [None if g is None else np.asarray(g) for g in found]

    @staticmethod
    def compiled(function: Any, variables: Sequence[Any], inputs: np.ndarray) -> np.ndarray:
        if keras.backend.backend() == "jax":
            import jax

            def stateless(values: Any, x: Any) -> Any:
                with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                    return function(x)

            return np.asarray(jax.jit(stateless)([v.value for v in variables], inputs))
        if keras.backend.backend() != "tensorflow":
            pytest.skip(
                f"compiled steps are checked on TensorFlow and JAX, not {keras.backend.backend()}"
            )
        import tensorflow as tf

        return np.asarray(tf.function(function)(tf.constant(inputs)))


_JAX_RUNS: dict[int, subprocess.CompletedProcess[str]] = {}  # pytest session -> its JAX run


def _jax_run(request: pytest.FixtureRequest) -> subprocess.CompletedProcess[str]:
    """One subprocess with ``KERAS_BACKEND=jax`` per pytest session, for every Keras 3 contract
    class the session collected (starting JAX and Keras costs seconds: paid once)."""
    session = request.session
    if id(session) not in _JAX_RUNS:
        nodes = sorted(
            {
                f"{item.path}::{item.cls.__name__}"
                for item in session.items
                if getattr(item, "cls", None) is not None and issubclass(item.cls, Keras3)
            }
        )
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        environment.update(KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
        command = [sys.executable, "-m", "pytest", *nodes, "-q", "-rf", "-p", "no:cacheprovider"]
        _JAX_RUNS[id(session)] = subprocess.run(
            [*command, "-W", "ignore"],
            capture_output=True,
            text=True,
            env=environment,
            cwd=request.config.rootpath,
            timeout=JAX_TIMEOUT,
        )
    return _JAX_RUNS[id(session)]


class QuantizerContract(Keras3, contract.QuantizerContract):
    """The checks shared by both targets (Keras 3); subclass one of the two below."""

    def test_the_contract_holds_on_jax(self, request: pytest.FixtureRequest) -> None:
        """This class's checks once more with ``KERAS_BACKEND=jax``, in a subprocess."""
        if keras.backend.backend() == "jax":
            pytest.skip("this process runs Keras 3 on JAX already")
        if importlib.util.find_spec("jax") is None:
            pytest.skip(
                "JAX is not installed, so the contract was checked on "
                f"{keras.backend.backend()} only: pip install 'quantizer-scaffold[jax]'"
            )
        result = _jax_run(request)
        if result.returncode == 0:
            return
        mine = f"{request.node.path.name}::{type(self).__name__}::"
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
        if failed and not any(mine in line for line in failed):
            return  # another class failed on JAX: its own check reports it
        node = f"{request.node.path}::{type(self).__name__}"
        pytest.fail(
            f"{type(self).__name__} fails on the JAX back end (KERAS_BACKEND=jax python -m "
            f"pytest {node} shows it): write __call__ with keras.ops only, no TensorFlow "
            "calls\n"
            + "\n".join(line for line in failed if mine in line)
            + ("" if failed else result.stdout[-4000:] + result.stderr[-1000:])
        )

    def test_wrapped_model_trains_compiled_with_xla(self, method: qi3.QuantizationMethod) -> None:
        """``jit_compile=True``: how Keras compiles on JAX and on a TensorFlow GPU, and the fast
        way to train on a TensorFlow CPU; the same training as the default compile."""
        if keras.backend.backend() != "tensorflow":
            pytest.skip(
                f"Keras compiles every step with XLA on {keras.backend.backend()}: "
                "test_wrapped_model_trains_saves_and_loads checked it"
            )
        default, data = self.train_wrapped_model(method, jit_compile=False)
        xla, _ = self.train_wrapped_model(method, jit_compile=True)
        difference = np.abs(
            self.numpy(xla.predict(data, verbose=0)) - self.numpy(default.predict(data, verbose=0))
        ).max()
        assert difference <= 1e-4, (
            f"trained with XLA (jit_compile=True), the model with {self._name()} predicts up to "
            f"{difference:.3g} away from the default compile: __call__ must compute the same "
            "in both (keras.ops only; no op whose XLA form rounds otherwise)"
        )


class WeightsQuantizerContract(QuantizerContract, contract.WeightsQuantizerContract):
    """The contract of a Keras 3 weights quantizer pair, on a Dense kernel, per channel."""


class ActivationQuantizerContract(QuantizerContract, contract.ActivationQuantizerContract):
    """The contract of a Keras 3 activation quantizer pair, on a batch of activations."""
