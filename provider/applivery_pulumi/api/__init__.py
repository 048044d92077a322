"""The Applivery API client: settings, transport, bounds, retries, pacing and errors."""
