#!/bin/bash
# Gradescope runs this once, when the autograder image is built: the Debian packages,
# then the kit, configured for the bundle's labs only, its harness and shared libraries
# built (each submission is then compiled against them in seconds).
set -euo pipefail
AG=${AUTOGRADER_ROOT:-/autograder}
kit=$AG/source/leaklab
labs=$(tr ',' ';' < "$AG/source/labs.txt")
cd "$kit"
scripts/setup.sh --grading
cmake --preset dev -DLEAKLAB_LABS="$labs" -DLEAKLAB_BUILD_TESTS=OFF -DLEAKLAB_WRONG_FIXES=OFF
cmake --build build/dev --target leaklab labkit leaklab_pch
build/dev/bin/leaklab doctor | sed -n '/grading sandbox/,/^$/p'
