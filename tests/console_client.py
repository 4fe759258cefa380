"""A person at a browser, for Flask-client tests of the pages: a cookie jar and the CSRF token of the last page."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "secret-pw-1"  # what tests.conftest.make_user gives everyone
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """Each request runs in an app context of its own, as in production; the test's own app
    context would otherwise share ``g`` (the logged-in user, the CSRF token) between browsers."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        with self.client.application.app_context():
            response = self.client.get(path, **kwargs)
        found = response.mimetype == "text/html" and _CSRF_FIELD.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form post with the page's CSRF token."""
        if not self.token:
            self.get("/login")
        with self.client.application.app_context():
            return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def post_json(self, path: str, body: Any) -> Any:
        """A script's JSON post, the CSRF token in its header."""
        if not self.token:
            self.get("/login")
        with self.client.application.app_context():
            return self.client.post(path, json=body, headers={"X-CSRFToken": self.token})

    def upload(self, path: str, files: dict[str, bytes]) -> Any:
        return self.post(path, {"files": [(io.BytesIO(content), name) for name, content in files.items()]},
                         content_type="multipart/form-data")

    def log_in(self, username: str, password: str = PASSWORD) -> Any:
        self.get("/login")
        return self.post("/login", {"username": username, "password": password})
