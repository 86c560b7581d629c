"""Schemas of the served OpenAPI document, their $refs resolved against the document itself."""
from __future__ import annotations

from collections.abc import Iterator

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012


def _embedded(node: object) -> Iterator[dict]:
    """Every schema in the document with an $id of its own (the rule bots' schema)."""
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            yield node
        for value in node.values():
            yield from _embedded(value)
    elif isinstance(node, list):
        for value in node:
            yield from _embedded(value)


def validator(document: dict, schema: dict) -> Draft202012Validator:
    """A validator of ``schema``, whose "#/components/..." $refs point into ``document``, and whose
    embedded resources resolve their own $refs."""
    registry = Registry().with_resources((embedded["$id"], DRAFT202012.create_resource(embedded))
                                         for embedded in _embedded(document))
    return Draft202012Validator({**schema, "components": document["components"]}, registry=registry)


def body_validator(document: dict, path: str, method: str) -> Draft202012Validator:
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return validator(document, body)


def answer_validator(document: dict, path: str, method: str, status: int) -> Draft202012Validator:
    """The schema of the JSON answer ``status`` of an operation; KeyError if the document lacks it."""
    answer = document["paths"][path][method]["responses"][str(status)]
    return validator(document, answer["content"]["application/json"]["schema"])
