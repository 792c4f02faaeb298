#!/usr/bin/env bash
# Rewrite the lane map (ConfigMap lanectx-lanes) from the lanes deployed in the cluster:
# the spec's services plus every Deployment labelled lanectx.dev/lane. Run it after a lane
# is deployed or removed; pods see the change when the kubelet refreshes the volume.
# Usage: NAMESPACE=bookinfo k8s/ci/sync-lane-map.sh   (needs kubectl and lanectx)
set -euo pipefail
namespace=${NAMESPACE:-bookinfo}
spec=${LANES_SPEC:-k8s/lanes.yaml}

kubectl get deploy -n "$namespace" -l lanectx.dev/lane -o json \
  | lanectx render lane-map "$spec" --deployments - \
  | kubectl apply -n "$namespace" -f -
