// deploy/monitoring against the installed objects it points at:
//
//   node monitoring.mjs MONITORING.yaml BASE.yaml
//
// the ServiceMonitor selects the base's Service, scrapes a port the Service
// names, verifies TLS with the CA of the Secret the Deployment mounts and the
// Service DNS name the certificate carries, in the same namespace; the
// PrometheusRule has alerts; the dashboard ConfigMap is labelled for Grafana's
// sidecar and holds JSON. One PASS/FAIL line per check.
import { Reporter, loadObjects, fail } from "./lib.mjs";

const [monFile, baseFile] = process.argv.slice(2);
const r = new Reporter("monitoring");
const mon = loadObjects(monFile);
const base = loadObjects(baseFile);
const one = (objs, kind) => objs.find((o) => o.kind === kind) ?? fail(`no ${kind}`);

r.check("ServiceMonitor selects the base's Service, in its namespace", () => {
  const sm = one(mon, "ServiceMonitor");
  const svc = one(base, "Service");
  const sel = sm.spec.selector.matchLabels;
  for (const [k, v] of Object.entries(sel)) {
    if (svc.metadata.labels?.[k] !== v) fail(`Service lacks label ${k}=${v}`);
  }
  if (sm.metadata.namespace !== svc.metadata.namespace) fail(`namespace ${sm.metadata.namespace} != ${svc.metadata.namespace}`);
});
r.check("ServiceMonitor scrapes /metrics over HTTPS on a port the Service names", () => {
  const ep = one(mon, "ServiceMonitor").spec.endpoints[0];
  const ports = one(base, "Service").spec.ports.map((p) => p.name);
  if (!ports.includes(ep.port)) fail(`port ${ep.port} not in ${ports}`);
  if (ep.scheme !== "https" || ep.path !== "/metrics") fail(`${ep.scheme} ${ep.path}`);
});
r.check("ServiceMonitor verifies the certificate: CA from the mounted Secret, the Service's DNS name", () => {
  const tls = one(mon, "ServiceMonitor").spec.endpoints[0].tlsConfig;
  const svc = one(base, "Service");
  const dep = one(base, "Deployment");
  const secrets = dep.spec.template.spec.volumes.flatMap((v) => (v.projected?.sources ?? []).map((s) => s.secret?.name).concat(v.secret?.secretName)).filter(Boolean);
  if (tls.insecureSkipVerify) fail("insecureSkipVerify");
  if (!secrets.includes(tls.ca.secret.name) || tls.ca.secret.key !== "ca.crt") fail(`ca ${JSON.stringify(tls.ca)} vs mounted ${secrets}`);
  const want = `${svc.metadata.name}.${svc.metadata.namespace}.svc`;
  if (tls.serverName !== want) fail(`serverName ${tls.serverName} != ${want}`);
});
r.check("PrometheusRule has at least three alerts", () => {
  const n = one(mon, "PrometheusRule").spec.groups.flatMap((g) => g.rules).filter((x) => x.alert).length;
  if (n < 3) fail(`${n} alerts`);
});
r.check("dashboard ConfigMap is labelled for Grafana's sidecar and holds the dashboard JSON", () => {
  const cm = mon.find((o) => o.kind === "ConfigMap" && o.metadata.name === "hookwarden-dashboard") ?? fail("no ConfigMap");
  if (cm.metadata.labels?.grafana_dashboard !== "1") fail("label grafana_dashboard");
  const d = JSON.parse(cm.data["hookwarden-dashboard.json"]);
  if (d.uid !== "hookwarden" || !(d.panels?.length > 0)) fail("uid or panels");
});
process.exit(r.exitCode());
