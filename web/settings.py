"""The web app's Settings: resolved once by create_app, read by every web module from here."""

from __future__ import annotations

import os
from dataclasses import replace

from flask import Flask, current_app

from search.settings import Settings, resolve_settings

EXTENSION = "vnsearch_settings"


def init_app(app: Flask) -> Settings:
    """Resolve the settings over app.config (instance config.py or test_config win over the
    environment), keep them on the app, and mirror them into app.config."""
    settings = resolve_settings(config=app.config)
    settings = replace(settings, index_dir=os.path.abspath(settings.index_dir))
    app.config.from_mapping(settings.as_config())
    app.extensions[EXTENSION] = settings
    return settings


def settings_of(app: Flask) -> Settings:
    """The settings `app` was built with."""
    settings: Settings = app.extensions[EXTENSION]
    return settings


def current_settings() -> Settings:
    """The settings of the app handling the current request."""
    return settings_of(current_app)
