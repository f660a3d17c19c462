"""A one-file Django project that streams a chat answer as server-sent events.

    pip install streamchat django
    python examples/django_app.py runserver            # then open http://127.0.0.1:8000/
    cd examples && gunicorn --worker-class gthread --threads 16 django_app:application
    curl -N 'http://127.0.0.1:8000/chat?q=Hello'

Serve it with threads (runserver does; gunicorn needs the gthread worker, waitress has
threads): each answer holds a thread while it streams, and gunicorn's default sync worker
handles one request at a time and kills it after 30 s.

The provider comes from STREAMCHAT_PROVIDER (for example `openai` with OPENAI_API_KEY
set); without it the built-in fake provider answers, with no key and no network. When the
browser goes away, Django closes the response, which interrupts the upstream stream.
"""

import os
import sys
from pathlib import Path

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=True,
        SECRET_KEY="streamchat-example-only",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    )

from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

import streamchat
from streamchat.web import SSE_HEADERS, SSE_MIMETYPE

client = streamchat.Client(os.environ.get("STREAMCHAT_PROVIDER", "fake"))


PAGE = (Path(__file__).parent / "chat.html").read_text("utf-8")
"""The example page, shared with flask_app.py."""


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


def chat(request: HttpRequest) -> StreamingHttpResponse:
    stream = client.stream(request.GET.get("q", "Hello"))
    return StreamingHttpResponse(
        stream.to_sse(), content_type=SSE_MIMETYPE, headers=SSE_HEADERS
    )


urlpatterns = [path("", index), path("chat", chat)]
application = get_wsgi_application()  # for a WSGI server: gunicorn django_app:application

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
