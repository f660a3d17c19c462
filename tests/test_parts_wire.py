"""Every wire's exact request JSON for each kind of part and each source, and the parts each
provider cannot take refused before anything is sent.

Each expected shape is the provider's documented one, cited beside its test, and agrees
with the request types of the providers' own SDKs: openai-python
(types/chat/chat_completion_content_part_*_param.py, types/responses/response_input_*_param.py),
anthropic-sdk-python (types/image_block_param.py, document_block_param.py, *_source_param.py,
beta/beta_file_*_source_param.py), google-genai (models.py `_Part_to_mldev`: inlineData,
fileData) and ollama-python (`_types.py`: `Message.images` as base64).
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List

import pytest
from media import B64_PDF, B64_PNG, B64_WAV, PDF, PNG, WAV

from streamchat import Audio, ConfigurationError, Document, Image, Message, Text
from streamchat.types import ChatRequest, HttpRequest, ToolCall
from streamchat.wire import anthropic, gemini, ollama, openai_chat, openai_responses
from streamchat.wire.common import Endpoint


def build(module: Any, provider: str, *messages: Message) -> HttpRequest:
    endpoint = Endpoint(provider, "https://api.example.com/v1", api_key="sk-test")
    return module.build_request(ChatRequest(model="m", messages=list(messages)), endpoint)


def user(*parts: Any) -> Message:
    return Message.user(list(parts))


# --- OpenAI Chat Completions --------------------------------------------------------------
# https://platform.openai.com/docs/guides/images-vision (image_url: URL or data URL, detail)
# https://platform.openai.com/docs/guides/pdf-files (file: filename + data URL, or file_id)
# https://platform.openai.com/docs/guides/audio (input_audio: base64 data and format)


def chat_content(*parts: Any) -> List[Dict[str, Any]]:
    body = build(openai_chat, "openai", user(*parts)).json
    assert body is not None
    return body["messages"][0]["content"]


def test_openai_chat_images_by_url_and_as_data_url_with_detail():
    assert chat_content("What is this?", Image(url="https://example.com/cat.png"),
                        Image(data=PNG, detail="low")) == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + B64_PNG,
                                            "detail": "low"}},
    ]


def test_openai_chat_pdf_as_file_data_with_a_name_or_by_file_id():
    assert chat_content(Document(data=PDF, name="report.pdf"), Document(data=PDF),
                        Document(file_id="file-6F2k")) == [
        {"type": "file", "file": {"filename": "report.pdf",
                                  "file_data": "data:application/pdf;base64," + B64_PDF}},
        {"type": "file", "file": {"filename": "document.pdf",
                                  "file_data": "data:application/pdf;base64," + B64_PDF}},
        {"type": "file", "file": {"file_id": "file-6F2k"}},
    ]


def test_openai_chat_audio_as_base64_with_its_format():
    mp3 = b"ID3\x04" + b"\x00" * 12
    assert chat_content(Audio(data=WAV), Audio(data=mp3)) == [
        {"type": "input_audio", "input_audio": {"data": B64_WAV, "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(mp3).decode(),
                                                "format": "mp3"}},
    ]


@pytest.mark.parametrize(("part", "reason"), [
    (Image(file_id="file-1"), "file id"),
    (Document(url="https://example.com/a.pdf"), "no file URLs"),
    (Document(data=b"notes", name="notes.txt"), "PDF files only"),
    (Audio(url="https://example.com/a.wav"), "only as data"),
    (Audio(data=b"fLaC" + b"\x00" * 12, media_type="audio/flac"), "WAV or MP3"),
])
def test_openai_chat_refuses_what_chat_completions_cannot_take(part, reason):
    with pytest.raises(ConfigurationError, match=reason) as caught:
        build(openai_chat, "groq", user("x", part))
    assert "groq" in str(caught.value) and type(part).__name__ in str(caught.value)


def test_openai_chat_tool_results_take_text_parts_only():
    body = build(openai_chat, "openai", Message.tool("call_1", [Text("a"), Text("b")])).json
    assert body["messages"][0] == {"role": "tool", "tool_call_id": "call_1", "content": "a\n\nb"}
    with pytest.raises(ConfigurationError, match="tool result"):
        build(openai_chat, "openai", Message.tool("call_1", [Image(data=PNG)]))


# --- OpenAI Responses ------------------------------------------------------------------------
# https://platform.openai.com/docs/guides/images-vision?api-mode=responses (input_image)
# https://platform.openai.com/docs/guides/pdf-files?api-mode=responses (input_file: file_data
# with filename, file_url, file_id)
# https://platform.openai.com/docs/api-reference/responses/create (function_call_output.output
# as a list of input_text / input_image / input_file)


def responses_body(*messages: Message) -> Dict[str, Any]:
    body = build(openai_responses, "openai-responses", *messages).json
    assert body is not None
    return body


def test_responses_images_files_and_text_as_input_items():
    body = responses_body(user(
        "Compare", Image(data=PNG, detail="high"), Image(url="https://example.com/cat.png"),
        Image(file_id="file-img"), Document(data=PDF, name="report.pdf"),
        Document(url="https://example.com/letter.pdf"), Document(file_id="file-doc"),
    ))
    assert body["input"] == [{"role": "user", "content": [
        {"type": "input_text", "text": "Compare"},
        {"type": "input_image", "detail": "high", "image_url": "data:image/png;base64," + B64_PNG},
        {"type": "input_image", "detail": "auto", "image_url": "https://example.com/cat.png"},
        {"type": "input_image", "detail": "auto", "file_id": "file-img"},
        {"type": "input_file", "filename": "report.pdf",
         "file_data": "data:application/pdf;base64," + B64_PDF},
        {"type": "input_file", "file_url": "https://example.com/letter.pdf"},
        {"type": "input_file", "file_id": "file-doc"},
    ]}]


def test_responses_text_documents_go_as_files_too():
    body = responses_body(user(Document(data=b"plain notes", name="notes.txt")))
    assert body["input"][0]["content"] == [{
        "type": "input_file", "filename": "notes.txt",
        "file_data": "data:text/plain;base64," + base64.b64encode(b"plain notes").decode()}]


def test_responses_tool_outputs_carry_parts():
    body = responses_body(Message.tool("call_1", [Text("the chart:"), Image(data=PNG)]))
    assert body["input"] == [{"type": "function_call_output", "call_id": "call_1", "output": [
        {"type": "input_text", "text": "the chart:"},
        {"type": "input_image", "detail": "auto", "image_url": "data:image/png;base64," + B64_PNG},
    ]}]


def test_responses_system_parts_are_instructions_text():
    body = responses_body(Message.system([Text("Be brief.", cache=True), "Be kind."]),
                          Message.user("hi"))
    assert body["instructions"] == "Be brief.\n\nBe kind."


def test_responses_refuse_audio():
    with pytest.raises(ConfigurationError, match="openai-responses cannot take Audio"):
        responses_body(user(Audio(data=WAV)))


# --- Anthropic -----------------------------------------------------------------------------
# https://docs.anthropic.com/en/docs/build-with-claude/vision (image: base64 or url source)
# https://docs.anthropic.com/en/docs/build-with-claude/pdf-support (document: base64 or url)
# https://docs.anthropic.com/en/docs/build-with-claude/citations (document: text source)
# https://docs.anthropic.com/en/docs/build-with-claude/files (file source + files beta header)
# https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (cache_control, at most 4)


def anthropic_request(*messages: Message, headers: Any = None) -> HttpRequest:
    endpoint = Endpoint("anthropic", "https://api.anthropic.com/v1", api_key="sk-ant",
                        headers=headers or {})
    return anthropic.build_request(ChatRequest(model="m", messages=list(messages)), endpoint)


def test_anthropic_image_and_document_blocks_for_every_source():
    request = anthropic_request(user(
        "Read these", Image(data=PNG), Image(url="https://example.com/cat.png"),
        Document(data=PDF), Document(url="https://example.com/a.pdf"),
        Document(data=b"plain notes", name="notes.txt"),
    ))
    assert request.json["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "Read these"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": B64_PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": B64_PDF}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                        "data": "plain notes"}},
    ]}]
    assert "anthropic-beta" not in request.headers


def test_anthropic_file_ids_declare_the_files_beta_beside_the_callers_own():
    request = anthropic_request(user(Image(file_id="file_011"), Document(file_id="file_012")),
                                headers={"anthropic-beta": "output-128k-2025-02-19"})
    assert request.json["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
        {"type": "document", "source": {"type": "file", "file_id": "file_012"}},
    ]
    assert request.headers["anthropic-beta"] == "output-128k-2025-02-19,files-api-2025-04-14"


def test_anthropic_cache_breakpoints_on_parts_and_system_blocks():
    request = anthropic_request(
        Message.system([Text("You review contracts.", cache=True)]),
        user(Document(data=PDF, cache=True), "Is clause 4 standard?"),
    )
    assert request.json["system"] == [
        {"type": "text", "text": "You review contracts.", "cache_control": {"type": "ephemeral"}}]
    assert request.json["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in request.json["messages"][0]["content"][1]


def test_anthropic_plain_system_prompts_stay_one_string():
    request = anthropic_request(Message.system("Be brief."), Message.user("hi"))
    assert request.json["system"] == "Be brief."


def test_anthropic_more_than_four_breakpoints_is_a_clear_error():
    parts = [Text(f"part {i}", cache=True) for i in range(5)]
    with pytest.raises(ConfigurationError, match=r"at most 4 cache breakpoints.*has 5"):
        anthropic_request(user(*parts))
    anthropic_request(user(*parts[:4]))


def test_anthropic_tool_results_carry_parts():
    request = anthropic_request(Message.tool("toolu_1", [Text("chart:"), Image(data=PNG)]))
    assert request.json["messages"] == [{"role": "user", "content": [{
        "type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "chart:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": B64_PNG}},
        ]}]}]


@pytest.mark.parametrize(("part", "reason"), [
    (Audio(data=WAV), "no audio"),
    (Image(data=b"BM" + b"\x00" * 14, media_type="image/bmp"), "JPEG, PNG, GIF or WebP"),
    (Document(data=b"a,b", name="table.csv"), "PDF or plain text"),
])
def test_anthropic_refuses_what_claude_cannot_take(part, reason):
    with pytest.raises(ConfigurationError, match=reason) as caught:
        anthropic_request(user(part))
    assert str(caught.value).startswith("anthropic cannot take " + type(part).__name__)


# --- Gemini --------------------------------------------------------------------------------
# https://ai.google.dev/api/caching#Part (inlineData {mimeType, data}; fileData {mimeType, fileUri})
# https://ai.google.dev/gemini-api/docs/vision, .../document-processing, .../audio
# https://ai.google.dev/gemini-api/docs/function-calling#multimodal (functionResponse.parts)


def gemini_body(*messages: Message) -> Dict[str, Any]:
    body = build(gemini, "gemini", *messages).json
    assert body is not None
    return body


def test_gemini_inline_data_and_file_data():
    uri = "https://generativelanguage.googleapis.com/v1beta/files/abc-123"
    body = gemini_body(user(
        "Describe", Image(data=PNG), Document(data=PDF), Audio(data=WAV),
        Image(url="https://example.com/cat.jpg"),
        Document(file_id=uri, media_type="application/pdf"),
    ))
    assert body["contents"] == [{"role": "user", "parts": [
        {"text": "Describe"},
        {"inlineData": {"mimeType": "image/png", "data": B64_PNG}},
        {"inlineData": {"mimeType": "application/pdf", "data": B64_PDF}},
        {"inlineData": {"mimeType": "audio/wav", "data": B64_WAV}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": uri}},
    ]}]


def test_gemini_needs_a_media_type_for_a_uri():
    with pytest.raises(ConfigurationError, match="media_type="):
        gemini_body(user(Document(file_id="files/abc-123")))


def test_gemini_tool_results_carry_inline_media():
    body = gemini_body(
        Message.assistant(tool_calls=[ToolCall(id="c1", name="chart")]),
        Message.tool("c1", [Text('{"rows": 3}'), Image(data=PNG)]),
    )
    assert body["contents"][1] == {"role": "user", "parts": [{"functionResponse": {
        "name": "chart", "response": {"rows": 3},
        "parts": [{"inlineData": {"mimeType": "image/png", "data": B64_PNG}}]}}]}
    with pytest.raises(ConfigurationError, match="only as data"):
        gemini_body(Message.tool("c1", [Image(url="https://example.com/cat.png")]))


# --- Ollama --------------------------------------------------------------------------------
# https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-with-images


def test_ollama_images_go_as_base64_beside_the_text():
    body = build(ollama, "ollama", user("What is this?", Image(data=PNG), "Be brief.")).json
    assert body["messages"] == [{"role": "user", "content": "What is this?\n\nBe brief.",
                                 "images": [B64_PNG]}]


@pytest.mark.parametrize(("part", "reason"), [
    (Image(url="https://example.com/cat.png"), "images only as data"),
    (Image(file_id="file-1"), "images only as data"),
    (Document(data=PDF), "text and images only"),
    (Audio(data=WAV), "text and images only"),
])
def test_ollama_refuses_urls_documents_and_audio(part, reason):
    with pytest.raises(ConfigurationError, match=reason) as caught:
        build(ollama, "ollama", user("x", part))
    assert str(caught.value).startswith("ollama cannot take " + type(part).__name__)


# --- every wire ------------------------------------------------------------------------------

WIRES = [(openai_chat, "openai"), (openai_responses, "openai-responses"),
         (anthropic, "anthropic"), (gemini, "gemini"), (ollama, "ollama")]


@pytest.mark.parametrize(("module", "provider"), WIRES, ids=[p for _, p in WIRES])
def test_parts_in_a_system_prompt_may_only_be_text(module, provider):
    with pytest.raises(ConfigurationError, match="system prompt"):
        build(module, provider, Message.system([Image(data=PNG)]), Message.user("hi"))


@pytest.mark.parametrize(("module", "provider"), WIRES, ids=[p for _, p in WIRES])
def test_text_parts_alone_send_the_same_words_as_a_string(module, provider):
    body = build(module, provider, user("hello")).json
    assert "hello" in str(body)


# https://docs.anthropic.com/en/docs/build-with-claude/citations (document blocks ask for
# citations with "citations": {"enabled": true}; other providers have no such switch)


def test_documents_that_ask_for_citations_get_them_on_anthropic_and_are_refused_elsewhere():
    request = anthropic_request(user(
        Document(data=b"The grass is green.", name="facts.txt", citations=True), "Cite it",
    ))
    assert request.json["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
        "citations": {"enabled": True},
    }
    for module, provider in [(openai_chat, "openai"), (openai_responses, "openai-responses"),
                             (gemini, "gemini")]:
        with pytest.raises(ConfigurationError, match=rf"{provider} cannot take .*citations"):
            build(module, provider, user(Document(data=PDF, citations=True), "Cite it"))
