#!/usr/bin/env bash
# Offline checks of the SAM template: cfn-lint, then `sam validate --lint` (SAM transform +
# cfn-lint on the result). No AWS credentials or network needed. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .venv/bin ]; then
  PATH="$PWD/.venv/bin:$PATH"
fi
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export SAM_CLI_TELEMETRY=0
# Keep sam from reading the user's credentials or config (validate --lint is offline).
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
template=infra/template.yaml

echo "== cfn-lint $template"
cfn-lint --format parseable -- "$template"

echo "== sam validate --lint -t $template"
sam validate --lint -t "$template"
