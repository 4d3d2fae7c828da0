#!/usr/bin/env bash
# Sourced by the Locust benchmarks: installs Locust into .bench-venv/ (pip) unless it is there.
if [ ! -x .bench-venv/bin/locust ]; then
  python3 -m venv .bench-venv
  .bench-venv/bin/pip install -q locust
fi
