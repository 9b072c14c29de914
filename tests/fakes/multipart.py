"""Decoding a multipart/form-data request body (what the fakes receive with file uploads)."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser


@dataclass(frozen=True)
class FormPart:
    """One field of the form: its name, the file name when it is a file, and its bytes."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


def parse_form(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The body's parts by field name; {} when it is not multipart/form-data."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        parts[name] = FormPart(
            name,
            part.get_filename(),
            part.get_content_type(),
            data if isinstance(data, bytes) else b"",
        )
    return parts
