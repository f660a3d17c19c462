"""The Transport's request preparation gives what requests' own gives, and its remembered
proxies follow the environment."""

import pytest
import requests

from streamchat.transport.prepare import PROXY_VARIABLES, Preparer

HEADERS = {"User-Agent": "streamchat/test", "Authorization": "Bearer sk-test", "X-Extra": "é"}


@pytest.mark.parametrize(
    "method, url, json",
    [
        ("POST", "http://127.0.0.1:8080/v1/chat/completions", {"model": "m", "stream": True}),
        ("POST", "https://EXAMPLE.com/v1beta/models/g:streamGenerateContent?alt=sse", {"a": [1]}),
        ("POST", "https://example.com/v1/messages?x=a b&y=ü", {"text": "é ☃"}),
        ("GET", "https://bücher.example/v1/models", None),
    ],
)
def test_a_prepared_request_is_what_requests_prepares(method, url, json):
    preparer = Preparer()
    ours = preparer.request(method, url, HEADERS, json)
    again = preparer.request(method, url, HEADERS, json)  # the URL now comes remembered
    theirs = requests.Request(method, url, headers=HEADERS, json=json).prepare()
    for got in (ours, again):
        assert (got.method, got.url, got.body) == (theirs.method, theirs.url, theirs.body)
        assert dict(got.headers) == dict(theirs.headers)


def test_bad_headers_and_urls_are_refused_as_requests_refuses_them():
    with pytest.raises(requests.exceptions.InvalidHeader):
        Preparer().request("POST", "http://127.0.0.1/x", {"X-Bad": "a\r\nInjected: 1"}, {})
    with pytest.raises(requests.exceptions.MissingSchema):
        Preparer().request("POST", "127.0.0.1/x", HEADERS, {})


def test_remembered_proxies_follow_the_variables_that_choose_them(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    preparer = Preparer()
    url = "https://api.example.com/v1/chat/completions"
    assert preparer.proxies(url) == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert preparer.proxies(url) == {"https": "http://proxy.internal:3128"}
    monkeypatch.setenv("NO_PROXY", "api.example.com")
    assert preparer.proxies(url) == {}
    monkeypatch.delenv("NO_PROXY")
    assert preparer.proxies(url) == requests.utils.get_environ_proxies(url)
