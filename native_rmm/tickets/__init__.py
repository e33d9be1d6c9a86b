"""Native tickets: work items about devices and alerts, with comments."""
