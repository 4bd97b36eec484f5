"""Errors waitress answers itself, before the app runs, in the API's one JSON error shape.

waitress refuses a request whose body or headers exceed its limits (web.serve), or that it
cannot parse, with a plain-text page of its own. Such a request may be for /api, whose
answers are all JSON, and for an oversized header block waitress no longer knows the path:
so every answer of this kind is the JSON error, with the headers every response carries.
"""

from __future__ import annotations

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from web import API_HEADERS, HTTP_CODES, SECURITY_HEADERS
from web.responses import JSON_MIMETYPE, error_body, success_body


class JsonErrorTask(ErrorTask):
    """waitress's error answer (its status and reason kept), with a JSON body."""

    def execute(self) -> None:
        error = self.request.error
        code = HTTP_CODES.get(error.code) or error.reason.lower().replace(" ", "_")
        body = success_body(error_body(code, f"{error.reason}: {error.body}")).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [
                ("Content-Type", f"{JSON_MIMETYPE}; charset=utf-8"),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS.items(),
                *API_HEADERS.items(),
            ]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """waitress's connection handler, answering its own errors with JsonErrorTask."""

    error_task_class = JsonErrorTask
