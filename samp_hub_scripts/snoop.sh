#!/usr/bin/env bash
# Print every SAMP message on the hub (JSAMP's snooper).
exec jsamp snooper "$@"
