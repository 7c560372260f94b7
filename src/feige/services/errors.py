"""Service errors: a stable code, an HTTP status, parameters for the i18n text."""

from __future__ import annotations

from typing import Any

from feige import i18n


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or type(self).code
        self.params = params
        super().__init__(i18n.text(self.code, "en", **params))

    def message(self, lang: str | None = None) -> str:
        return i18n.text(self.code, lang, **self.params)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message(lang)}
        params = {k: v for k, v in self.params.items() if isinstance(v, str | int | list)}
        if params:
            out["params"] = params
        return out


class Unauthenticated(ServiceError):
    status = 401
    code = "unauthenticated"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    """Also what another tenant's ids answer, so their existence never leaks."""

    status = 404
    code = "not_found"


class Invalid(ServiceError):
    status = 422
    code = "invalid"


class Conflict(ServiceError):
    status = 409
    code = "invalid"
