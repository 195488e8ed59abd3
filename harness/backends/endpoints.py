"""Where AWS is: the endpoints, region and credentials every client is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

#: The services the harness records and the reference system uses.
SERVICES: tuple[str, ...] = ("sqs", "sns", "events", "dynamodb", "stepfunctions")


#: boto3's environment variable suffix per service, where it is not the name upper-cased.
_ENV_NAMES = {"events": "EVENTBRIDGE", "stepfunctions": "SFN"}


@dataclass(frozen=True)
class Endpoints:
    """A backend's coordinates.

    ``urls`` maps a service to its endpoint URL; a service absent from it (or
    mapped to ``None``) uses boto3's default, which is moto itself in
    in-process mode and real AWS for the ``aws`` backend.
    """

    backend: str
    region: str
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    urls: dict[str, str | None] = field(default_factory=dict)
    admin_url: str | None = None
    #: Real AWS only: the accounts these credentials may be used in. An agent
    #: process started with them checks its account itself before its first call.
    allowed_accounts: list[str] = field(default_factory=list)

    def url_for(self, service: str) -> str | None:
        return self.urls.get(service)

    def session_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``boto3.Session``."""
        kw: dict[str, Any] = {"region_name": self.region}
        if self.access_key is not None:
            kw["aws_access_key_id"] = self.access_key
            kw["aws_secret_access_key"] = self.secret_key
            if self.session_token:
                kw["aws_session_token"] = self.session_token
        return kw

    def to_env(self) -> dict[str, str]:
        """The same coordinates as environment variables (boto3 honours
        ``AWS_ENDPOINT_URL_<SERVICE>``), for agents started as processes."""
        env = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if self.access_key is not None:
            env["AWS_ACCESS_KEY_ID"] = self.access_key
            env["AWS_SECRET_ACCESS_KEY"] = self.secret_key or ""
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        for svc, url in self.urls.items():
            if url:
                env[f"AWS_ENDPOINT_URL_{_ENV_NAMES.get(svc, svc.upper())}"] = url
        return env

    def to_json(self) -> str:
        return orjson.dumps(self.__dict__).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Endpoints:
        return cls(**orjson.loads(text))
