#!/usr/bin/env sh
# Waits for the ringblast Indexed Job, copies every shard's report off the shared volume, and
# merges them: prints the merged report and writes merged.json, merged.html and merged_*.csv.
# Usage: deploy/k8s/collect.sh [OUT_DIR]   (needs kubectl and a local ringblast)
set -eu
out=${1:-ringblast-reports}
mkdir -p "$out"
kubectl wait --for=condition=complete --timeout=2h job/ringblast \
  || kubectl wait --for=condition=failed --timeout=1s job/ringblast
# A short-lived pod that mounts the same volume, to copy the reports from.
kubectl run ringblast-collect --image=busybox --restart=Never \
  --overrides='{"spec":{"volumes":[{"name":"r","persistentVolumeClaim":{"claimName":"ringblast-reports"}}],"containers":[{"name":"c","image":"busybox","command":["sleep","600"],"volumeMounts":[{"name":"r","mountPath":"/reports"}]}]}}'
kubectl wait --for=condition=ready --timeout=5m pod/ringblast-collect
kubectl cp ringblast-collect:/reports "$out"
kubectl delete pod ringblast-collect --wait=false
# merge refuses shards of different plans, and says which shard is missing.
ringblast merge "$out"/shard-*.json --json "$out/merged.json" --html "$out/merged.html" --csv "$out/merged"
