{{- /*
A webhook configuration rendered from files/webhooks.json (generated from createValidators(defaultConfig) by
scripts/generate-chart.ts), so the API server calls volume-guard for exactly what its validators judge: with
`mutating` false the ValidatingWebhookConfiguration of the validating declarations, with true the
MutatingWebhookConfiguration of the mutating ones (the override writer step: failurePolicy Ignore, reinvocationPolicy
Never). The parts that depend on the configuration are rendered from .Values.config: the upgrade kinds' rules and the
config values in matchConditions. Called with (dict "root" $ "mutating" bool).
*/}}
{{- define "volume-guard.webhookConfiguration" -}}
{{- $root := .root }}
{{- $mutating := .mutating }}
{{- $generated := $root.Files.Get "files/webhooks.json" | fromJson }}
{{- $declarations := $generated.webhooks }}
{{- /*
Config values the matchConditions name (the Longhorn namespace and service account, the automation identities):
webhooks.json holds a token for each (configPlaceholders), filled here from .Values.config, so the conditions follow
the values as volume-guard's validators follow its config file. `string`: the text inside a CEL string literal;
`list`: the list's CEL string literals.
*/}}
{{- $fills := dict }}
{{- range $generated.configPlaceholders }}
{{- $value := $root.Values.config }}
{{- range splitList "." .path }}
{{- $value = get $value . }}
{{- end }}
{{- if eq .form "list" }}
{{- $literals := list }}
{{- range $value }}
{{- $literals = append $literals (printf "'%s'" (include "volume-guard.celEscape" .)) }}
{{- end }}
{{- $_ := set $fills .token (join ", " $literals) }}
{{- else }}
{{- $_ := set $fills .token (include "volume-guard.celEscape" $value) }}
{{- end }}
{{- end }}
{{- $fullname := include "volume-guard.fullname" $root }}
{{- /* matchConditions are beta and on by default from Kubernetes 1.28 (GA in 1.30); older API servers get every request and the validators filter. */}}
{{- $withMatchConditions := semverCompare ">=1.28-0" $root.Capabilities.KubeVersion.Version }}
{{- /*
Namespace exclusions apply to workload webhooks only (pods, Helm release records): the system namespaces,
webhook.excludeNamespaces and the release namespace (excludedNamespaces in src/admission/webhooks.ts). Not a namespace
other workloads share (default, harvester-system, longhorn-system, ...: volume-guard.excludesOwnNamespace), nor with
webhook.excludeOwnNamespace=false: there volume-guard's own pods and release are skipped by a matchCondition only
(NOTES says so). Webhooks on upgrade CRs, Machines, nodes and overrides see every namespace (an Upgrade in
harvester-system is checked even when volume-guard runs there).
*/}}
{{- $excluded := include "volume-guard.excludedNamespaces" $root | fromJsonArray }}
{{- if or (not $withMatchConditions) (include "volume-guard.excludesOwnNamespace" $root) }}
{{- $excluded = append $excluded $root.Release.Namespace | uniq }}
{{- end }}
{{- $caBundle := "" }}
{{- if not $root.Values.tls.certManager.enabled }}
{{- $caBundle = (include "volume-guard.generatedTLS" $root | fromJson).bundle | b64enc }}
{{- end }}
apiVersion: admissionregistration.k8s.io/v1
kind: {{ ternary "MutatingWebhookConfiguration" "ValidatingWebhookConfiguration" $mutating }}
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "volume-guard.labels" $root | nindent 4 }}
  {{- if or $root.Values.tls.certManager.enabled $root.Values.webhook.annotations }}
  annotations:
    {{- if $root.Values.tls.certManager.enabled }}
    cert-manager.io/inject-ca-from: {{ printf "%s/%s" $root.Release.Namespace (include "volume-guard.servingCertificateName" $root) }}
    {{- end }}
    {{- with $root.Values.webhook.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
webhooks:
  {{- range $declarations }}
  {{- if eq (default false .mutating) $mutating }}
  - name: {{ .name }}
    admissionReviewVersions: ["v1"]
    sideEffects: None
    matchPolicy: Equivalent
    {{- if .mutating }}
    {{- /* The mutating step never gates: the validating webhook it prepares a write for does (MUTATING_WEBHOOK_SETTINGS). */}}
    failurePolicy: Ignore
    reinvocationPolicy: Never
    {{- else if eq .target "overrides" }}
    {{- /* Never Ignore while it filters by matchConditions: an outage must not let forged overrides in. */}}
    failurePolicy: {{ ternary "Fail" $root.Values.webhook.overridesWebhookWithoutMatchConditions $withMatchConditions }}
    {{- else }}
    failurePolicy: {{ get $root.Values.webhook.failurePolicyOverrides .target | default $root.Values.webhook.failurePolicy }}
    {{- end }}
    timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
    clientConfig:
      service:
        name: {{ $fullname }}
        namespace: {{ $root.Release.Namespace }}
        path: {{ .path }}
        port: {{ $root.Values.service.port }}
      {{- if $caBundle }}
      caBundle: {{ $caBundle }}
      {{- end }}
    rules:
      {{- range .rules }}
      {{- if hasKey . "upgradeKinds" }}
      {{- /* One rule per config.upgrades.kinds entry: the configuration and the webhook agree on what is guarded. */}}
      {{- $operations := .upgradeKinds.operations }}
      {{- $scope := .upgradeKinds.scope }}
      {{- $suffix := "" }}
      {{- with .upgradeKinds.subresource }}
      {{- $suffix = printf "/%s" . }}
      {{- end }}
      {{- range $root.Values.config.upgrades.kinds }}
      {{- /* Every version the entry names: its versions, or its one version (the values schema allows exactly one). */}}
      - apiGroups: [{{ .group | quote }}]
        apiVersions: {{ default (list .version) .versions | toJson }}
        resources: [{{ printf "%s%s" .resource $suffix | quote }}]
        operations: {{ default .operations $operations | toJson }}
        {{- with $scope }}
        scope: {{ . | quote }}
        {{- end }}
      {{- end }}
      {{- else }}
      {{- list . | toYaml | nindent 6 }}
      {{- end }}
      {{- end }}
    {{- with .objectSelector }}
    objectSelector:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if .workload }}
    {{- $selector := deepCopy (default (dict) .namespaceSelector) }}
    {{- $left := $excluded }}
    {{- if and (eq .workload "helm-releases") $withMatchConditions }}
    {{- /* A Helm storage namespace holds releases of other namespaces (Flux): never left out; its own records are skipped by name. */}}
    {{- $left = list }}
    {{- range $excluded }}
    {{- if not (has . $root.Values.config.helm.storageNamespaces) }}
    {{- $left = append $left . }}
    {{- end }}
    {{- end }}
    {{- end }}
    {{- $exclusion := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" $left }}
    {{- $_ := set $selector "matchExpressions" (append (default (list) $selector.matchExpressions) $exclusion) }}
    namespaceSelector:
      {{- toYaml $selector | nindent 6 }}
    {{- else if .namespaceSelector }}
    namespaceSelector:
      {{- toYaml .namespaceSelector | nindent 6 }}
    {{- end }}
    {{- $conditions := default (list) .matchConditions }}
    {{- if and .workload $withMatchConditions }}
    {{- /*
    volume-guard's own pods or Helm release records, by exact name (a regular expression: another release
    <release>.x or a StatefulSet <fullname>-db in the namespace is judged): never blocked by itself. Release records
    also in config.helm.storageNamespaces, where Flux's helm-controller keeps them (selfExclusionCondition).
    */}}
    {{- $pattern := include "volume-guard.podNamePattern" $root }}
    {{- $inNamespace := printf "request.namespace == '%s'" $root.Release.Namespace }}
    {{- if eq .workload "helm-releases" }}
    {{- $pattern = include "volume-guard.releaseRecordPattern" $root }}
    {{- $literals := list }}
    {{- range prepend $root.Values.config.helm.storageNamespaces $root.Release.Namespace | uniq }}
    {{- $literals = append $literals (printf "'%s'" (include "volume-guard.celEscape" .)) }}
    {{- end }}
    {{- $inNamespace = printf "request.namespace in [%s]" (join ", " $literals) }}
    {{- end }}
    {{- $conditions = append $conditions (dict "name" "not-volume-guard-itself" "expression" (printf "!(%s && has(request.name) && request.name.matches('%s'))" $inNamespace (include "volume-guard.celEscape" $pattern))) }}
    {{- end }}
    {{- if and .ownObjects $withMatchConditions }}
    {{- /*
    volume-guard's own objects, exactly (volume-guard.ownObjects: namespace, group, resource, name; every one the chart
    can render, whatever the toggles), while they carry the chart's labels: an uninstall by automation deletes them
    after the Service, an upgrade turning one off after the webhooks (ownObjectsCondition). Labels alone skip nothing:
    anyone may set them.
    */}}
    {{- $keys := list }}
    {{- range include "volume-guard.ownObjects" $root | fromJsonArray }}
    {{- $keys = append $keys (printf "'%s'" (include "volume-guard.celEscape" .)) }}
    {{- end }}
    {{- $key := "(has(request.namespace) ? request.namespace : '') + '/' + request.resource.group + '/' + request.resource.resource + '/' + request.name" }}
    {{- $labels := "oldObject.metadata.labels" }}
    {{- $partOf := printf "'app.kubernetes.io/part-of' in %s && %s['app.kubernetes.io/part-of'] == 'volume-guard'" $labels $labels }}
    {{- $instance := printf "'app.kubernetes.io/instance' in %s && %s['app.kubernetes.io/instance'] == '%s'" $labels $labels (include "volume-guard.celEscape" $root.Release.Name) }}
    {{- $conditions = append $conditions (dict "name" "not-volume-guard-objects" "expression" (printf "!(oldObject != null && has(request.name) && (%s) in [%s] && has(%s) && %s && %s)" $key (join ", " $keys) $labels $partOf $instance)) }}
    {{- end }}
    {{- if and $withMatchConditions $conditions }}
    matchConditions:
      {{- range $conditions }}
      - name: {{ .name }}
        expression: {{ include "volume-guard.fillTokens" (dict "text" .expression "fills" $fills) | quote }}
      {{- end }}
    {{- end }}
  {{- end }}
  {{- end }}
{{- end }}
