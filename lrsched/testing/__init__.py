"""Property-testing tools for schedules (extra ``testing``: hypothesis)."""
