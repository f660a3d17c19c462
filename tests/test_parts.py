"""Content parts: media types from bytes or names, the sources, messages and prompts made of
parts, and their JSON round trip."""

from __future__ import annotations

import base64
import json

import pytest
from media import PDF, PNG, WAV

from streamchat import Audio, Client, ConfigurationError, Document, Image, Message, Text
from streamchat.client import to_messages

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 8
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + b"\x00" * 8
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 8
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 12


@pytest.mark.parametrize(
    ("kind", "data", "media_type"),
    [
        (Image, PNG, "image/png"),
        (Image, JPEG, "image/jpeg"),
        (Image, GIF, "image/gif"),
        (Image, b"GIF87a" + b"\x00" * 8, "image/gif"),
        (Image, WEBP, "image/webp"),
        (Document, PDF, "application/pdf"),
        (Audio, WAV, "audio/wav"),
        (Audio, MP3_ID3, "audio/mpeg"),
        (Audio, MP3_FRAME, "audio/mpeg"),
    ],
)
def test_media_type_is_sniffed_from_the_bytes(kind, data, media_type):
    assert kind(data=data).media_type == media_type


def test_the_name_gives_the_media_type_when_the_bytes_do_not():
    assert Document(data=b"plain notes", name="notes.txt").media_type == "text/plain"
    assert Audio(data=b"\x00" * 16, name="take.MP3").media_type == "audio/mpeg"


def test_an_explicit_media_type_wins_over_the_sniffed_one():
    assert Image(data=PNG, media_type="image/x-custom").media_type == "image/x-custom"


def test_unknown_bytes_are_a_clear_configuration_error():
    with pytest.raises(ConfigurationError, match="media_type="):
        Document(data=b"just some bytes")


def test_a_url_names_its_media_type_by_extension_or_leaves_it_unknown():
    assert Image(url="https://example.com/cat.jpg?size=2").media_type == "image/jpeg"
    assert Image(url="https://example.com/render").media_type is None


def test_a_data_url_is_content_with_its_declared_or_sniffed_media_type():
    encoded = base64.b64encode(PNG).decode()
    assert Image(url=f"data:image/png;base64,{encoded}") == Image(data=PNG)
    assert Image(url=f"DATA:;base64,{encoded}").media_type == "image/png"
    notes = Document(url="data:text/plain;charset=utf-8,Meeting%20at%20noon.")
    assert (notes.url, notes.data, notes.media_type) == (None, b"Meeting at noon.", "text/plain")


@pytest.mark.parametrize(("url", "message"), [
    ("data:image/png;base64", "without a comma"),
    ("data:image/png;base64,not*base64", "base64 is invalid"),
    ("data:image/png;base64," + base64.b64encode(PNG).decode(), "use Image"),
])
def test_a_bad_data_url_says_what_is_wrong(url, message):
    with pytest.raises(ConfigurationError, match=message):
        Audio(url=url)


@pytest.mark.parametrize("fields", [{}, {"data": PNG, "url": "https://x/cat.png"},
                                    {"url": "https://x/a.png", "file_id": "file-1"}])
def test_exactly_one_source(fields):
    with pytest.raises(ConfigurationError, match="exactly one of data=, url= or file_id="):
        Image(**fields)


@pytest.mark.parametrize(("kind", "data", "right"), [
    (Image, PDF, "Document"), (Document, PNG, "Image"), (Audio, PNG, "Image"),
    (Document, WAV, "Audio"), (Image, WAV, "Audio"),
])
def test_content_of_another_kind_names_the_right_class(kind, data, right):
    with pytest.raises(ConfigurationError, match=f"use {right}"):
        kind(data=data)


def test_from_path_reads_the_file_and_keeps_its_name(tmp_path):
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    image = Image.from_path(path, detail="low")
    assert (image.data, image.name, image.media_type, image.detail) == (
        PNG, "cat.png", "image/png", "low")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert Document.from_path(str(notes)).media_type == "text/plain"


def test_from_path_of_a_missing_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="missing\\.png"):
        Image.from_path(tmp_path / "missing.png")


def test_data_may_be_given_as_base64_text():
    assert Image(data=base64.b64encode(PNG).decode()).data == PNG
    with pytest.raises(ConfigurationError, match="base64"):
        Image(data="not base64 at all!", media_type="image/png")


def test_repr_never_shows_the_bytes():
    text = repr(Image(data=PNG * 1000, detail="high"))
    assert "<69000 bytes>" in text and "media_type='image/png'" in text
    assert "\\x89" not in text and len(text) < 200


def test_repr_and_errors_never_show_a_urls_credentials():
    key = "sk-test-0123456789abcdef"
    audio = Audio(url=f"https://user:{key}@files.example/a.wav?key={key}#t=1")
    assert repr(audio) == "Audio(url='https://files.example/a.wav?...', media_type='audio/wav')"
    inline = Image(url="data:image/png;base64," + "A" * 5000)
    assert repr(inline) == "Image(data=<3750 bytes>, media_type='image/png')"
    client = Client(provider="ollama", api_key=key, base_url="http://127.0.0.1:9")
    with pytest.raises(ConfigurationError) as caught:
        client.stream([audio, "what is this?"], model="m")
    assert "ollama" in str(caught.value) and "files.example/a.wav" in str(caught.value)
    assert key not in str(caught.value) and key not in repr(caught.value)


def test_base64_is_encoded_once():
    image = Image(data=PNG)
    assert image.base64 == base64.b64encode(PNG).decode()
    assert image.base64 is image.base64
    assert image.data_url() == "data:image/png;base64," + image.base64


def test_text_takes_its_text_positionally_and_cache_by_name():
    part = Text("long shared context", cache=True)
    assert (part.text, part.cache) == ("long shared context", True)


# --- messages and prompts -----------------------------------------------------------------


def test_strings_in_a_list_are_text_parts():
    image = Image(data=PNG)
    message = Message.user(["What is in this picture?", image])
    assert message.content == [Text("What is in this picture?"), image]
    assert message.content[1] is image


def test_message_content_validates_part_dicts():
    message = Message.model_validate({"role": "user", "content": [
        "hi", {"type": "image", "url": "https://example.com/cat.png", "detail": "low"}]})
    assert message.content == [Text("hi"), Image(url="https://example.com/cat.png", detail="low")]


def test_a_plain_string_stays_a_plain_string():
    assert Message.user("hello").content == "hello"


def test_tool_results_keep_parts_and_encode_anything_else_as_json():
    image = Image(data=PNG)
    assert Message.tool("call_1", [Text("chart:"), image]).content == [Text("chart:"), image]
    assert Message.tool("call_1", image).content == [image]
    assert Message.tool("call_1", {"a": 1}).content == '{"a": 1}'
    assert Message.tool("call_1", ["a", "b"]).content == '["a", "b"]'


def test_a_list_prompt_of_parts_is_one_user_message():
    document = Document(data=PDF)
    assert to_messages(["Summarise", document]) == [Message.user(["Summarise", document])]
    assert to_messages(document) == [Message.user([document])]


def test_a_list_prompt_of_messages_is_still_a_conversation():
    messages = [Message.user("a"), {"role": "assistant", "content": "b"}]
    assert [m.role for m in to_messages(messages)] == ["user", "assistant"]


def test_messages_and_parts_do_not_mix_in_one_prompt():
    with pytest.raises(ConfigurationError, match=r"Message\.user"):
        to_messages([Message.user("a"), Image(data=PNG)])


# --- JSON ------------------------------------------------------------------------------------


def test_parts_round_trip_through_json_with_bytes_as_base64():
    message = Message.user([Text("look", cache=True), Image(data=PNG, detail="low"),
                            Document(url="https://example.com/a.pdf"),
                            Audio(data=WAV),
                            Document(file_id="file-9", media_type="application/pdf")])
    dumped = json.loads(json.dumps(message.model_dump(mode="json", exclude_defaults=True)))
    assert dumped["content"][1] == {"type": "image", "data": base64.b64encode(PNG).decode(),
                                    "media_type": "image/png", "detail": "low"}
    assert dumped["content"][0] == {"type": "text", "text": "look", "cache": True}
    again = Message.model_validate(dumped)
    assert again == message
    assert again.content[1].data == PNG
