"""A supervisord event listener that prints every program's output, each line
prefixed with the program's name (like docker compose):

    redis          | Ready to accept connections tcp
    orderbook-1    | [INFO] Booting worker with pid: 4242

supervisord itself writes child output raw, with no name on it, so programs
emit PROCESS_LOG events and this listener writes them to its stderr, which
supervisord passes to its own stdout. Protocol: READY, read one header line
and ``len`` bytes of payload, answer ``RESULT 2\\nOK``.
"""
from __future__ import annotations

import signal
import sys

MAX_PARTIAL = 64 * 1024  # flush a line that never ends rather than hold it forever


def parse_tokens(line: bytes) -> dict[bytes, bytes]:
    return dict(token.split(b":", 1) for token in line.split())


class PrefixedWriter:
    def __init__(self, out, width: int):
        self.out = out
        self.width = width
        self.partial: dict[bytes, bytes] = {}

    def write(self, name: bytes, data: bytes) -> None:
        text = self.partial.pop(name, b"") + data
        *lines, rest = text.split(b"\n")
        if len(rest) > MAX_PARTIAL:
            lines.append(rest)
            rest = b""
        if rest:
            self.partial[name] = rest
        prefix = name.ljust(self.width) + b" | "
        if lines:
            self.out.write(b"".join(prefix + line + b"\n" for line in lines))
            self.out.flush()


def serve(stdin, stdout, writer: PrefixedWriter) -> None:
    while True:
        stdout.write(b"READY\n")
        stdout.flush()
        header_line = stdin.readline()
        if not header_line:
            return
        headers = parse_tokens(header_line)
        payload = stdin.read(int(headers[b"len"]))
        if headers[b"eventname"].startswith(b"PROCESS_LOG"):
            payload_header, _, data = payload.partition(b"\n")
            writer.write(parse_tokens(payload_header)[b"processname"], data)
        stdout.write(b"RESULT 2\nOK")
        stdout.flush()


def main(argv: list[str]) -> None:
    # supervisord stops this listener last, with SIGTERM: a clean exit, not a WARN.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    width = int(argv[0]) if argv else 12
    serve(sys.stdin.buffer, sys.stdout.buffer, PrefixedWriter(sys.stderr.buffer, width))


if __name__ == "__main__":
    main(sys.argv[1:])
