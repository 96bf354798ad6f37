"""Notify: route hits to channels, render alerts, deliver them through apprise."""
