"""The web layer: blueprints that parse requests, call one service, and render."""
