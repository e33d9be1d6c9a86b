"""The RMM page fixtures (signed-in clients, enrolled devices) for the remote-session pages."""

from tests.ui.rmm.conftest import enroll, ui_as  # noqa: F401 (fixtures)
