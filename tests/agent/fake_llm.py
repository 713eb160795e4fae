"""A scripted model endpoint for the agent's tests and demo: an HTTP server on 127.0.0.1 that
answers each POST to /v1/chat/completions or /v1/messages with the next scripted response
(streamed as Server-Sent Events, or an error status), and records every request it got.

The streamed events are built with the official SDKs' own types (openai's ChatCompletionChunk,
anthropic's RawMessageStreamEvent family), so they have the shape those servers send; the
quirks of other servers are added on top (names repeated in every fragment, every parallel call
at index 0, a usage chunk without choices, keep-alive comments).

Run alone (scripts/demo.sh): python fake_llm.py --scenario demo --port-file FILE
"""
import argparse
import json
import pathlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from anthropic.types import (InputJSONDelta, Message, MessageDeltaUsage,
                             RawContentBlockDeltaEvent, RawContentBlockStartEvent,
                             RawContentBlockStopEvent, RawMessageDeltaEvent,
                             RawMessageStartEvent, RawMessageStopEvent, TextBlock, TextDelta,
                             ToolUseBlock, Usage)
from anthropic.types.raw_message_delta_event import Delta
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import (Choice, ChoiceDelta, ChoiceDeltaToolCall,
                                                     ChoiceDeltaToolCallFunction)


# --- OpenAI Chat Completions streams -------------------------------------------------------

def _chunk(delta=None, finish=None, usage=None, no_choices=False):
    choices = [] if no_choices else [Choice(index=0, delta=delta or ChoiceDelta(),
                                            finish_reason=finish)]
    chunk = ChatCompletionChunk(id="chatcmpl-1", object="chat.completion.chunk", created=0,
                                model="fake", choices=choices, usage=usage)
    return "data: " + chunk.model_dump_json(exclude_none=True) + "\n\n"


def _usage_chunk(prompt, completion):
    return _chunk(usage=CompletionUsage(prompt_tokens=prompt, completion_tokens=completion,
                                        total_tokens=prompt + completion), no_choices=True)


def openai_text(text, prompt_tokens=10, completion_tokens=5, pieces=3):
    """A text answer, in `pieces` deltas, then finish, usage, [DONE]."""
    events = [_chunk(ChoiceDelta(role="assistant", content=""))]
    step = max(1, len(text) // pieces)
    for at in range(0, len(text), step):
        events.append(_chunk(ChoiceDelta(content=text[at:at + step])))
    events += [": keep-alive\n\n", _chunk(finish="stop"),
               _usage_chunk(prompt_tokens, completion_tokens), "data: [DONE]\n\n"]
    return events


def openai_calls(calls, all_at_index_zero=False, fragment=7, prompt_tokens=50,
                 completion_tokens=20):
    """Tool calls [(id, name, arguments dict)], arguments split every `fragment` characters,
    the name repeated in every fragment; parallel calls by index, or all at index 0."""
    events = [_chunk(ChoiceDelta(role="assistant", content=None))]
    for n, (call_id, name, arguments) in enumerate(calls):
        text = json.dumps(arguments)
        index = 0 if all_at_index_zero else n
        pieces = [text[i:i + fragment] for i in range(0, len(text), fragment)] or [""]
        for k, piece in enumerate(pieces):
            tool_call = ChoiceDeltaToolCall(
                index=index, id=call_id if k == 0 else None,
                type="function" if k == 0 else None,
                function=ChoiceDeltaToolCallFunction(name=name, arguments=piece))
            events.append(_chunk(ChoiceDelta(tool_calls=[tool_call])))
    events += [_chunk(finish="tool_calls"), _usage_chunk(prompt_tokens, completion_tokens),
               "data: [DONE]\n\n"]
    return events


# --- Anthropic Messages streams -----------------------------------------------------------

def _event(model):
    return f"event: {model.type}\ndata: {model.model_dump_json(exclude_none=True)}\n\n"


def _message_start(input_tokens):
    message = Message(id="msg_1", type="message", role="assistant", content=[], model="fake",
                      stop_reason=None, stop_sequence=None,
                      usage=Usage(input_tokens=input_tokens, output_tokens=1))
    return _event(RawMessageStartEvent(type="message_start", message=message))


def _message_end(stop_reason, output_tokens):
    return [_event(RawMessageDeltaEvent(type="message_delta",
                                        delta=Delta(stop_reason=stop_reason),
                                        usage=MessageDeltaUsage(output_tokens=output_tokens))),
            _event(RawMessageStopEvent(type="message_stop"))]


def anthropic_text(text, input_tokens=10, output_tokens=5):
    events = [_message_start(input_tokens),
              _event(RawContentBlockStartEvent(type="content_block_start", index=0,
                                               content_block=TextBlock(type="text", text=""))),
              "event: ping\ndata: {\"type\": \"ping\"}\n\n"]
    for at in range(0, len(text), 8):
        events.append(_event(RawContentBlockDeltaEvent(
            type="content_block_delta", index=0,
            delta=TextDelta(type="text_delta", text=text[at:at + 8]))))
    events.append(_event(RawContentBlockStopEvent(type="content_block_stop", index=0)))
    return events + _message_end("end_turn", output_tokens)


def anthropic_calls(calls, text=None, input_tokens=50, output_tokens=20, fragment=6):
    events = [_message_start(input_tokens)]
    index = 0
    if text:
        events += [_event(RawContentBlockStartEvent(type="content_block_start", index=0,
                                                    content_block=TextBlock(type="text", text=""))),
                   _event(RawContentBlockDeltaEvent(type="content_block_delta", index=0,
                                                    delta=TextDelta(type="text_delta", text=text))),
                   _event(RawContentBlockStopEvent(type="content_block_stop", index=0))]
        index = 1
    for call_id, name, arguments in calls:
        events.append(_event(RawContentBlockStartEvent(
            type="content_block_start", index=index,
            content_block=ToolUseBlock(type="tool_use", id=call_id, name=name, input={}))))
        text_args = json.dumps(arguments)
        for at in range(0, len(text_args), fragment):
            events.append(_event(RawContentBlockDeltaEvent(
                type="content_block_delta", index=index,
                delta=InputJSONDelta(type="input_json_delta",
                                     partial_json=text_args[at:at + fragment]))))
        events.append(_event(RawContentBlockStopEvent(type="content_block_stop", index=index)))
        index += 1
    return events + _message_end("tool_use", output_tokens)


# --- The server -----------------------------------------------------------------------------

class Reply:
    """One scripted response: `events` streamed (after `delay` s each), or an error `status`
    with `body`; `die_after` closes the connection after that many events; `hang` keeps the
    stream open that many seconds before the rest."""

    def __init__(self, events=None, status=200, body=None, headers=None, die_after=None,
                 delay=0.0, hang=0.0):
        self.events = events or []
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.die_after = die_after
        self.delay = delay
        self.hang = hang


class FakeLLM:
    """The server, on a free loopback port. `requests` holds what the agent sent: a dict of
    path, headers (lower-case names) and the parsed JSON body, per request."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with fake.lock:
                    fake.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(raw or b"null")})
                    reply = fake.replies.pop(0) if fake.replies else Reply(
                        status=500, body={"error": {"message": "the script has no more replies"}})
                if reply.status != 200:
                    data = json.dumps(reply.body or {}).encode()
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                for n, event in enumerate(reply.events):
                    if reply.die_after is not None and n >= reply.die_after:
                        return  # The connection closes with the stream unfinished.
                    if reply.hang and n == 1:
                        time.sleep(reply.hang)
                    try:
                        self.wfile.write(event.encode())
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    if reply.delay:
                        time.sleep(reply.delay)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def demo_replies(protocol):
    """The demo: the model runs the bundled calculator twice, then answers."""
    if protocol == "anthropic":
        return [Reply(anthropic_calls([("toolu_1", "calculator", {"expression": "6*7"})],
                                      text="I will use the calculator.")),
                Reply(anthropic_calls([("toolu_2", "calculator", {"expression": "42/4"})])),
                Reply(anthropic_text("6*7 is 42, and 42/4 is 10.5."))]
    return [Reply(openai_calls([("call_1", "calculator", {"expression": "6*7"})])),
            Reply(openai_calls([("call_2", "calculator", {"expression": "42/4"})])),
            Reply(openai_text("6*7 is 42, and 42/4 is 10.5."))]


# What the studio's browser test shows (tests/studio): one call of text-processor, then an
# answer whose text tries script, a handler and a remote image, which must render as text, and
# which stalls 10 s after its first chunk, so that the page sees the run while it is written.
STUDIO_ANSWER = ('The text has **4 words**. <img src=x onerror="window.__xss=4">'
                 '<script>window.__xss=5</script> ![pixel](http://tracker.invalid/p.png)')


def studio_replies():
    return [Reply(openai_calls([("call_words", "text-processor",
                                 {"text": "Hello world. Hello studio.",
                                  "operations": ["word_count", "top_words"]})])),
            Reply(openai_text(STUDIO_ANSWER), hang=10.0)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="demo", choices=["demo", "studio"])
    parser.add_argument("--protocol", default="openai", choices=["openai", "anthropic"])
    parser.add_argument("--port-file", required=True, help="written with the port once serving")
    args = parser.parse_args()
    fake = FakeLLM(studio_replies() if args.scenario == "studio" else demo_replies(args.protocol))
    pathlib.Path(args.port_file).write_text(str(fake.port))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.close()


if __name__ == "__main__":
    main()
