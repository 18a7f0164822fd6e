"""``WholeRequestStream`` holds httpcore's writes and sends a request in one."""

from __future__ import annotations

import asyncio

from sagakit.participant_client import HELD_BYTES_LIMIT, WholeRequestStream


class RecordingWriter:
    """The part of ``asyncio.StreamWriter`` the stream uses, recording each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.transport = self

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return 0


def stream_answering(answer: bytes) -> tuple[WholeRequestStream, RecordingWriter]:
    reader = asyncio.StreamReader()
    reader.feed_data(answer)
    writer = RecordingWriter()
    return WholeRequestStream(reader, writer), writer  # type: ignore[arg-type]


async def test_headers_and_body_go_out_in_one_write_when_the_answer_is_read():
    stream, writer = stream_answering(b"HTTP/1.1 200 OK\r\n")

    await stream.write(b"POST /payments HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
    await stream.write(b"{}")
    assert writer.writes == []

    assert await stream.read(1024) == b"HTTP/1.1 200 OK\r\n"
    assert writer.writes == [b"POST /payments HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"]


async def test_a_body_over_the_limit_is_sent_as_it_comes():
    stream, writer = stream_answering(b"")
    big = b"x" * (HELD_BYTES_LIMIT + 1)

    await stream.write(b"POST /blobs HTTP/1.1\r\n\r\n")
    await stream.write(big)

    assert writer.writes == [b"POST /blobs HTTP/1.1\r\n\r\n" + big]
