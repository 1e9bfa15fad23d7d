"""The letmepost error envelope (contract section 3)."""

from __future__ import annotations

__all__ = ["DOC_BASE", "ApiError", "not_found", "validation"]

DOC_BASE = "https://docs.letmepost.dev"


class ApiError(Exception):
    """An error answered with the JSON envelope ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        rule: str | None = None,
        platform: str | None = None,
        platform_response: object = None,
        remediation: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.rule = rule
        self.platform = platform
        self.platform_response = platform_response
        self.remediation = remediation
        self.headers = headers or {}

    def envelope(self, request_id: str) -> dict[str, dict[str, object]]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.rule is not None:
            body["rule"] = self.rule
        if self.platform is not None:
            body["platform"] = self.platform
        if self.platform_response is not None:
            body["platformResponse"] = self.platform_response
        if self.remediation is not None:
            body["remediation"] = self.remediation
        body["docUrl"] = f"{DOC_BASE}/errors/{self.code}"
        if self.rule is not None:
            body["ruleUrl"] = f"{DOC_BASE}/preflight/{self.rule.replace('.', '-')}"
        body["requestId"] = request_id
        return {"error": body}


def validation(
    rule: str,
    message: str,
    status: int = 400,
    *,
    platform_response: object = None,
    remediation: str | None = None,
) -> ApiError:
    return ApiError(
        status,
        "validation_failed",
        message,
        rule=rule,
        platform_response=platform_response,
        remediation=remediation,
    )


def not_found(message: str, rule: str | None = None) -> ApiError:
    return ApiError(404, "not_found", message, rule=rule)
