{{/* Names. */}}
{{- define "volume-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- /*
The Service is named so: Kubernetes wants a DNS-1035 label there (a lower-case letter first, no dots), where a Helm
release name may start with a digit and hold dots.
*/}}
{{- define "volume-guard.fullname" -}}
{{- $fullname := "" }}
{{- if .Values.fullnameOverride }}
{{- $fullname = .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $fullname = .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $fullname = printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $fullname) }}
{{- $suggestion := regexReplaceAll "[^-a-z0-9]+" $fullname "-" }}
{{- if not (regexMatch "^[a-z]" $suggestion) }}
{{- $suggestion = printf "vg-%s" $suggestion }}
{{- end }}
{{- fail (printf "the Service name %s (from the release name) is no DNS-1035 label (a lower-case letter, then letters, digits and -): set fullnameOverride, e.g. %s" $fullname ($suggestion | trunc 63 | trimSuffix "-")) }}
{{- end }}
{{- $fullname }}
{{- end }}

{{- define "volume-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "volume-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "volume-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "volume-guard.labels" -}}
helm.sh/chart: {{ include "volume-guard.chart" . }}
{{ include "volume-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: volume-guard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "volume-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "volume-guard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "volume-guard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* TLS objects. The serving Secret has the same keys in both modes: tls.crt, tls.key, ca.crt. */}}
{{- define "volume-guard.tlsSecretName" -}}
{{- printf "%s-tls" (include "volume-guard.fullname" .) }}
{{- end }}

{{- define "volume-guard.servingCertificateName" -}}
{{- printf "%s-serving" (include "volume-guard.fullname" .) }}
{{- end }}

{{/* The names of the other objects: the templates and volume-guard.ownObjects take them from here. */}}
{{- define "volume-guard.caName" -}}
{{- printf "%s-ca" (include "volume-guard.fullname" .) }}
{{- end }}

{{- define "volume-guard.selfSignedIssuerName" -}}
{{- printf "%s-selfsigned" (include "volume-guard.fullname" .) }}
{{- end }}

{{- define "volume-guard.eventsRoleName" -}}
{{- printf "%s-events" (include "volume-guard.fullname" .) }}
{{- end }}

{{- define "volume-guard.auditRoleName" -}}
{{- printf "%s-audit" (include "volume-guard.fullname" .) }}
{{- end }}

{{- define "volume-guard.dashboardName" -}}
{{- printf "%s-dashboard" (include "volume-guard.fullname" .) }}
{{- end }}

{{- define "volume-guard.dashboardNamespace" -}}
{{- .Values.grafanaDashboard.namespace | default .Release.Namespace }}
{{- end }}

{{/*
Every object the chart can render for this release, whatever its toggles, as `<namespace>/<group>/<resource>/<name>`
(namespace '' when cluster-scoped, group '' for the core group), sorted: the owner-delete webhook skips the DELETEs of
these (ownObjectsCondition, src/admission/webhooks.ts) while they carry the chart's labels. Not only those rendered
now: an upgrade turning one off (networkPolicy.enabled=false, the repair of a NetworkPolicy cutting the pods off) has
Helm delete it after the new webhook configuration is in place, as Flux's or Argo CD's identity, while volume-guard may
be down. The service account and the dashboard are listed under the chart's names and under the ones set.
test/unit/chart-render.test.ts holds this list equal to what the templates render with every object on
(test/support/chart-objects.ts everyObjectValues), so a template adding an object must add it here.
*/}}
{{- define "volume-guard.ownObjects" -}}
{{- $fullname := include "volume-guard.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $rbac := "rbac.authorization.k8s.io" }}
{{- $objects := list
  (printf "%s//configmaps/%s" $ns $fullname)
  (printf "%s/apps/deployments/%s" $ns $fullname)
  (printf "%s//services/%s" $ns $fullname)
  (printf "/admissionregistration.k8s.io/validatingwebhookconfigurations/%s" $fullname)
  (printf "/admissionregistration.k8s.io/mutatingwebhookconfigurations/%s" $fullname)
  (printf "%s//serviceaccounts/%s" $ns $fullname)
  (printf "%s/cert-manager.io/issuers/%s" $ns (include "volume-guard.selfSignedIssuerName" .))
  (printf "%s/cert-manager.io/issuers/%s" $ns (include "volume-guard.caName" .))
  (printf "%s/cert-manager.io/certificates/%s" $ns (include "volume-guard.caName" .))
  (printf "%s/cert-manager.io/certificates/%s" $ns (include "volume-guard.servingCertificateName" .))
  (printf "%s//secrets/%s" $ns (include "volume-guard.tlsSecretName" .))
  (printf "%s//configmaps/%s" $ns (include "volume-guard.chartClientCaConfigMapName" .))
  (printf "%s//configmaps/%s" $ns (include "volume-guard.dashboardName" .))
  (printf "%s//configmaps/%s" (include "volume-guard.dashboardNamespace" .) (include "volume-guard.dashboardName" .))
  (printf "%s/networking.k8s.io/networkpolicies/%s" $ns $fullname)
  (printf "%s/policy/poddisruptionbudgets/%s" $ns $fullname)
  (printf "%s/monitoring.coreos.com/prometheusrules/%s" $ns $fullname)
  (printf "%s/monitoring.coreos.com/servicemonitors/%s" $ns $fullname)
  (printf "/%s/clusterroles/%s" $rbac $fullname)
  (printf "/%s/clusterrolebindings/%s" $rbac $fullname)
  (printf "/%s/clusterroles/%s" $rbac (include "volume-guard.eventsRoleName" .))
  (printf "/%s/clusterrolebindings/%s" $rbac (include "volume-guard.eventsRoleName" .))
  (printf "/%s/clusterroles/%s" $rbac (include "volume-guard.auditRoleName" .)) }}
{{- with .Values.serviceAccount.name }}
{{- $objects = append $objects (printf "%s//serviceaccounts/%s" $ns .) }}
{{- end }}
{{- $objects | uniq | sortAlpha | toJson }}
{{- end }}

{{/*
"true" when the workload webhooks leave the release namespace out as a whole: webhook.excludeOwnNamespace (true when
unset) and not a namespace other workloads share (sharedNamespaces in files/webhooks.json, SHARED_NAMESPACES in
src/admission/webhooks.ts: default, harvester-system, longhorn-system, ...), where only volume-guard's own pods and
release records are skipped, by name. Empty otherwise.
*/}}
{{- define "volume-guard.excludesOwnNamespace" -}}
{{- $shared := (.Files.Get "files/webhooks.json" | fromJson).sharedNamespaces }}
{{- $wanted := ternary .Values.webhook.excludeOwnNamespace true (hasKey .Values.webhook "excludeOwnNamespace") }}
{{- if and $wanted (not (has .Release.Namespace $shared)) }}true{{ end }}
{{- end }}

{{- define "volume-guard.serviceDNSNames" -}}
{{- $svc := include "volume-guard.fullname" . }}
{{- list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.%s" $svc .Release.Namespace .Values.clusterDomain) | toJson }}
{{- end }}

{{/*
Generated TLS material (tls.certManager.enabled=false), computed once per render and shared by the Secret and the
webhook configuration's caBundle. An existing Secret is kept (certificates do not rotate on every upgrade) unless
tls.generated.rotate is set; on rotation the old CA stays in the trust bundle so the API server keeps trusting pods
that still serve the old pair until the kubelet refreshes the mounted Secret.
Returns JSON: {"crt": PEM, "key": PEM, "ca": PEM, "bundle": PEM}.
*/}}
{{- define "volume-guard.generatedTLS" -}}
{{- $cache := .Values.tls.generated }}
{{- if not (hasKey $cache "__material") }}
{{- /*
lookup returns nothing both on a first install and when the render cannot see the cluster (helm template, Argo CD,
helm --dry-run without =server): then fresh material is minted, as on a first install. A GitOps renderer therefore
mints a new CA on every render (the Secret's comment, values.yaml, the chart README and NOTES say so): use
cert-manager there, or render once and keep the output.
*/}}
{{- $name := include "volume-guard.tlsSecretName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name }}
{{- $existingData := dig "data" (dict) $existing }}
{{- $complete := and (hasKey $existingData "tls.crt") (hasKey $existingData "tls.key") (hasKey $existingData "ca.crt") }}
{{- $material := dict }}
{{- if and $complete (not .Values.tls.generated.rotate) }}
{{- $bundle := get $existingData "ca-bundle.crt" | default (get $existingData "ca.crt") }}
{{- $material = dict "crt" (get $existingData "tls.crt" | b64dec) "key" (get $existingData "tls.key" | b64dec) "ca" (get $existingData "ca.crt" | b64dec) "bundle" ($bundle | b64dec) }}
{{- else }}
{{- $ca := genCA (printf "%s-ca" (include "volume-guard.fullname" .)) (int .Values.tls.generated.caValidityDays) }}
{{- $dnsNames := include "volume-guard.serviceDNSNames" . | fromJsonArray }}
{{- $cert := genSignedCert (first $dnsNames) nil $dnsNames (int .Values.tls.generated.certValidityDays) $ca }}
{{- $bundle := $ca.Cert }}
{{- if $complete }}
{{- $bundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) (get $existingData "ca.crt" | b64dec) }}
{{- end }}
{{- $material = dict "crt" $cert.Cert "key" $cert.Key "ca" $ca.Cert "bundle" $bundle }}
{{- end }}
{{- $_ := set $cache "__material" $material }}
{{- end }}
{{- get $cache "__material" | toJson }}
{{- end }}

{{/* The namespaces workload webhooks (pods, Helm release records) are never called for: the control plane's and webhook.excludeNamespaces. */}}
{{- define "volume-guard.excludedNamespaces" -}}
{{- concat (list "kube-system" "kube-node-lease") .Values.webhook.excludeNamespaces | uniq | toJson }}
{{- end }}

{{/*
Exactly the names of the pods of the chart's Deployment (deploymentPodNamePattern, src/admission/webhooks.ts): its
ReplicaSets are <fullname>-<pod-template-hash> (1-10 characters), their pods get generateName <replicaset>-, which the
API server cuts to 58 characters before appending 5 random ones.
*/}}
{{- define "volume-guard.podNamePattern" -}}
{{- $name := include "volume-guard.fullname" . }}
{{- $length := len $name }}
{{- $forms := list }}
{{- if le $length 55 }}
{{- $forms = append $forms (printf "%s-[a-z0-9]{1,%d}-[a-z0-9]{5}" (regexQuoteMeta $name) (min 10 (sub 56 $length))) }}
{{- end }}
{{- if and (ge $length 47) (le $length 57) }}
{{- $forms = append $forms (printf "%s-[a-z0-9]{%d}" (regexQuoteMeta $name) (sub 62 $length)) }}
{{- end }}
{{- if ge $length 58 }}
{{- $forms = append $forms (printf "%s[a-z0-9]{5}" (regexQuoteMeta (trunc 58 $name))) }}
{{- end }}
{{- if eq (len $forms) 1 }}
{{- printf "^%s$" (first $forms) }}
{{- else }}
{{- printf "^(?:%s)$" (join "|" $forms) }}
{{- end }}
{{- end }}

{{/* Exactly the names of the release's Helm records, sh.helm.release.v1.<release>.v<revision> (helmReleaseRecordPattern). */}}
{{- define "volume-guard.releaseRecordPattern" -}}
{{- printf "^sh\\.helm\\.release\\.v1\\.%s\\.v[0-9]+$" (regexQuoteMeta .Release.Name) }}
{{- end }}

{{/* A Go duration (values.schema.json's pattern: 720h, 1h30m, 90m, 0.5h) in seconds, as a float. */}}
{{- define "volume-guard.durationSeconds" -}}
{{- $scale := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" (toString .) -1 }}
{{- $unit := regexFind "(ns|us|µs|ms|s|m|h)$" . }}
{{- $total = addf $total (mulf (trimSuffix $unit . | float64) (get $scale $unit)) }}
{{- end }}
{{- $total }}
{{- end }}

{{/* A value as the text inside a CEL string literal: backslashes and single quotes escaped (celString, src/admission/rules.ts). */}}
{{- define "volume-guard.celEscape" -}}
{{- toString . | replace "\\" "\\\\" | replace "'" "\\'" }}
{{- end }}

{{/*
.text with each token of .fills (a dict) replaced by its value, in one pass (a value holding a token stays as it is).
*/}}
{{- define "volume-guard.fillTokens" -}}
{{- $text := .text }}
{{- if .fills }}
{{- $tokens := list }}
{{- range keys .fills | sortAlpha }}
{{- $tokens = append $tokens (regexQuoteMeta .) }}
{{- end }}
{{- $pattern := join "|" $tokens }}
{{- $parts := regexSplit $pattern $text -1 }}
{{- $text = first $parts }}
{{- range $index, $token := regexFindAll $pattern .text -1 }}
{{- $text = print $text (get $.fills $token) (index $parts (add1 $index)) }}
{{- end }}
{{- end }}
{{- $text }}
{{- end }}

{{/*
volume-guard's config file: .Values.config (its defaults are in values.yaml), checked against the pod spec, and the
values that would render fine but fail at run time refused here, each with one line saying what to change.
*/}}
{{- define "volume-guard.config" -}}
{{- $config := .Values.config }}
{{- $shutdownMs := add (int $config.shutdown.drainDelayMs) (int $config.shutdown.timeoutMs) }}
{{- if ge (int $shutdownMs) (mul (int .Values.terminationGracePeriodSeconds) 1000 | int) }}
{{- fail (printf "config.shutdown.drainDelayMs + config.shutdown.timeoutMs (%d ms) must be shorter than terminationGracePeriodSeconds (%d s), or the kubelet kills in-flight reviews" $shutdownMs (int .Values.terminationGracePeriodSeconds)) }}
{{- end }}
{{- if not (hasPrefix "/etc/volume-guard/tls/" $config.admission.tls.certFile) }}
{{- fail "config.admission.tls.certFile must be under /etc/volume-guard/tls/, where the chart mounts the serving certificate" }}
{{- end }}
{{- if not (hasPrefix "/etc/volume-guard/tls/" $config.admission.tls.keyFile) }}
{{- fail "config.admission.tls.keyFile must be under /etc/volume-guard/tls/, where the chart mounts the serving certificate" }}
{{- end }}
{{- $tlsDir := "/etc/volume-guard/tls/" }}
{{- if and $config.admission.tls.caFile (not (hasPrefix $tlsDir $config.admission.tls.caFile)) }}
{{- fail (printf "config.admission.tls.caFile %s is not mounted: the chart mounts only the serving Secret, at %s; set it under there (e.g. %sca.crt) or leave it empty" $config.admission.tls.caFile $tlsDir $tlsDir) }}
{{- end }}
{{- /* clientAuth.enabled mounts the client CA and points volume-guard at it (an environment variable overrides this field). */}}
{{- if and $config.admission.tls.clientCaFile (not .Values.clientAuth.enabled) }}
{{- fail (printf "config.admission.tls.clientCaFile %s is not mounted without clientAuth.enabled: leave it empty and set clientAuth.enabled=true with clientAuth.caBundle or clientAuth.existingConfigMap" $config.admission.tls.clientCaFile) }}
{{- end }}
{{- /* A loopback address answers only inside the pod: the API server (and the kubelet's probes) reach the pod IP. */}}
{{- $loopback := "^(?i:localhost|127\\.[0-9.]+|::1|0:0:0:0:0:0:0:1|::ffff:127\\.[0-9.]+)$" }}
{{- if regexMatch $loopback (toString $config.admission.host) }}
{{- fail (printf "config.admission.host %s is a loopback address: the API server calls the pod IP and would be refused on every admission; set 0.0.0.0 (:: on IPv6 single-stack)" $config.admission.host) }}
{{- end }}
{{- if and (not .Values.opsBindPodIP) (regexMatch $loopback (toString $config.ops.host)) }}
{{- fail (printf "config.ops.host %s is a loopback address with opsBindPodIP=false: the kubelet's probes reach the pod IP and would fail forever; set config.ops.host=0.0.0.0, or opsBindPodIP=true" $config.ops.host) }}
{{- end }}
{{- /*
Any other address but the unspecified one fails in a pod: its IP is not known when the chart renders, listen() on
another host's IP fails (EADDRNOTAVAIL) and a name resolves to another address or none; volume-guard exits at start
(listenAddressError, src/cli.ts). opsBindPodIP sets the ops host from the downward API instead.
*/}}
{{- $unspecified := "^(0\\.0\\.0\\.0|::0*|(0{1,4}:){7}0{1,4})$" }}
{{- $hosts := list (list "admission" $config.admission.host "") }}
{{- if not .Values.opsBindPodIP }}
{{- $hosts = append $hosts (list "ops" $config.ops.host ", or opsBindPodIP=true") }}
{{- end }}
{{- range $hosts }}
{{- if not (regexMatch $unspecified (toString (index . 1))) }}
{{- fail (printf "config.%s.host %s is not an address a pod of this chart has (its IP is not known when the chart renders): volume-guard would exit at start (EADDRNOTAVAIL) and every pod crash-loop; set 0.0.0.0 (:: on IPv6 single-stack)%s" (index . 0) (index . 1) (index . 2)) }}
{{- end }}
{{- end }}
{{- range .Values.extraArgs }}
{{- if or (eq (toString .) "--self-signed") (hasPrefix "--self-signed=" (toString .)) }}
{{- fail "extraArgs holds --self-signed: volume-guard would serve a certificate the webhook's caBundle does not trust and every admission call would fail; remove it (the chart's TLS comes from tls.certManager or tls.generated)" }}
{{- end }}
{{- end }}
{{- /*
`volume-guard serve` takes --config, which the chart sets, and --self-signed (above): anything else makes it exit at
start (unknown option, too many arguments) or stop after printing its help, and every pod crash-loops. Its options are
held to this list by test/unit/chart-render.test.ts.
*/}}
{{- range .Values.extraArgs }}
{{- $arg := toString . }}
{{- if regexMatch "^(--config|-c)($|=)|^-c." $arg }}
{{- fail (printf "extraArgs %s: volume-guard would read another file than the chart's config.yaml, which the webhooks are rendered from (and nothing else is mounted); remove it: settings go under config:" $arg) }}
{{- else if regexMatch "^(--help|-h)$" $arg }}
{{- fail (printf "extraArgs %s: volume-guard serve would print its help and exit, every pod crash-looping; remove it" $arg) }}
{{- else }}
{{- fail (printf "extraArgs %s: volume-guard serve takes no such argument and would exit at start, every pod crash-looping (and every guarded operation refused under failurePolicy Fail); remove it: settings go under config:" $arg) }}
{{- end }}
{{- end }}
{{- /* Ports: the Service, the containerPorts and the probes name fixed ports, and one process listens on both. */}}
{{- range $name := list "admission" "ops" }}
{{- if eq (int (get $config $name).port) 0 }}
{{- fail (printf "config.%s.port is 0 (any free port): the chart's Service and probes need a fixed port; set one" $name) }}
{{- end }}
{{- end }}
{{- if eq (int $config.admission.port) (int $config.ops.port) }}
{{- fail (printf "config.admission.port and config.ops.port are both %d: the pod would crash-loop (EADDRINUSE); give them different ports" (int $config.ops.port)) }}
{{- end }}
{{- if eq (int .Values.service.port) (int $config.ops.port) }}
{{- fail (printf "service.port %d is config.ops.port too, the Service's metrics port: the API server refuses a Service with a port twice; set another service.port" (int .Values.service.port)) }}
{{- end }}
{{- /* loadConfig's rule (src/config/load.ts): volume-guard exits 2 at start. A value left out (values of an older chart reused) takes volume-guard's default. */}}
{{- $admission := $config.admission }}
{{- if and (hasKey $admission "bodyLimitBytes") (hasKey $admission "maxInflightBodyBytes") }}
{{- if gt (int64 $admission.bodyLimitBytes) (int64 $admission.maxInflightBodyBytes) }}
{{- fail (printf "config.admission.bodyLimitBytes %d is above config.admission.maxInflightBodyBytes %d: volume-guard would exit at start; raise maxInflightBodyBytes to at least bodyLimitBytes, or lower bodyLimitBytes" (int64 $admission.bodyLimitBytes) (int64 $admission.maxInflightBodyBytes)) }}
{{- end }}
{{- end }}
{{- /*
VOLUME_GUARD_* variables override the config file, but the webhooks' rules and matchConditions are rendered from
config: the API server would select by one value and volume-guard judge by another. files/config-env.json maps each
variable to its field (generated from src/config/env.ts).
*/}}
{{- $fields := (.Files.Get "files/config-env.json" | fromJson).variables }}
{{- range .Values.env }}
{{- if hasPrefix "VOLUME_GUARD_" (toString .name) }}
{{- $path := get $fields .name }}
{{- if $path }}
{{- fail (printf "env %s overrides config.%s unseen by the chart, which renders the webhooks from config:; set config.%s instead" .name $path $path) }}
{{- else }}
{{- fail (printf "env %s names no config field (volume-guard would exit at start): set it under config: instead" .name) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* A budget as large as the Deployment lets no eviction through: every drain of a node running a replica blocks. */}}
{{- $replicas := int .Values.replicaCount }}
{{- if and .Values.podDisruptionBudget.enabled (gt $replicas 1) }}
{{- $minAvailable := .Values.podDisruptionBudget.minAvailable }}
{{- $keeps := 0 }}
{{- if kindIs "string" $minAvailable }}
{{- /* Kubernetes rounds a percentage of minAvailable up. */}}
{{- $keeps = div (add (mul $replicas (trimSuffix "%" $minAvailable | atoi)) 99) 100 }}
{{- else }}
{{- $keeps = int $minAvailable }}
{{- end }}
{{- if ge (int $keeps) $replicas }}
{{- fail (printf "podDisruptionBudget.minAvailable %v keeps all %d replicas: no node running one could ever be drained; set it below replicaCount" $minAvailable $replicas) }}
{{- end }}
{{- end }}
{{- /*
A Helm release record not read within config.helm.manifestDeadlineMs is refused with the reason; the API server must
still be waiting then (1 s for decoding, a worker's start and the round trip), or it times out first and the
release fails without it (or passes unchecked with failurePolicy Ignore). Without workers there is no deadline.
*/}}
{{- $neededSeconds := div (add (int $config.helm.manifestDeadlineMs) 1999) 1000 | int }}
{{- if and (gt (int $config.helm.manifestWorkers) 0) (lt (int .Values.webhook.timeoutSeconds) $neededSeconds) }}
{{- fail (printf "webhook.timeoutSeconds %d is shorter than config.helm.manifestDeadlineMs (%d ms) + 1 s: the API server would time out before volume-guard refuses a slow Helm release with its reason; set it to %d or more, or lower the deadline" (int .Values.webhook.timeoutSeconds) (int $config.helm.manifestDeadlineMs) $neededSeconds) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{- define "volume-guard.clientCaConfigMapName" -}}
{{- if .Values.clientAuth.existingConfigMap }}
{{- .Values.clientAuth.existingConfigMap }}
{{- else }}
{{- include "volume-guard.chartClientCaConfigMapName" . }}
{{- end }}
{{- end }}

{{/* The client CA ConfigMap the chart renders from clientAuth.caBundle. */}}
{{- define "volume-guard.chartClientCaConfigMapName" -}}
{{- printf "%s-client-ca" (include "volume-guard.fullname" .) }}
{{- end }}

{{/*
"true" when two or more replicas must run on different nodes: the chart's required pod anti-affinity on
kubernetes.io/hostname (highAvailability.requiredAntiAffinity), or a required one in .Values.affinity. Empty otherwise.
*/}}
{{- define "volume-guard.requiredAntiAffinity" -}}
{{- if ge (int .Values.replicaCount) 2 }}
{{- if .Values.affinity }}
{{- if dig "podAntiAffinity" "requiredDuringSchedulingIgnoredDuringExecution" nil .Values.affinity }}true{{ end }}
{{- else if .Values.highAvailability.requiredAntiAffinity }}true
{{- end }}
{{- end }}
{{- end }}

{{- define "volume-guard.admissionPort" -}}
{{- .Values.config.admission.port | int }}
{{- end }}

{{- define "volume-guard.opsPort" -}}
{{- .Values.config.ops.port | int }}
{{- end }}
