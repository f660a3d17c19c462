"""Stream a chat answer to the browser with Flask and server-sent events.

    pip install streamchat flask
    flask --app examples/flask_app.py run
    curl -N 'http://127.0.0.1:5000/chat?q=Hello'      # or open http://127.0.0.1:5000/

In production use a threaded WSGI server, since each answer holds a thread for as long as
it streams: `cd examples && gunicorn --worker-class gthread --threads 16 flask_app:app`,
or `cd examples && waitress-serve --threads=16 flask_app:app`. (gunicorn's default sync
worker serves one request at a time per process and is killed after 30 s of handling
one, which cuts long answers.)

The provider comes from STREAMCHAT_PROVIDER (for example `openai` with OPENAI_API_KEY
set, or `anthropic:claude-sonnet-4-5`); without it the built-in fake provider answers,
with no key and no network. When the browser goes away, the WSGI server closes the
response body and the upstream stream is interrupted, so nobody pays for an unread answer;
while the provider is silent, keep-alive comments every 15 s make sure the server notices.
"""

import os
from pathlib import Path

import flask

import streamchat
from streamchat.web import SSE_HEADERS, SSE_MIMETYPE

app = flask.Flask(__name__)
client = streamchat.Client(os.environ.get("STREAMCHAT_PROVIDER", "fake"))

PAGE = (Path(__file__).parent / "chat.html").read_text("utf-8")
"""The example page (shared with django_app.py): it closes its EventSource on `pagehide`
and shows a server's `error` event apart from a lost connection."""


@app.get("/")
def index() -> str:
    return PAGE


@app.get("/chat")
def chat() -> flask.Response:
    stream = client.stream(flask.request.args.get("q", "Hello"))
    return flask.Response(stream.to_sse(), mimetype=SSE_MIMETYPE, headers=SSE_HEADERS)


if __name__ == "__main__":
    app.run(threaded=True)
