"""Tool use with the LLM clients people use: the conversion of a provider's response, as the
official ``openai`` and ``anthropic`` SDKs return it or as a plain dict, into the JSON the
core's tool API reads (include/skillrt/tools.h, docs/tools.md).

The SDKs' response objects are pydantic models: ``model_dump(mode="json")`` gives their wire
form, the same JSON the HTTP API sent. No SDK is imported here; any object with
``model_dump`` (or ``to_dict``) is converted the same way.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["FORMATS", "response_to_dict"]

FORMATS = ("openai", "responses", "anthropic", "mcp")
"""Tool definition formats: OpenAI Chat Completions, OpenAI Responses, Anthropic Messages,
MCP ``Tool``."""

_MAX_DEPTH = 256


def response_to_dict(response: Any) -> Any:
    """The JSON value of a provider's response (or of part of it).

    Accepts an ``openai`` ChatCompletion, ChatCompletionMessage or Responses ``Response``, an
    ``anthropic`` Message, a list of their output items or content blocks, the same as plain
    dicts and lists (possibly holding SDK objects), or JSON text (str or bytes).

    Returns dicts, lists, str, int, float, bool and None only. Raises InvalidArgumentError
    naming the path of a value that has no JSON form (a set, a file, NaN).
    """
    if isinstance(response, (bytes, bytearray)):
        response = response.decode("utf-8")
    if isinstance(response, str):
        try:
            return json.loads(response)
        except json.JSONDecodeError as e:
            raise InvalidArgumentError(f"response: not JSON text: {e}") from None
    return _convert(response, "response", 0)


def _convert(value: Any, path: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise InvalidArgumentError(f"{path}: nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidArgumentError(f"{path}: NaN and infinity are not JSON")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgumentError(f"{path}: an object key must be a str, got {key!r}")
            out[key] = _convert(item, f"{path}.{key}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_convert(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        # pydantic v2 (both SDKs): the wire form, enums and datetimes as JSON values.
        return _convert(dump(mode="json"), path, depth + 1)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _convert(to_dict(), path, depth + 1)
    raise InvalidArgumentError(
        f"{path}: a {type(value).__name__} is not a response: pass the SDK's response object, "
        "a dict or JSON text"
    )
