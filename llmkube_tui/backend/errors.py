"""Typed errors with messages an operator can act on."""

from __future__ import annotations


class BackendError(Exception):
    """Base of every error the backend raises on purpose."""


class Unreachable(BackendError):
    """The API server did not answer (refused, timed out, DNS, TLS)."""


class Forbidden(BackendError):
    """RBAC refused the call (HTTP 403)."""


class Unauthorized(BackendError):
    """The credentials were refused (HTTP 401)."""


class NotFound(BackendError):
    """The object or the API does not exist (HTTP 404)."""


class Conflict(BackendError):
    """The object exists already or changed under us (HTTP 409)."""


class Invalid(BackendError):
    """The input or the object was rejected as invalid (HTTP 422, bad values)."""


class ConfigError(BackendError):
    """No usable kubeconfig, context or settings."""


class Integrity(BackendError):
    """A cached file does not match its sha256 or size."""


class Busy(BackendError):
    """The entry is in use (a live download or a running service)."""


class Failed(BackendError):
    """A pod or Job of ours ended in failure; the message says why."""


class BadGateway(BackendError):
    """The API server's proxy reached nothing behind it (HTTP 502, 503, 504
    on a call that passes through to a service or pod)."""


class Gone(BackendError):
    """A watch or list continuation expired (HTTP 410): list again."""
