#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The main job: install what is missing, build, and run the demo of two VMBus channel ends
# exchanging traffic in one process (no hugepages, no root-only set-up beyond apt).
#
#   bash buildtools/run.sh [-- demo options]     e.g. -- --seconds 5 --size 1500 --interrupt
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[[ "${1:-}" == "--" ]] && shift
bash buildtools/setup.sh
bash buildtools/build.sh build
exec ./build/app/demo/vmb-demo "$@"
