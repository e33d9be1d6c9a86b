"""Which model the assistant talks to: a pydantic-ai model string, an OpenAI-compatible endpoint, or the built-in one."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai.models import Model, infer_model

from hub.core.settings import Settings

DEFAULT_REMOTE_MODEL = "default"


@dataclass(frozen=True)
class ActiveModel:
    """The model and how the Assistant page names it."""

    model: Model
    label: str
    builtin: bool


def configured_model(settings: Settings) -> ActiveModel:
    """The model ``settings`` name.

    ``RMMHUB_ASSISTANT_BASE_URL`` (+ ``RMMHUB_ASSISTANT_API_KEY``) selects an OpenAI-compatible
    chat-completions endpoint, with ``RMMHUB_ASSISTANT_MODEL`` as the model's name there;
    ``RMMHUB_ASSISTANT_MODEL`` alone is any pydantic-ai model string; neither gives the built-in model.
    """
    if settings.assistant_base_url:
        # Imported here: the openai SDK costs 1.6 s of every hub start that does not use it.
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        name = (settings.assistant_model or DEFAULT_REMOTE_MODEL).removeprefix("openai-chat:").removeprefix("openai:")
        key = settings.assistant_api_key.get_secret_value() if settings.assistant_api_key else "none"
        provider = OpenAIProvider(base_url=settings.assistant_base_url, api_key=key)
        return ActiveModel(OpenAIChatModel(name, provider=provider), f"{name} at {settings.assistant_base_url}", False)
    if settings.assistant_model:
        return ActiveModel(infer_model(settings.assistant_model), settings.assistant_model, False)
    from hub.assistant.builtin.model import BuiltinModel

    return ActiveModel(BuiltinModel(), "built-in offline model", True)
