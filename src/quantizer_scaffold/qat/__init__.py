"""Quantization-aware training: ``qat_init`` wraps a model, ``qat_finalize`` makes it inferable.

Both take a Keras 2 (``tf_keras``) or a Keras 3 (``keras``) model and hand it to that Keras'
back end, told from the model's class alone: the other Keras is never imported. Importing this
package stays cheap: each back end loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..quantizers_infrastructure.common.constants import QuantizationMethod
from ..quantizers_infrastructure.common.dependencies import require_keras_runtime
from ..quantizers_infrastructure.common.lazy_exports import lazy_exports
from .common.dispatchers import register_dispatcher
from .common.qat_config import QATConfig, TrainingMethod

_LAZY_EXPORTS = {
    "QATReport": ("quantizer_scaffold.qat.common.flow", None),
    "TfmotQuantizer": ("quantizer_scaffold.qat.keras.tfmot_adapter", require_keras_runtime),
    "TfmotQuantizeConfig": ("quantizer_scaffold.qat.keras.tfmot_adapter", require_keras_runtime),
}

__all__ = [
    "QATConfig",
    "TrainingMethod",
    "qat_finalize",
    "qat_init",
    "register_dispatcher",
    *_LAZY_EXPORTS,
]


def qat_init(
    model: Any,
    representative_dataset: Any = None,
    qat_config: QATConfig | None = None,
    weights_n_bits: int = 8,
    activation_n_bits: int = 8,
    weights_method: QuantizationMethod | None = QuantizationMethod.SYMMETRIC,
    activation_method: QuantizationMethod | None = QuantizationMethod.SYMMETRIC,
    per_channel: bool = True,
    quantize_inputs: bool = True,
) -> Any:
    """A new, uncompiled model with every supported layer wrapped for quantization-aware training.

    ``model`` is a Functional or Sequential model of Keras 2 (``tf_keras``) or Keras 3; the
    result is of the same Keras. ``representative_dataset`` is a callable returning an iterable
    of input batches (as TFLite's converter takes it); it is required unless
    ``activation_method`` is None. Pass ``weights_method=None`` to quantize activations only,
    ``quantize_inputs=False`` to leave the model's float inputs unquantized (an int8 export
    then needs them quantized some other way). ``model`` itself is not changed;
    ``result.qat_report`` says what was wrapped.
    """
    from .common import flow

    return flow.qat_init(
        _back_end(model, "qat_init"),
        model,
        representative_dataset,
        qat_config,
        weights_n_bits,
        activation_n_bits,
        weights_method,
        activation_method,
        per_channel,
        quantize_inputs,
    )


def qat_finalize(qat_model: Any) -> Any:
    """A new model with every trainable quantizer replaced by its ``convert2inferable()``.

    In inference mode it predicts what ``qat_model`` predicts; save it with ``model.save`` and
    reload it with ``load_quantized_model`` of the same Keras (``qi`` or ``qi3``).
    """
    from .common import flow

    return flow.qat_finalize(_back_end(qat_model, "qat_finalize"), qat_model)


def _back_end(model: Any, feature: str) -> Any:
    """The QAT back end of the Keras ``model`` belongs to (imported on first use)."""
    from ..quantizers_infrastructure.common import dependencies
    from ..quantizers_infrastructure.common.frameworks import KERAS2, KERAS3, keras_of

    keras = keras_of(model)
    if keras is None:
        raise TypeError(
            f"{feature} takes a Keras model (Keras 3: keras.Model; Keras 2: tf_keras.Model), "
            f"got {type(model).__module__}.{type(model).__qualname__}"
        )
    require, module, back_end = {
        KERAS2: (dependencies.require_keras_runtime, "qat.keras", "KERAS2_BACK_END"),
        KERAS3: (dependencies.require_keras3_runtime, "qat.keras3", "KERAS3_BACK_END"),
    }[keras]
    try:
        require(feature)
    except dependencies.MissingDependencyError as error:
        raise dependencies.MissingDependencyError(str(error), name=feature) from None
    facade = importlib.import_module(f"quantizer_scaffold.{module}.quantization_facade")
    return getattr(facade, back_end)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY_EXPORTS, __all__)
