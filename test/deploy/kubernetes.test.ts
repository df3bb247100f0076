/**
 * config/kubernetes/ is written for real clusters; none runs here, so every manifest is loaded as
 * data and checked: against the Kubernetes API schemas (kubernetes-models' validators, compiled
 * into the package, so offline), then for what switchyard needs from Kubernetes: the Service and
 * probes on the container's port, a termination grace that outlasts the config's drain, the
 * config loading with switchyard's own loader and every ${VAR} of it filled from the Secret,
 * resources from the bench's figures, a locked-down pod, and a NetworkPolicy that admits only
 * wallet namespaces and Prometheus.
 * The schemas do not reject unknown fields (Kubernetes' OpenAPI allows them): a misspelt field is
 * caught by the checks below only where they read it.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1'
import type { IContainer, IContainerPort } from 'kubernetes-models/v1'
import { describe, expect, test } from 'vitest'
import { parseAllDocuments, parse as parseYaml } from 'yaml'
import { ConfigError, parseConfigText, type ProxyConfig } from '../../src/index.js'

const DIR = 'config/kubernetes'
/** Where the image reads its config (`switchyard --config …`, the repository's Dockerfile). */
const CONFIG_FILE = '/etc/switchyard/switchyard.yaml'
/** Labels every resource carries; the pods' selector is made of them. */
const COMMON_LABELS = { 'app.kubernetes.io/name': 'switchyard', 'app.kubernetes.io/instance': 'switchyard' }
/** The label wallet namespaces carry to reach the RPC port, and Prometheus' namespace. */
const RPC_CLIENT_LABEL = 'switchyard.io/rpc-client'
const PROMETHEUS_NAMESPACE = 'monitoring'
/** `npm run bench` (README, Performance), bytes: idle RSS, and the peaks in the bench process and with 3 chains × 5 nodes under load. */
const BENCH_IDLE_RSS = 125e6
const BENCH_PEAK_RSS = 253e6
const BENCH_MULTI_CHAIN_PEAK_RSS = 229e6

/** Kubernetes' API schemas for the kinds the directory may hold. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = Object.fromEntries(
  [Namespace, Secret, ConfigMap, Service, Deployment, PodDisruptionBudget, HorizontalPodAutoscaler, NetworkPolicy].map((model) => [
    `${model.apiVersion} ${model.kind}`,
    model as unknown as new (data: never) => { validate(): void },
  ]),
)

interface Manifest {
  apiVersion?: unknown
  kind?: unknown
  metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string>; annotations?: Record<string, string> }
}

const manifestFiles = readdirSync(DIR)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .sort()

/** Every document of every manifest file, with the file it came from. */
const manifests: Array<{ file: string; doc: Manifest }> = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`)
    const doc = document.toJS() as Manifest | null
    return doc === null ? [] : [{ file, doc }]
  }),
)

/** The one resource of a kind, typed by the model's guard. */
function the<T>(guard: (value: unknown) => value is T, kind: string): T {
  const found = manifests.map(({ doc }) => doc).filter((doc) => guard(doc))
  if (found.length !== 1) throw new Error(`expected one ${kind} in ${DIR}, found ${found.length}`)
  return found[0] as T
}

const namespace = the(Namespace.is, 'Namespace')
const secret = the(Secret.is, 'Secret')
const configMap = the(ConfigMap.is, 'ConfigMap')
const service = the(Service.is, 'Service')
const deployment = the(Deployment.is, 'Deployment')
const pdb = the(PodDisruptionBudget.is, 'PodDisruptionBudget')
const hpa = the(HorizontalPodAutoscaler.is, 'HorizontalPodAutoscaler')
const networkPolicy = the(NetworkPolicy.is, 'NetworkPolicy')

const podSpec = deployment.spec?.template.spec
const podLabels = deployment.spec?.template.metadata?.labels ?? {}
const container = podSpec?.containers.find((candidate) => candidate.name === 'switchyard') as IContainer
const rpcPort = container?.ports?.find((port) => port.name === 'rpc') as IContainerPort

const secretValues: Record<string, string> = {
  ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')])),
  ...secret.stringData,
}
const configText = configMap.data?.['switchyard.yaml'] ?? ''
/** The Secret as an operator fills it in: every CHANGE-ME replaced by a value long enough for a token. */
const filledEnv: Record<string, string> = Object.fromEntries(
  Object.entries(secretValues).map(([key, value]) => [key, value.replaceAll('CHANGE-ME', `filled-${key.toLowerCase()}-0123456789`)]),
)

/** The config as switchyard loads it in the pod, or the loader's problems. */
function loadConfig(env: Record<string, string>): ProxyConfig {
  return parseConfigText(configText, env, `${DIR}/configmap.yaml`)
}

/** `${VAR}` and `${VAR:-default}` in the config (`$${` is a literal). */
function configVariables(text: string): string[] {
  const names = new Set<string>()
  for (const match of text.matchAll(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) if (match[1] !== undefined) names.add(match[1])
  return [...names].sort()
}

/** A Kubernetes quantity in base units: bytes, or cores for CPU (`500m` = 0.5). */
function quantity(value: string | number | undefined): number {
  if (typeof value === 'number') return value
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value ?? '')
  if (match === null) throw new Error(`not a quantity: ${String(value)}`)
  const factors: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }
  return Number(match[1]) * (match[2] === undefined ? 1 : (factors[match[2]] as number))
}

/** A port as a probe, Service or policy names it (a number, or the name of a container port). */
function containerPortOf(port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {})
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value)
}

describe('config/kubernetes', () => {
  test('kustomization.yaml lists every manifest, in the common namespace', () => {
    const kustomization = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { kind?: string; namespace?: string; resources?: string[] }
    expect(kustomization.kind).toBe('Kustomization')
    expect([...(kustomization.resources ?? [])].sort()).toEqual(manifestFiles)
    expect(kustomization.namespace).toBe(namespace.metadata?.name)
    expect(manifests.length).toBe(8)
  })

  test('every resource validates against the Kubernetes API schema', () => {
    for (const { file, doc } of manifests) {
      const Model = MODELS[`${String(doc.apiVersion)} ${String(doc.kind)}`]
      expect(Model, `${file}: ${String(doc.apiVersion)} ${String(doc.kind)} is not a kind this directory should hold`).toBeDefined()
      expect(() => new Model!(doc as never).validate(), file).not.toThrow()
    }
  })

  test('the schema validation is live: a wrong type or a missing field is refused', () => {
    const broken = structuredClone(deployment)
    broken.spec!.template.spec!.containers[0]!.ports![0]!.containerPort = '8545' as unknown as number
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort must be integer/)
    const nameless = structuredClone(deployment)
    delete (nameless.spec!.template.spec!.containers[0] as { name?: string }).name
    expect(() => new Deployment(nameless).validate()).toThrow(/containers\/0 must have required property name/)
  })

  test('every resource has apiVersion, kind, a name, the common namespace and labels', () => {
    const ns = namespace.metadata?.name
    expect(ns).toMatch(/^[a-z0-9-]+$/)
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toMatch(/\S/)
      expect(doc.kind, file).toMatch(/\S/)
      expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/)
      // The Namespace itself is cluster-scoped.
      if (doc.kind !== 'Namespace') expect(doc.metadata?.namespace, file).toBe(ns)
      expect(doc.metadata?.labels, file).toMatchObject(COMMON_LABELS)
    }
  })

  test('the Deployment selects its own pods, with at least 2 replicas spread across nodes', () => {
    expect(deployment.spec?.selector.matchLabels).toEqual(COMMON_LABELS)
    expect(podLabels).toMatchObject(COMMON_LABELS)
    expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(2)
    // A rollout never lowers the serving count.
    expect(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0)
    const spreadOverNodes = (podSpec?.topologySpreadConstraints ?? []).some(
      (constraint) => constraint.topologyKey === 'kubernetes.io/hostname' && constraint.whenUnsatisfiable === 'DoNotSchedule' && selects(constraint.labelSelector?.matchLabels, podLabels),
    )
    const antiAffinity = (podSpec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).some(
      (term) => term.topologyKey === 'kubernetes.io/hostname' && selects(term.labelSelector?.matchLabels, podLabels),
    )
    expect(spreadOverNodes || antiAffinity).toBe(true)
    expect(container.image).toBe('switchyard:0.1.0')
  })

  test('the Service selects the pods and targets the container port', () => {
    expect(service.spec?.type ?? 'ClusterIP').toBe('ClusterIP')
    expect(selects(service.spec?.selector, podLabels)).toBe(true)
    expect(rpcPort.containerPort).toBe(8545)
    expect(service.spec?.ports).toHaveLength(1)
    const [port] = service.spec?.ports ?? []
    expect(port?.port).toBe(8545)
    expect(containerPortOf(port?.targetPort ?? port?.port)).toBe(rpcPort.containerPort)
  })

  test('probes: startup and liveness on /healthz, readiness on /readyz, all on the container port', () => {
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz')
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz')
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz')
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(containerPortOf(probe?.httpGet?.port)).toBe(rpcPort.containerPort)
    }
  })

  test('the config in the ConfigMap loads with switchyard\'s loader and matches the pod', () => {
    const config = loadConfig(filledEnv)
    expect(config.server.port).toBe(rpcPort.containerPort)
    expect(config.server.host).toBe('0.0.0.0')
    expect(config.admin.token).toBe(filledEnv.SWITCHYARD_ADMIN_TOKEN)
    // Replicas share one broadcast journal: PostgreSQL, its URL from the Secret.
    const journal = config.journal as { store?: unknown; postgres?: { url?: unknown } }
    expect(journal.store).toBe('postgres')
    expect(journal.postgres?.url).toBe(filledEnv.SWITCHYARD_JOURNAL_URL)
    const families = Object.values(config.chains).map((chain) => chain.family)
    expect(families).toEqual(expect.arrayContaining(['bitcoin', 'evm']))
    for (const chain of Object.values(config.chains)) expect(chain.nodes.length, chain.name).toBeGreaterThanOrEqual(2)
    // The annotation-based scrape sends no credentials.
    expect(config.metrics.token).toBeUndefined()
  })

  test('the Secret\'s CHANGE-ME placeholders keep the pods from starting', () => {
    expect(Object.values(secretValues).some((value) => value.includes('CHANGE-ME'))).toBe(true)
    let error: unknown
    try {
      loadConfig(secretValues)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    expect(problems).toContain('admin.token: must be at least 16 characters')
    expect(problems.filter((problem) => /^clients\[\d+\]\.key: must be at least 16 characters$/.test(problem)).length).toBeGreaterThan(0)
  })

  test('every ${VAR} of the config is an env var from the Secret, and every Secret key is used', () => {
    const variables = configVariables(configText)
    expect(variables.length).toBeGreaterThan(5)
    const env = container.env ?? []
    for (const name of variables) {
      const entry = env.find((candidate) => candidate.name === name)
      expect(entry?.valueFrom?.secretKeyRef?.name, name).toBe(secret.metadata?.name)
    }
    const referencedKeys = env.flatMap((entry) => (entry.valueFrom?.secretKeyRef === undefined ? [] : [entry.valueFrom.secretKeyRef]))
    for (const ref of referencedKeys) {
      expect(ref.name).toBe(secret.metadata?.name)
      expect(Object.keys(secretValues), `Secret key ${ref.key}`).toContain(ref.key)
      expect(ref.optional ?? false).toBe(false)
    }
    expect(referencedKeys.map((ref) => ref.key).sort()).toEqual(Object.keys(secretValues).sort())
    expect(container.envFrom ?? []).toEqual([])
    // Only the Secret fills the config's variables: no Service links (SWITCHYARD_PORT=tcp://…).
    expect(podSpec?.enableServiceLinks).toBe(false)
  })

  test('the pod runs the image\'s own command, whose --config is the mounted file, as the image\'s user', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8')
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1]
    expect(cmd, 'the Dockerfile\'s CMD (exec form)').toBeDefined()
    const args = JSON.parse(cmd!) as string[]
    expect(args[args.indexOf('--config') + 1]).toBe(CONFIG_FILE)
    expect(container.command).toBeUndefined()
    expect(container.args).toBeUndefined()
    // USER node: uid 1000 in the node images.
    expect(/^USER\s+(\S+)\s*$/m.exec(dockerfile)?.[1]).toBe('node')
    expect(podSpec?.securityContext?.runAsUser).toBe(1000)
  })

  test('the ConfigMap is mounted read-only where the image reads its config', () => {
    const mount = container.volumeMounts?.find((candidate) => CONFIG_FILE.startsWith(`${candidate.mountPath}/`))
    expect(mount?.readOnly).toBe(true)
    // No subPath: a changed ConfigMap reaches the file.
    expect(mount?.subPath).toBeUndefined()
    const volume = podSpec?.volumes?.find((candidate) => candidate.name === mount?.name)
    expect(volume?.configMap?.name).toBe(configMap.metadata?.name)
    const file = CONFIG_FILE.slice(`${mount?.mountPath}/`.length)
    const item = volume?.configMap?.items?.find((candidate) => candidate.path === file)
    expect(item?.key ?? file).toBe('switchyard.yaml')
  })

  test('the termination grace outlasts preStop + shutdown.graceMs + drainMs (and broadcast sends after it)', () => {
    const config = loadConfig(filledEnv)
    const preStop = container.lifecycle?.preStop
    const command = preStop?.exec?.command ?? []
    const preStopS = preStop?.sleep?.seconds ?? (command[0] === 'sleep' ? Number(command[1]) : undefined)
    expect(preStopS).toBeGreaterThan(0)
    const terminationS = podSpec?.terminationGracePeriodSeconds ?? 30
    const { graceMs, drainMs } = config.shutdown
    expect(terminationS).toBeGreaterThan(preStopS! + (graceMs + drainMs) / 1000)
    // After the drain, background broadcast sends finish (each bounded by its chain's timeout) before the journal closes.
    const broadcastMs = Math.max(...Object.values(config.chains).map((chain) => chain.broadcast.timeoutMs))
    expect(terminationS).toBeGreaterThanOrEqual(preStopS! + (graceMs + drainMs + broadcastMs) / 1000)
    // A call accepted at the end of the grace completes within the drain.
    for (const chain of Object.values(config.chains)) expect(drainMs, chain.name).toBeGreaterThan(chain.routing.deadlineMs)
  })

  test('resources: requests within limits, memory from the bench\'s measured RSS and the config\'s bounds', () => {
    const { requests = {}, limits = {} } = container.resources ?? {}
    expect(quantity(requests.cpu)).toBeGreaterThan(0)
    for (const resource of Object.keys(requests)) {
      if (limits[resource] !== undefined) expect(quantity(requests[resource]), resource).toBeLessThanOrEqual(quantity(limits[resource]))
    }
    const memoryRequest = quantity(requests.memory)
    const memoryLimit = quantity(limits.memory)
    expect(memoryRequest).toBeGreaterThanOrEqual(BENCH_MULTI_CHAIN_PEAK_RSS)
    expect(memoryLimit).toBeGreaterThanOrEqual(BENCH_PEAK_RSS)
    // What the config lets grow (caches, node replies held) fits above the idle process.
    const config = loadConfig(filledEnv)
    const cacheBytes = Object.values(config.chains).reduce((sum, chain) => sum + (chain.cache.enabled ? chain.cache.maxBytes : 0), 0)
    expect(memoryLimit).toBeGreaterThanOrEqual(BENCH_IDLE_RSS + cacheBytes + config.server.maxReplyBytesInFlight)
    // V8's heap cap, if set, stays under the limit.
    const nodeOptions = container.env?.find((entry) => entry.name === 'NODE_OPTIONS')?.value ?? ''
    const heapMiB = /--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]
    if (heapMiB !== undefined) expect(Number(heapMiB) * 2 ** 20).toBeLessThan(memoryLimit)
  })

  test('the pod runs non-root on a read-only root file system, writing only to emptyDir volumes', () => {
    const context = container.securityContext
    expect(podSpec?.securityContext?.runAsNonRoot ?? context?.runAsNonRoot).toBe(true)
    expect(podSpec?.securityContext?.runAsUser ?? context?.runAsUser).toBeGreaterThan(0)
    expect(context?.allowPrivilegeEscalation).toBe(false)
    expect(context?.readOnlyRootFilesystem).toBe(true)
    expect(context?.capabilities?.drop).toEqual(['ALL'])
    expect(context?.privileged ?? false).toBe(false)
    expect(podSpec?.securityContext?.seccompProfile?.type ?? context?.seccompProfile?.type).toBe('RuntimeDefault')
    expect(podSpec?.automountServiceAccountToken).toBe(false)
    const writable = (container.volumeMounts ?? []).filter((mount) => mount.readOnly !== true)
    expect(writable.length).toBeGreaterThan(0)
    for (const mount of writable) expect(podSpec?.volumes?.find((volume) => volume.name === mount.name)?.emptyDir, mount.mountPath).toBeDefined()
    // The namespace refuses anything weaker.
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
  })

  test('Prometheus scrape annotations point at /metrics on the container port', () => {
    const annotations = deployment.spec?.template.metadata?.annotations ?? {}
    expect(annotations['prometheus.io/scrape']).toBe('true')
    expect(annotations['prometheus.io/path']).toBe('/metrics')
    expect(annotations['prometheus.io/port']).toBe(String(rpcPort.containerPort))
  })

  test('the HPA scales the Deployment on CPU, never below 2', () => {
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata?.name })
    const min = hpa.spec?.minReplicas ?? 1
    expect(min).toBeGreaterThanOrEqual(2)
    expect(hpa.spec?.maxReplicas).toBeGreaterThanOrEqual(min)
    expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(min)
    expect(deployment.spec?.replicas).toBeLessThanOrEqual(hpa.spec!.maxReplicas)
    const cpu = hpa.spec?.metrics?.find((metric) => metric.type === 'Resource' && metric.resource?.name === 'cpu')
    expect(cpu?.resource?.target.type).toBe('Utilization')
    expect(cpu?.resource?.target.averageUtilization).toBeGreaterThan(0)
    expect(cpu?.resource?.target.averageUtilization).toBeLessThanOrEqual(100)
  })

  test('the journal\'s PostgreSQL takes every pod\'s connections at the HPA\'s maximum, during a rollout too', () => {
    const config = loadConfig(filledEnv)
    const poolSize = (config.journal as { postgres?: { poolSize?: number } }).postgres?.poolSize
    expect(poolSize).toBeGreaterThan(0)
    const surge = deployment.spec?.strategy?.rollingUpdate?.maxSurge
    expect(typeof surge).toBe('number')
    // PostgreSQL's default max_connections is 100, a few of them reserved for superusers.
    expect((hpa.spec!.maxReplicas + (surge as number)) * poolSize!).toBeLessThanOrEqual(90)
  })

  test('the PodDisruptionBudget selects the pods and lets one go at a time', () => {
    expect(pdb.spec?.selector?.matchLabels).toEqual(deployment.spec?.selector.matchLabels)
    expect(selects(pdb.spec?.selector?.matchLabels, podLabels)).toBe(true)
    const budget = pdb.spec?.minAvailable !== undefined ? { minAvailable: pdb.spec.minAvailable } : { maxUnavailable: pdb.spec?.maxUnavailable }
    expect([{ minAvailable: 1 }, { maxUnavailable: 1 }]).toContainEqual(budget)
  })

  test('the Service keeps a client on one replica longer than an unpolled filter lives', () => {
    const config = loadConfig(filledEnv)
    expect(service.spec?.sessionAffinity).toBe('ClientIP')
    expect((service.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10_800) * 1000).toBeGreaterThan(config.filters.idleTimeoutMs)
  })

  test('the NetworkPolicy admits only wallet namespaces and Prometheus, on the RPC port only', () => {
    expect(selects(networkPolicy.spec?.podSelector.matchLabels, podLabels)).toBe(true)
    expect(networkPolicy.spec?.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']))
    const rules = networkPolicy.spec?.ingress ?? []
    const sources: string[] = []
    for (const rule of rules) {
      // No rule without ports (= every port) or without peers (= everyone).
      expect(rule.ports?.length).toBeGreaterThan(0)
      for (const port of rule.ports ?? []) {
        expect(containerPortOf(port.port)).toBe(rpcPort.containerPort)
        expect(port.protocol ?? 'TCP').toBe('TCP')
        expect(port.endPort).toBeUndefined()
      }
      expect(rule.from?.length).toBeGreaterThan(0)
      for (const peer of rule.from ?? []) {
        expect(peer.ipBlock).toBeUndefined()
        const labels = peer.namespaceSelector?.matchLabels ?? {}
        expect(peer.namespaceSelector?.matchExpressions).toBeUndefined()
        if (labels[RPC_CLIENT_LABEL] === 'true') sources.push('wallets')
        else if (labels['kubernetes.io/metadata.name'] === PROMETHEUS_NAMESPACE) sources.push('prometheus')
        else sources.push(`unexpected ${JSON.stringify(peer)}`)
      }
    }
    expect(sources.sort()).toEqual(['prometheus', 'wallets'])
  })

  test('the NetworkPolicy lets switchyard reach DNS, every node and the journal\'s database', () => {
    const egress = networkPolicy.spec?.egress ?? []
    const allows = (port: number, protocol = 'TCP'): boolean =>
      egress.some((rule) => (rule.ports ?? []).some((allowed) => allowed.port === port && (allowed.protocol ?? 'TCP') === protocol))
    expect(allows(53, 'UDP')).toBe(true)
    expect(allows(53, 'TCP')).toBe(true)
    const config = loadConfig(filledEnv)
    const defaultPorts: Record<string, number> = { 'http:': 80, 'https:': 443, 'postgresql:': 5432, 'postgres:': 5432 }
    const portOf = (url: string): number => {
      const parsed = new URL(url)
      return parsed.port === '' ? (defaultPorts[parsed.protocol] as number) : Number(parsed.port)
    }
    const urls = [...Object.values(config.chains).flatMap((chain) => chain.nodes.map((node) => node.url)), filledEnv.SWITCHYARD_JOURNAL_URL as string]
    for (const url of urls) expect(allows(portOf(url)), `egress to port ${portOf(url)}`).toBe(true)
  })
})
