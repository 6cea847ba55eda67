"""Settings files people write (segments, audiences), validated with errors that name the file and the line.

YAML is read twice over: once into plain data for validation (pydantic), once as a node tree that knows
where every key and item sits in the file, so that a validation error points at the line to fix:
``segments/vip.yaml line 7: rule.all[1].value: value 'high' is not a number``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from hub.config import ConfigurationError

M = TypeVar("M", bound=BaseModel)


class DocumentError(ConfigurationError):
    """A settings file that cannot be used: the message names the file, the line and the problem."""


def load_document(path: Path, model: type[M]) -> M:
    """The file at ``path`` validated as ``model``; ``DocumentError`` naming file, line and problem otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
    except OSError as error:
        raise DocumentError(f"{path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise DocumentError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', 'unreadable')})") from None
    data = yaml.safe_load(text) if node is not None else None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        first = error.errors()[0]
        location = [part for part in first["loc"] if isinstance(part, int) or _is_key(node, part)]
        line = _line_of(node, location)
        where = f" line {line}" if line else ""
        raise DocumentError(f"{path}{where}: {_dotted(location) or 'the file'}: {_message(first)}") from None


def _message(error: dict[str, Any]) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _dotted(location: list[Any]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _is_key(node: yaml.Node | None, name: Any) -> bool:
    """Whether ``name`` is a key somewhere in the document (pydantic's locations also hold union tags)."""
    if isinstance(node, yaml.MappingNode):
        return any(key.value == name or _is_key(value, name) for key, value in node.value)
    if isinstance(node, yaml.SequenceNode):
        return any(_is_key(item, name) for item in node.value)
    return False


def _line_of(node: yaml.Node | None, location: list[Any]) -> int | None:
    """The 1-based line of the deepest part of ``location`` the document has."""
    line = None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
