// Offline checks of deploy/kubernetes, for CI where no cluster runs:
//  1. kustomization.yaml lists every manifest, and every listed one exists;
//  2. every object validates against the Kubernetes and KEDA schemas (npm
//     kubernetes-models), and has no field those APIs do not know anywhere (the schemas
//     there allow unknown fields, so a misspelt one would pass them);
//  3. the wiring holds: Services, PDBs, NetworkPolicies and autoscalers select or name
//     something that exists; named target ports and NetworkPolicy ports are container
//     ports of the pods they reach; files named in env values lie under a mount of that
//     container, and Secret keys are ones make_secrets.sh makes.
// With --json it prints what the containers ask of batchq's binaries (flags, env vars,
// ports in flag and env values, and the metric names in queries), for
// tests/deploy/kubernetes_test.cpp to check against the binaries themselves.
// Usage: node check.mjs [--json]   (exit 1 and one line per problem when any fails)
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { parseAllDocuments, parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const require = createRequire(import.meta.url);
const problems = [];
const problem = (where, text) => problems.push(`${where}: ${text}`);

// 1. The kustomization and its files.
const kustomization = parse(readFileSync(join(root, "kustomization.yaml"), "utf8"));
const listed = kustomization.resources ?? [];
const present = readdirSync(root).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
for (const file of present) {
  if (!listed.includes(file)) problem(file, "not listed in kustomization.yaml");
}
const objects = [];
for (const file of listed) {
  let text;
  try {
    text = readFileSync(join(root, file), "utf8");
  } catch {
    problem("kustomization.yaml", `lists ${file}, which does not exist`);
    continue;
  }
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) problem(file, `YAML: ${doc.errors[0].message}`);
    const object = doc.toJS();
    if (object) objects.push({ file, object, where: `${file} ${object.kind}/${object.metadata?.name}` });
  }
}

// 2. Schemas, and a vocabulary of every field name the APIs define.
function modelModule(apiVersion) {
  if (apiVersion === "v1") return "kubernetes-models/v1";
  if (apiVersion.startsWith("keda.sh/")) return `@kubernetes-models/keda/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}
const vocabulary = new Set();
function learnFields(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) learnFields(path);
    else if (entry.name.endsWith(".d.ts")) {
      for (const match of readFileSync(path, "utf8").matchAll(/^\s+"([^"]+)"\??:/gm)) {
        vocabulary.add(match[1]);
      }
    }
  }
}
for (const pkg of ["kubernetes-models", "@kubernetes-models/keda", "@kubernetes-models/apimachinery"]) {
  learnFields(dirname(require.resolve(`${pkg}/package.json`)));
}
// Fields whose values are maps with keys of the user's choosing.
const freeForm = new Set(["labels", "annotations", "matchLabels", "nodeSelector", "data",
  "stringData", "requests", "limits", "selector", "pairs"]);
function checkFields(value, path, where, parentKey) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkFields(v, `${path}[${i}]`, where, parentKey));
  } else if (value && typeof value === "object") {
    // A Service's selector and a KEDA trigger's metadata are maps too.
    if (freeForm.has(parentKey) && !(parentKey === "selector" && "matchLabels" in value)) return;
    if (parentKey === "metadata" && path.includes("triggers")) return;
    for (const [key, v] of Object.entries(value)) {
      if (!vocabulary.has(key)) problem(where, `unknown field ${path}.${key}`);
      checkFields(v, `${path}.${key}`, where, key);
    }
  }
}
for (const { object, where } of objects) {
  let models;
  try {
    models = await import(modelModule(object.apiVersion ?? ""));
  } catch {
    problem(where, `no schema for apiVersion ${object.apiVersion}`);
    continue;
  }
  const Model = models[object.kind];
  if (!Model) {
    problem(where, `no schema for kind ${object.kind} in ${object.apiVersion}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    problem(where, `schema: ${error.message}`);
  }
  checkFields(object, "", where, "");
}

// 3. Wiring.
const of = (kind) => objects.filter((o) => o.object.kind === kind);
const workloads = [...of("Deployment"), ...of("StatefulSet")];
const podsOf = (w) => w.object.spec.template;
// A LabelSelector, or a Service's plain map of labels.
const matches = (selector, labels) => {
  const labelSelector = selector && ("matchLabels" in selector || "matchExpressions" in selector);
  const plain = labelSelector ? selector.matchLabels ?? {} : selector ?? {};
  return Object.entries(plain).every(([k, v]) => labels?.[k] === v) &&
    (labelSelector ? selector.matchExpressions ?? [] : []).every(
      (e) => e.operator === "In" && e.values.includes(labels?.[e.key]));
};
const selected = (selector) =>
  workloads.filter((w) => matches(selector, podsOf(w).metadata?.labels));
const containersOf = (w) => [...(podsOf(w).spec.initContainers ?? []), ...podsOf(w).spec.containers];
const portsOf = (w) => podsOf(w).spec.containers.flatMap((c) => c.ports ?? []);

for (const w of workloads) {
  if (!matches(w.object.spec.selector, podsOf(w).metadata?.labels)) {
    problem(w.where, "its selector does not match its own pods");
  }
}
for (const s of of("Service")) {
  const targets = selected(s.object.spec.selector);
  if (targets.length === 0) problem(s.where, "selects no pods");
  for (const port of s.object.spec.ports ?? []) {
    for (const t of targets) {
      const known = portsOf(t).some((p) =>
        typeof port.targetPort === "string" ? p.name === port.targetPort
          : p.containerPort === (port.targetPort ?? port.port));
      if (!known) problem(s.where, `port ${port.name} targets ${port.targetPort}, not a port of ${t.where}`);
    }
  }
}
for (const p of of("PodDisruptionBudget")) {
  if (selected(p.object.spec.selector).length === 0) problem(p.where, "selects no pods");
}
for (const n of of("NetworkPolicy")) {
  const spec = n.object.spec;
  const own = Object.keys(spec.podSelector ?? {}).length === 0 ? workloads : selected(spec.podSelector);
  if (own.length === 0) problem(n.where, "applies to no pods");
  for (const rule of spec.ingress ?? []) {
    for (const port of rule.ports ?? []) {
      for (const w of own) {
        if (!portsOf(w).some((p) => p.containerPort === port.port)) {
          problem(n.where, `lets in port ${port.port}, which ${w.where} does not serve`);
        }
      }
    }
    for (const peer of rule.from ?? []) {
      if (peer.podSelector && selected(peer.podSelector).length === 0) {
        problem(n.where, "lets in pods that no workload makes");
      }
    }
  }
  for (const rule of spec.egress ?? []) {
    for (const peer of rule.to ?? []) {
      if (!peer.podSelector) continue;
      const targets = selected(peer.podSelector);
      if (targets.length === 0) problem(n.where, "lets out to pods that no workload makes");
      for (const port of rule.ports ?? []) {
        if (!targets.some((t) => portsOf(t).some((p) => p.containerPort === port.port))) {
          problem(n.where, `lets out to port ${port.port}, which no pod it names serves`);
        }
      }
    }
  }
}
for (const a of [...of("HorizontalPodAutoscaler"), ...of("ScaledObject")]) {
  const ref = a.object.spec.scaleTargetRef;
  if (!workloads.some((w) => w.object.metadata.name === ref.name && w.object.kind === (ref.kind ?? "Deployment"))) {
    problem(a.where, `scales ${ref.kind ?? "Deployment"}/${ref.name}, which does not exist`);
  }
}
// Secret keys: those make_secrets.sh creates (file names it passes to --from-file or loops over).
const maker = readFileSync(join(root, "make_secrets.sh"), "utf8");
const madeKeys = new Set([...maker.matchAll(/([a-z]+\.(?:key|pub|password|acl))/g)].map((m) => m[1]));
const madeSecrets = new Set([...maker.matchAll(/apply (batchq-[a-z-]+)/g)].map((m) => m[1]));
for (const w of workloads) {
  const volumes = new Map([...(podsOf(w).spec.volumes ?? []),
    ...(w.object.spec.volumeClaimTemplates ?? []).map((t) => ({ name: t.metadata.name }))]
    .map((v) => [v.name, v]));
  for (const v of volumes.values()) {
    if (!v.secret) continue;
    if (!madeSecrets.has(v.secret.secretName)) problem(w.where, `Secret ${v.secret.secretName} is not made by make_secrets.sh`);
    for (const item of v.secret.items ?? []) {
      if (!madeKeys.has(item.key)) problem(w.where, `Secret key ${item.key} is not made by make_secrets.sh`);
    }
  }
  for (const c of containersOf(w)) {
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) problem(w.where, `${c.name} mounts ${m.name}, which is no volume`);
    }
    // A file named in an env value must be under one of this container's mounts, and
    // where that mount is a Secret with items, be one of them.
    for (const e of c.env ?? []) {
      if (typeof e.value !== "string" || !e.value.startsWith("/var/run/batchq/")) continue;
      const mount = (c.volumeMounts ?? []).find((m) => e.value.startsWith(m.mountPath + "/"));
      if (!mount) {
        problem(w.where, `${c.name}: ${e.name}=${e.value} is under none of its mounts`);
        continue;
      }
      const items = volumes.get(mount.name)?.secret?.items;
      const rest = e.value.slice(mount.mountPath.length + 1);
      if (items && !items.some((i) => i.path === rest || i.path.startsWith(rest + "/"))) {
        problem(w.where, `${c.name}: ${e.name}=${e.value} is not in Secret volume ${mount.name}`);
      }
    }
  }
}

if (process.argv.includes("--json")) {
  // What each batchq container asks of its binary.
  const binaries = new Set(["broker", "gateway", "gpu_worker"]);
  const containers = [];
  for (const w of workloads) {
    for (const c of podsOf(w).spec.containers) {
      const binary = (c.command ?? [])[0];
      if (!binaries.has(binary)) continue;
      const values = [...(c.args ?? []), ...(c.env ?? []).map((e) => e.value ?? "")];
      containers.push({
        where: `${w.where} ${c.name}`,
        binary,
        flags: (c.args ?? []).filter((a) => a.startsWith("--")),
        env: (c.env ?? []).map((e) => e.name),
        container_ports: (c.ports ?? []).map((p) => p.containerPort),
        // Ports the process will listen on: in tcp://*:N, 0.0.0.0:N and after --port.
        listen_ports: [
          ...values.flatMap((v) => [...v.matchAll(/(?:tcp:\/\/\*|0\.0\.0\.0):(\d+)/g)].map((m) => Number(m[1]))),
          ...(c.args ?? []).flatMap((a, i, all) => (all[i - 1] === "--port" ? [Number(a)] : [])),
        ],
      });
    }
  }
  const metrics = new Set();
  for (const { object } of objects) {
    for (const match of JSON.stringify(object).matchAll(/\b(batchq_[a-z_]+)/g)) metrics.add(match[1]);
  }
  console.log(JSON.stringify({ objects: objects.length, containers, metrics: [...metrics] }));
}
for (const line of problems) console.error(line);
if (problems.length > 0) process.exit(1);
if (!process.argv.includes("--json")) console.log(`${objects.length} objects checked: no problems`);
