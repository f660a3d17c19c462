"""Mistakes that a type checker must catch in user code (tests/test_typing.py expects
exactly these errors, by line): they prove that `parsed` is typed by the model, that the
defaults are seen as typed fields, and that `response` is honestly Optional."""

from __future__ import annotations

import pydantic

import streamchat


class City(pydantic.BaseModel):
    name: str


def mistakes(client: streamchat.Client) -> None:
    parsed = client.complete("x", response_format=City).parsed
    if parsed is not None:
        print(parsed.population)  # error: City has no population
    streamchat.Timeouts(first_token="soon")  # error: not a number
    streamchat.RetryPolicy(max_attemps=2)  # error: misspelt field
    print(client.stream("x").response.text)  # error: response may be None
