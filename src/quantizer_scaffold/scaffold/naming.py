"""One validated name for a training method, and every spelling derived from it.

``--method`` may be ``MyTrainingMethod``, ``my_training_method`` or ``my-training-method``.
The enum member is the CamelCase form (as given when the input is CamelCase); every class,
module and file name below comes from here, so no other module builds a name by hand.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from .errors import InvalidNameError

# Long enough for real names, short enough that every generated line fits in 100 columns.
MAX_LENGTH = 32

_CAMEL = re.compile(r"[A-Z][A-Za-z0-9]*")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# Word boundaries of a CamelCase name: "MyQATMethod2" -> My, QAT, Method2.
_CAMEL_WORDS = re.compile(r"[A-Z]+(?![a-z])[0-9]*|[A-Z][a-z0-9]*|[a-z0-9]+")

_EXAMPLES = "e.g. MyTrainingMethod, my_training_method or my-training-method"


class Target(str, Enum):
    """What a scaffolded quantizer acts on; the values are the CLI's ``--target`` choices."""

    WEIGHTS = "weights"
    ACTIVATION = "activation"

    @property
    def word(self) -> str:
        """The CamelCase word in class names (the seed's ``MyActivationsTrainingQuantizer``)."""
        return "Weights" if self is Target.WEIGHTS else "Activations"

    @property
    def qi_name(self) -> str:
        """The member of ``qi.QuantizationTarget``."""
        return "Weights" if self is Target.WEIGHTS else "Activation"

    @property
    def dispatcher(self) -> str:
        """The dispatcher dictionary that maps training methods to this target's classes."""
        return "METHOD2WEIGHTQUANTIZER" if self is Target.WEIGHTS else "METHOD2ACTQUANTIZER"


class QuantizationMethod(str, Enum):
    """The grids a scaffolded quantizer can implement (``qi.QuantizationMethod`` by value)."""

    SYMMETRIC = "symmetric"
    POWER_OF_TWO = "power_of_two"
    UNIFORM = "uniform"


def _reject(text: str, reason: str) -> InvalidNameError:
    return InvalidNameError(f"invalid --method {text!r}: {reason}")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "unnamed character")
    return f"{char!r} (U+{ord(char):04X} {name})"


def _check_characters(text: str) -> None:
    if not text:
        raise _reject(text, f"the name is empty; give one, {_EXAMPLES}")
    if text != text.strip():
        raise _reject(text, "leading or trailing whitespace; remove it")
    for char in text:
        if not char.isascii():
            raise _reject(
                text,
                f"non-ASCII character {_describe(char)} (it can look like an ASCII letter); "
                "use ASCII letters, digits, '_' or '-'",
            )
    if "/" in text or "\\" in text or ".." in text or text.startswith("."):
        raise _reject(text, "contains a path separator or '..'; a method name is one word")
    bad = sorted({c for c in text if not (c.isalnum() or c in "_-")})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise _reject(text, f"contains {shown}; use only letters, digits, '_' or '-'")
    if len(text) > MAX_LENGTH:
        raise _reject(text, f"{len(text)} characters is too long; use at most {MAX_LENGTH}")
    if text[0].isdigit():
        raise _reject(text, "starts with a digit; Python names must start with a letter")
    if text.startswith("_") or text.endswith("_") or text.startswith("-") or text.endswith("-"):
        raise _reject(
            text, "starts or ends with '_' or '-' (dunder and private names are reserved)"
        )
    if "__" in text or "--" in text:
        raise _reject(text, "contains a doubled '_' or '-'; separate words with one")
    if "_" in text and "-" in text:
        raise _reject(text, "mixes '_' and '-'; use one separator style")


def _words(text: str) -> list[str]:
    """The words of a CamelCase, snake_case or kebab-case name."""
    if _CAMEL.fullmatch(text) and "_" not in text and "-" not in text:
        return _CAMEL_WORDS.findall(text)
    if _SNAKE.fullmatch(text):
        return text.split("_")
    if _KEBAB.fullmatch(text):
        return text.split("-")
    raise _reject(
        text,
        "is neither CamelCase (starting upper-case) nor lower-case snake_case/kebab-case; "
        f"write it as {_EXAMPLES}",
    )


@dataclass(frozen=True)
class MethodName:
    """A training method's name, validated, with every spelling the generator writes."""

    camel: str
    snake: str

    @classmethod
    def parse(cls, text: str) -> MethodName:
        """Validate ``text`` (any of the three spellings); InvalidNameError gives the reason."""
        if not isinstance(text, str):
            raise InvalidNameError(f"invalid --method {text!r}: expected text")
        _check_characters(text)
        words = _words(text)
        if text[0].isupper():
            camel = text
        else:
            camel = "".join(word[:1].upper() + word[1:] for word in words)
        snake = "_".join(word.lower() for word in words)
        for spelling in (camel, snake):
            if keyword.iskeyword(spelling) or keyword.issoftkeyword(spelling):
                raise _reject(text, f"{spelling!r} is a Python keyword; choose another name")
            if not spelling.isidentifier():  # pragma: no cover - guaranteed by the checks above
                raise _reject(text, f"{spelling!r} is not a Python identifier")
        if camel in {"TrainingMethod", "QATConfig", "Enum"}:
            raise _reject(text, f"{camel!r} is already a name in the registry; choose another")
        return cls(camel=camel, snake=snake)

    @property
    def enum_member(self) -> str:
        """The ``TrainingMethod`` member (also the inferable quantizers' identifier)."""
        return self.camel

    @property
    def package(self) -> str:
        """The sub-package (directory) under ``quantizers_dir`` holding this method's modules."""
        return self.snake

    def training_class(self, target: Target) -> str:
        return f"{self.camel}{target.word}TrainingQuantizer"

    def inferable_class(self, target: Target) -> str:
        return f"{self.camel}{target.word}InferableQuantizer"

    def training_module(self, target: Target) -> str:
        """Module file stem of the trainable quantizer, inside :attr:`package`."""
        return f"{target.word.lower()}_training_quantizer"

    def inferable_module(self, target: Target) -> str:
        return f"{target.word.lower()}_inferable_quantizer"

    def test_module(self, target: Target) -> str:
        """File stem of the generated pytest module (unique across methods and targets)."""
        return f"test_{self.snake}_{target.word.lower()}_quantizer"
