"""flatqat's straight-through-estimator quantizers."""

from flatqat import quantizers_infrastructure as qi


class STEWeightsQuantizer(qi.BaseTrainableQuantizer):
    target = qi.QuantizationTarget.Weights

    def __call__(self, inputs):
        return self.grid(inputs)


class STEActivationsQuantizer(qi.BaseTrainableQuantizer):
    target = qi.QuantizationTarget.Activation

    def __call__(self, inputs):
        return self.grid(inputs)
