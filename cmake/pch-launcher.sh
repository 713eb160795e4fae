#!/bin/sh
# Runs a compiler launcher (ccache; its command line follows) with ccache told that a
# precompiled header's macros and __DATE__/__TIME__ need not be checked, which it needs to
# cache a unit compiled with one (ccache(1), "Precompiled headers"). Added to what the build's
# environment already sets. Used by cmake/precompiled_headers.cmake.
CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:+$CCACHE_SLOPPINESS,}pch_defines,time_macros"
export CCACHE_SLOPPINESS
exec "$@"
