"""The registry as code: read it, register a quantizer pair in it, unregister one.

Works on file texts (no disk access), with the transformers from :mod:`.codemods`. Inserted
code uses the spellings the file already uses (``qi.QuantizationMethod.SYMMETRIC`` when the
file writes it so, ``TrainingMethod.X``), never a new import of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from . import codemods
from .errors import RegistryError
from .naming import MethodName, Target

ENUM_CLASS = "TrainingMethod"


@dataclass(frozen=True)
class RegistryTexts:
    """The two registry files: texts and the labels (relative paths) used in messages."""

    enum_text: str
    enum_label: str
    dispatcher_text: str
    dispatcher_label: str


@dataclass(frozen=True)
class RegistrationResult:
    """New registry texts and what changed in them (recorded in the manifest)."""

    enum_text: str
    dispatcher_text: str
    created_member: bool
    created_entry: bool
    added_keys: tuple[str, ...]
    replaced_keys: tuple[str, ...]


@dataclass(frozen=True)
class RegisteredMethod:
    """One ``TrainingMethod`` member and the classes the dispatcher maps it to, per target."""

    name: str
    value: str
    quantizers: dict[str, dict[str, str]] = field(default_factory=dict)


def _parse_enum(texts: RegistryTexts) -> tuple[cst.Module, dict[str, cst.BaseExpression]]:
    module = codemods.parse_module(texts.enum_text, texts.enum_label)
    class_def = codemods.find_class(module, ENUM_CLASS)
    if class_def is None:
        raise RegistryError(
            f"{texts.enum_label} defines no class {ENUM_CLASS}; point [tool.scaffold-quantizer] "
            "training_method_file at the file that does"
        )
    return module, codemods.enum_members(class_def)


def _parse_dispatcher(texts: RegistryTexts, target: Target | None = None) -> cst.Module:
    module = codemods.parse_module(texts.dispatcher_text, texts.dispatcher_label)
    for candidate in Target if target is None else [target]:
        if codemods.find_dict(module, candidate.dispatcher) is None:
            raise RegistryError(
                f"{texts.dispatcher_label} has no module-level dict literal "
                f"{candidate.dispatcher} = {{...}}; add one or fix dispatcher_file"
            )
    return module


def _spelling(module: cst.Module, label: str, outer: bool) -> str:
    """How ``module`` writes ``TrainingMethod`` (outer keys) or ``QuantizationMethod`` (inner)."""
    for target in Target:
        node = codemods.find_dict(module, target.dispatcher)
        if node is None:
            continue
        for element in node.elements:
            if outer:
                prefix = codemods.dict_key_prefix(element)
                if prefix is not None:
                    return prefix
            elif isinstance(element, cst.DictElement) and isinstance(element.value, cst.Dict):
                for inner in element.value.elements:
                    prefix = codemods.dict_key_prefix(inner)
                    if prefix is not None:
                        return prefix
    wanted = ENUM_CLASS if outer else "QuantizationMethod"
    bound = codemods.imported_names(module)
    for name, source in bound.items():
        if source.rsplit(".", 1)[-1] == wanted:
            return name
    if not outer:
        for name, source in bound.items():
            if source.endswith("quantizers_infrastructure"):
                return f"{name}.QuantizationMethod"
    raise RegistryError(
        f"{label} does not import {wanted}; add the import so new entries can refer to it"
    )


def _unit(module: cst.Module) -> str:
    return module.default_indent if module.default_indent.strip() == "" else "    "


def register(
    texts: RegistryTexts,
    method: MethodName,
    target: Target,
    quantization_methods: Sequence[str],
    class_module: str,
    replaceable: Sequence[str] = (),
    line_length: int = 88,
) -> RegistrationResult:
    """Add the enum member (if new), the dispatcher entry and the class import."""
    enum_module, members = _parse_enum(texts)
    member = method.enum_member
    add_member = codemods.AddEnumMember(ENUM_CLASS, member)
    new_enum = enum_module.visit(add_member)
    dispatcher = _parse_dispatcher(texts, target)
    class_name = method.training_class(target)
    add_entry = codemods.AddDictEntry(
        target.dispatcher,
        key_prefix=_spelling(dispatcher, texts.dispatcher_label, outer=True),
        member=member,
        inner_prefix=_spelling(dispatcher, texts.dispatcher_label, outer=False),
        inner=[(qm.upper(), class_name) for qm in quantization_methods],
        replaceable=[k.upper() for k in replaceable],
        label=texts.dispatcher_label,
        unit=_unit(dispatcher),
    )
    updated = dispatcher.visit(add_entry)
    assert add_entry.change is not None
    # AddImport is idempotent; a different binding of the class name is a conflict.
    updated = updated.visit(codemods.AddImport(class_module, class_name, line_length))
    return RegistrationResult(
        enum_text=new_enum.code,
        dispatcher_text=updated.code,
        created_member=member not in members,
        created_entry=add_entry.change.created_entry,
        added_keys=tuple(k.lower() for k in add_entry.change.added_keys),
        replaced_keys=tuple(k.lower() for k in add_entry.change.replaced_keys),
    )


@dataclass(frozen=True)
class UnregistrationResult:
    enum_text: str
    dispatcher_text: str
    removed_keys: tuple[str, ...]
    removed_member: bool


def unregister(
    texts: RegistryTexts,
    method: MethodName,
    targets: Sequence[Target],
    class_modules: dict[Target, str],
    remove_member: bool,
) -> UnregistrationResult:
    """Remove the targets' entries for ``method`` and their imports; the member if unused."""
    enum_module, members = _parse_enum(texts)
    dispatcher = _parse_dispatcher(texts)
    removed: list[str] = []
    for target in targets:
        class_name = method.training_class(target)
        remover = codemods.RemoveDictEntries(target.dispatcher, method.enum_member, class_name)
        dispatcher = dispatcher.visit(remover)
        removed.extend(f"{target.value}:{k.lower()}" for k in remover.removed_keys)
        dispatcher = dispatcher.visit(codemods.RemoveImport(class_modules[target], class_name))
    still_used = any(
        codemods.dict_key_attr(e) == method.enum_member
        for t in Target
        for e in (codemods.find_dict(dispatcher, t.dispatcher) or cst.Dict([])).elements
    )
    removed_member = False
    if remove_member and method.enum_member in members and not still_used:
        remover = codemods.RemoveEnumMember(ENUM_CLASS, method.enum_member)
        enum_module = enum_module.visit(remover)
        removed_member = remover.removed
    return UnregistrationResult(
        enum_text=enum_module.code,
        dispatcher_text=dispatcher.code,
        removed_keys=tuple(removed),
        removed_member=removed_member,
    )


def read_registry(texts: RegistryTexts) -> list[RegisteredMethod]:
    """Every ``TrainingMethod`` member with its classes per target, as the code says."""
    _, members = _parse_enum(texts)
    dispatcher = _parse_dispatcher(texts)
    empty = cst.Module([])
    # each dictionary is found and indexed once: per member it would be quadratic in its size
    entries: dict[Target, dict[str | None, list[cst.BaseDictElement]]] = {}
    for target in Target:
        table = codemods.find_dict(dispatcher, target.dispatcher)
        entries[target] = {}
        for element in table.elements if table else []:
            entries[target].setdefault(codemods.dict_key_attr(element), []).append(element)
    result = []
    for name, value in members.items():
        quantizers: dict[str, dict[str, str]] = {}
        for target in Target:
            for element in entries[target].get(name, []):
                inner = element.value  # type: ignore[attr-defined]
                if isinstance(inner, cst.Dict):
                    quantizers[target.value] = {
                        (codemods.dict_key_attr(e) or empty.code_for_node(e.key)).lower(): (  # type: ignore[attr-defined]
                            empty.code_for_node(e.value)  # type: ignore[attr-defined]
                        )
                        for e in inner.elements
                    }
        result.append(RegisteredMethod(name, empty.code_for_node(value), quantizers))
    return result


def registered_keys(texts: RegistryTexts, method: MethodName, target: Target) -> list[str]:
    """The quantization methods (lower case) that map ``method`` to its generated class."""
    class_name = method.training_class(target)
    for entry in read_registry(texts):
        if entry.name == method.enum_member:
            return [k for k, v in entry.quantizers.get(target.value, {}).items() if v == class_name]
    return []
