"""Stream a chat answer to the browser with Flask and server-sent events.

    pip install streamchat flask
    flask --app examples/flask_app.py run
    curl -N 'http://127.0.0.1:5000/chat?q=Hello'      # or open http://127.0.0.1:5000/

The provider comes from STREAMCHAT_PROVIDER (for example `openai` with OPENAI_API_KEY
set, or `anthropic:claude-sonnet-4-5`); without it the built-in fake provider answers,
with no key and no network. When the browser goes away, the WSGI server closes the
response body and the upstream stream is interrupted, so nobody pays for an unread answer.
"""

import os

import flask

import streamchat
from streamchat.web import SSE_HEADERS, SSE_MIMETYPE

app = flask.Flask(__name__)
client = streamchat.Client(os.environ.get("STREAMCHAT_PROVIDER", "fake"))

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>streamchat + Flask</title>
<form id="ask">
  <input name="q" value="Write a haiku about rivers" size="50"> <button>Ask</button>
</form>
<pre id="answer" style="white-space: pre-wrap"></pre>
<script>
document.getElementById("ask").onsubmit = (submit) => {
  submit.preventDefault();
  const answer = document.getElementById("answer");
  answer.textContent = "";
  const source = new EventSource("/chat?q=" + encodeURIComponent(submit.target.q.value));
  source.addEventListener("text", (e) => { answer.textContent += JSON.parse(e.data).text; });
  // EventSource reconnects when a response ends, so close it on the last event.
  for (const last of ["done", "cancelled", "error"]) {
    source.addEventListener(last, (e) => {
      source.close();
      if (last === "error") answer.textContent += "\\n[" + JSON.parse(e.data).message + "]";
    });
  }
};
</script>
"""


@app.get("/")
def index() -> str:
    return PAGE


@app.get("/chat")
def chat() -> flask.Response:
    stream = client.stream(flask.request.args.get("q", "Hello"))
    return flask.Response(stream.to_sse(), mimetype=SSE_MIMETYPE, headers=SSE_HEADERS)


if __name__ == "__main__":
    app.run(threaded=True)
