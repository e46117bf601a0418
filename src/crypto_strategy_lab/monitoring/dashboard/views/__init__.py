"""One ``render(ctx)`` per dashboard page."""
