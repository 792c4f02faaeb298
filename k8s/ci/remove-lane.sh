#!/usr/bin/env bash
# Remove one lane from the staging cluster: delete its objects by label, then re-render
# and apply the shared routes of each service it had, keeping the other lanes, and the
# lane map (ConfigMap lanectx-lanes) without it.
# Usage: NAMESPACE=bookinfo k8s/ci/remove-lane.sh pr-123   (needs kubectl and lanectx)
set -euo pipefail
lane=${1:?usage: remove-lane.sh LANE}
namespace=${NAMESPACE:-bookinfo}
spec=${LANES_SPEC:-k8s/lanes.yaml}
target=${TARGET:-istio}   # kubernetes: no mesh, no shared routes to re-render

services=$(kubectl get deploy -n "$namespace" -l "lanectx.dev/lane=$lane" \
  -o jsonpath='{range .items[*]}{.metadata.labels.app}{"\n"}{end}' | sort -u)
kinds=deployments,services
if kubectl api-resources --api-group=gateway.networking.k8s.io -o name | grep -q '^httproutes'; then
  kinds="$kinds,httproutes"
fi
kubectl delete -n "$namespace" "$kinds" -l "lanectx.dev/lane=$lane" --ignore-not-found
for service in $services; do
  others=$(kubectl get deploy -n "$namespace" -l "app=$service,lanectx.dev/lane" \
    -o jsonpath='{range .items[*]}{.metadata.labels.lanectx\.dev/lane}{"\n"}{end}' \
    | sed 's/^/--lane /' | tr '\n' ' ')
  if [ "$target" != kubernetes ]; then
    # shellcheck disable=SC2086
    lanectx render routes "$service" --spec "$spec" --target "$target" $others | kubectl apply -f -
  fi
done
NAMESPACE="$namespace" LANES_SPEC="$spec" bash "$(dirname "$0")/sync-lane-map.sh"
