"""End-to-end tests of the app in headless Chromium."""
