"""The helpdesk assistant: a pydantic-ai chat over every gated tool, with approvals that resume the run."""
