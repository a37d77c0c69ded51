#!/usr/bin/env bash
# Send a table to every SAMP peer exactly as TOPCAT does (STILTS tpipe omode=samp).
#   samp_hub_scripts/send_table.sh TABLE.vot
set -euo pipefail
exec stilts tpipe in="$1" omode=samp
