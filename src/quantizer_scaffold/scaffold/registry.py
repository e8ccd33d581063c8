"""The registry as code: read it once, register a quantizer pair in it, unregister one.

Works on file texts (no disk access). ``Registry.read`` parses each file once and gathers
the model (:mod:`.gather`); ``register`` and ``unregister`` run the small writers of
:mod:`.codemods` over the parsed modules. Inserted code uses the spellings the file already
uses (``qi.QuantizationMethod.SYMMETRIC`` when the file writes it so, ``TrainingMethod.X``)
and its layout (:mod:`.layout`), never a new import of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from . import codemods, gather, layout
from .errors import RegistryError
from .naming import MethodName, Target

ENUM_CLASS = "TrainingMethod"
BOM = "\ufeff"
DICTS = [t.dispatcher for t in Target]


@dataclass(frozen=True)
class RegistryTexts:
    """The two registry files: texts and the labels (relative paths) used in messages."""

    enum_text: str
    enum_label: str
    dispatcher_text: str
    dispatcher_label: str


@dataclass(frozen=True)
class RegisteredMethod:
    """One ``TrainingMethod`` member and the classes the dispatcher maps it to, per target.

    ``value`` is the member's value as Python reads it (an int for ``STE = 0``), or its
    source text when that is not a literal (``auto()``).
    """

    name: str
    value: int | str
    quantizers: dict[str, dict[str, str]] = field(default_factory=dict)
    enum: str = ""  # the enum class, dotted (myproj.qat.common.qat_config.TrainingMethod)
    origin: str = ""  # "built-in" (quantizer-scaffold's) or "project"
    registered_in: dict[str, str] = field(default_factory=dict)  # enum/dispatcher files, module

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": self.value,
            "enum": self.enum,
            "origin": self.origin,
            "registered_in": self.registered_in,
            "quantizers": self.quantizers,
        }


def _literal(node: cst.BaseExpression) -> int | str:
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    return gather.code(node)


class Registry:
    """Both registry files, each read once (:mod:`.gather`), and the edits planned on them."""

    def __init__(self, texts: RegistryTexts) -> None:
        self.texts = texts
        # a byte-order mark is no Python: parsed without it, written back in front
        self.enum_bom = BOM if texts.enum_text.startswith(BOM) else ""
        self.enum_module = gather.parse_module(texts.enum_text.removeprefix(BOM), texts.enum_label)
        self.enum = gather.gather_enum(self.enum_module, ENUM_CLASS, texts.enum_label)
        self.dispatcher = gather.DispatcherFile(
            texts.dispatcher_text, texts.dispatcher_label, DICTS
        )

    @property
    def members(self) -> list[str]:
        return list(self.enum.members)

    def table(self, target: Target) -> tuple[gather.Statement, object]:
        found = self.dispatcher.dicts.get(target.dispatcher)
        if found is None:
            raise RegistryError(
                f"{self.texts.dispatcher_label} has no module-level dict literal "
                f"{target.dispatcher} = {{...}}; add one or fix dispatcher_file"
            )
        return found

    def quantizers(self, member: str, target: Target) -> dict[str, str]:
        """Grid (lower case) -> class code, for ``member`` in the target's dict."""
        if target.dispatcher not in self.dispatcher.dicts:
            return {}
        return self.dispatcher.quantizers(target.dispatcher, member) or {}

    def methods(self) -> list[RegisteredMethod]:
        """Every member with its classes per target, as the code says."""
        result = []
        for name, value in self.enum.members.items():
            quantizers = {
                target.value: classes
                for target in Target
                if (classes := self.quantizers(name, target))
            }
            result.append(RegisteredMethod(name, _literal(value), quantizers))
        return result

    def registered_keys(self, method: MethodName, target: Target) -> list[str]:
        """The grids (lower case) that map ``method`` to its generated class."""
        class_name = method.training_class(target)
        return [
            k for k, v in self.quantizers(method.enum_member, target).items() if v == class_name
        ]

    def dict_module(self, target: Target) -> tuple[gather.Statement, cst.Module, gather.DictModel]:
        """The target's dict statement parsed with libcst on its own, and its model."""
        statement, _ = self.table(target)
        module = self.dispatcher.statement_module(statement)
        model = gather.gather_dict(module, target.dispatcher)
        if model is None:  # e.g. ``X = {...}; Y = 1``: two statements on its lines
            raise RegistryError(
                f"{self.texts.dispatcher_label}: {target.dispatcher} = {{...}} shares its lines "
                "with another statement; give it lines of its own"
            )
        return statement, module, model


def _registry(texts: RegistryTexts | Registry) -> Registry:
    return texts if isinstance(texts, Registry) else Registry(texts)


@dataclass(frozen=True)
class RegistrationResult:
    """New registry texts and what changed in them (recorded in the manifest)."""

    enum_text: str
    dispatcher_text: str
    created_member: bool
    created_entry: bool
    added_keys: tuple[str, ...]
    kept_values: tuple[tuple[str, str], ...] = ()  # (grid, the user's class) left as they are
    members: tuple[str, ...] = ()


def register(
    texts: RegistryTexts | Registry,
    method: MethodName,
    target: Target,
    quantization_methods: Sequence[str],
    class_module: str,
    recorded: Sequence[str] = (),
    line_length: int = 88,
    linted: bool = False,
) -> RegistrationResult:
    """Add the enum member (if new), the dispatcher entry and the class import.

    ``recorded``: the grids the tool registered for this pair before; a value its user
    changed since is kept (``kept_values``), any other value in the way is a conflict.
    """
    reg = _registry(texts)
    label = reg.texts.dispatcher_label
    file = reg.dispatcher
    member = method.enum_member
    enum_module = reg.enum_module
    for name in DICTS:
        for line, source in file.foreign_keys(name):
            raise RegistryError(
                f"{label}: {name} has the key {source} (line {line}), which is not a "
                f"{ENUM_CLASS} member; the runtime looks methods up by {ENUM_CLASS}.X and "
                f"scaffold-quantizer writes such keys: make its keys {ENUM_CLASS} members "
                f"(e.g. {ENUM_CLASS}.STE)"
            )
    for line, what in file.later_changes(target.dispatcher, member):
        raise RegistryError(
            f"{label}: line {line} {what} after its literal, so the entry for {member} that "
            f"scaffold-quantizer would add to the literal {target.dispatcher} = {{...}} could "
            "be shadowed; move that change into the literal (or register the method by hand)"
        )
    created_member = member not in reg.enum.members
    if created_member:
        value = codemods.next_value(reg.enum)
        enum_module = enum_module.visit(codemods.AddEnumMember(reg.enum, member, value))
    class_name = method.training_class(target)
    grids = [(qm.upper(), class_name) for qm in quantization_methods]
    statement, module, table = reg.dict_module(target)
    replacements: dict[int, str] = {}
    if table.element(member) is None:
        neighbours = [table.node]
        if layout.prototype(neighbours) is None:  # an empty dict: the other one shows the shape
            for other in Target:
                if other is not target and other.dispatcher in file.dicts:
                    neighbours.append(reg.dict_module(other)[2].node)
        inner_prefix = file.inner_prefix()
        writer: codemods.AddDictEntry | codemods.ExtendDictEntry = codemods.AddDictEntry(
            table,
            f"{file.entry_prefix(ENUM_CLASS)}.{member}",
            [(f"{inner_prefix}.{k}", v) for k, v in grids],
            neighbours,
            file.unit(),
            line_length,
        )
        added, kept = tuple(k for k, _ in grids), ()
    else:
        writer = codemods.ExtendDictEntry(
            table,
            member,
            file.inner_prefix(),
            grids,
            [k.upper() for k in recorded],
            label,
            line_length,
        )
        added, kept = tuple(writer.added), tuple(writer.kept)
    if added:
        replacements[statement.index] = module.visit(writer).code
    insertions: dict[int, str] = {}
    bound = file.bound.get(class_name)
    if bound is None:
        style = layout.ImportStyle.of(file, line_length, linted)
        line, text = codemods.import_insertion(file, class_module, class_name, style, line_length)
        insertions[line] = text
    elif bound != f"{class_module}.{class_name}":
        raise RegistryError(
            f"the registry already imports {class_name} from {bound.rsplit('.', 1)[0]}; "
            "choose another --method"
        )
    return RegistrationResult(
        enum_text=reg.enum_bom + enum_module.code if created_member else reg.texts.enum_text,
        dispatcher_text=file.with_lines(replacements, insertions)
        if replacements or insertions
        else reg.texts.dispatcher_text,
        created_member=created_member,
        created_entry=isinstance(writer, codemods.AddDictEntry),
        added_keys=tuple(k.lower() for k in added),
        kept_values=tuple((k.lower(), v) for k, v in kept),
        members=tuple([*reg.members, member] if created_member else reg.members),
    )


@dataclass(frozen=True)
class UnregistrationResult:
    enum_text: str
    dispatcher_text: str
    removed_keys: tuple[str, ...]
    removed_member: bool
    members: tuple[str, ...] = ()
    kept_member: str = ""  # why a member the tool created stays (the registry still uses it)


def _uses(text: str, name: str) -> int:
    return len(re.findall(rf"\b{re.escape(name)}\b", text))


def unregister(
    texts: RegistryTexts | Registry,
    method: MethodName,
    targets: Sequence[Target],
    class_modules: dict[Target, str],
    remove_member: bool,
    other_dispatchers: Mapping[str, str] | None = None,
) -> UnregistrationResult:
    """Remove the targets' entries for ``method`` and their imports; the member if unused
    (here, and in ``other_dispatchers``: the other back ends' dispatcher texts by file)."""
    reg = _registry(texts)
    file = reg.dispatcher
    member = method.enum_member
    removed: list[str] = []
    replacements: dict[int, str] = {}
    entries_left = {
        t for t in Target if t.dispatcher in file.dicts and member in file.entries(t.dispatcher)
    }
    for target in targets:
        if target.dispatcher not in file.dicts:
            continue
        class_name = method.training_class(target)
        classes = reg.quantizers(member, target)
        keys = [k for k, v in classes.items() if v == class_name]
        if keys:
            statement, module, table = reg.dict_module(target)
            remover = codemods.RemoveDictEntries(table, member, class_name)
            replacements[statement.index] = module.visit(remover).code
            if remover.removed_entry:
                entries_left.discard(target)
        removed.extend(f"{target.value}:{k}" for k in keys)
        # the import goes when nothing else in the file names the class
        if _uses(file.text, class_name) <= 1 + len(keys):
            found = codemods.import_removal(file, class_modules[target], class_name)
            if found is not None:
                replacements[found[0]] = found[1]
    enum_module = reg.enum_module
    removed_member = False
    kept = ""
    dispatcher_text = (
        file.with_lines(replacements, {}) if replacements else reg.texts.dispatcher_text
    )
    if remove_member and member in reg.enum.members and not entries_left:
        use = _member_use(reg, member, dispatcher_text, other_dispatchers or {})
        if use is None:
            enum_module = enum_module.visit(codemods.RemoveEnumMember(reg.enum, member))
            removed_member = True
        else:
            kept = (
                f"kept {ENUM_CLASS}.{member}: {use[0]} still uses it (line {use[1]}); delete "
                "the member yourself once nothing refers to it"
            )
    return UnregistrationResult(
        enum_text=reg.enum_bom + enum_module.code if removed_member else reg.texts.enum_text,
        dispatcher_text=dispatcher_text,
        removed_keys=tuple(removed),
        removed_member=removed_member,
        members=tuple(m for m in reg.members if not (removed_member and m == member)),
        kept_member=kept,
    )


def _member_use(
    reg: Registry, member: str, dispatcher_text: str, others: Mapping[str, str]
) -> tuple[str, int] | None:
    """(file, line) of a reference to ``member`` that would outlive its removal: in the enum
    file (``TrainingMethod.X`` anywhere, ``X`` inside the class), in the dispatcher, or in
    another back end's dispatcher (the enum is shared)."""
    import ast

    enum_tree = ast.parse(reg.texts.enum_text.removeprefix(BOM))
    for node in ast.walk(enum_tree):
        if isinstance(node, ast.ClassDef) and node.name == ENUM_CLASS and node in enum_tree.body:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and inner.id == member:
                    if isinstance(inner.ctx, ast.Load):
                        return reg.texts.enum_label, inner.lineno
        if _names_member(node, {ENUM_CLASS}, member):
            return reg.texts.enum_label, node.lineno  # type: ignore[attr-defined]
    spellings = {ENUM_CLASS} | {
        bound for bound, source in reg.dispatcher.bound.items() if source.endswith(ENUM_CLASS)
    }
    for node in ast.walk(ast.parse(dispatcher_text.removeprefix(BOM))):
        if _names_member(node, spellings, member):
            return reg.texts.dispatcher_label, node.lineno  # type: ignore[attr-defined]
    for label, text in sorted(others.items()):
        try:
            tree = ast.parse(text.removeprefix(BOM))
        except SyntaxError:
            return label, 0  # cannot tell: keep the member
        for node in ast.walk(tree):
            if _names_member(node, {ENUM_CLASS}, member):
                return label, node.lineno  # type: ignore[attr-defined]
    return None


def _names_member(node: object, spellings: set[str], member: str) -> bool:
    import ast

    return (
        isinstance(node, ast.Attribute)
        and node.attr == member
        and isinstance(node.value, ast.Name)
        and node.value.id in spellings
    )


def read_registry(texts: RegistryTexts | Registry) -> list[RegisteredMethod]:
    """Every ``TrainingMethod`` member with its classes per target, as the code says."""
    reg = _registry(texts)
    for target in Target:
        reg.table(target)  # both dictionaries must exist
    return reg.methods()


def registered_keys(
    texts: RegistryTexts | Registry, method: MethodName, target: Target
) -> list[str]:
    """The quantization methods (lower case) that map ``method`` to its generated class."""
    return _registry(texts).registered_keys(method, target)
