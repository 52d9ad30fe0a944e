{{/*
Named helpers of the binforge chart. Every template builds names, labels, images and the
two configuration documents through these, so each is written in exactly one place.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "binforge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix: fullnameOverride, or <release>-<name> (<release> when it already contains the name). */}}
{{- define "binforge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "binforge.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* name-version of the chart, for the helm.sh/chart label. */}}
{{- define "binforge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the scheduler pods (never change them after install). */}}
{{- define "binforge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "binforge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "binforge.labels" -}}
helm.sh/chart: {{ include "binforge.chart" . }}
{{ include "binforge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: binforge
{{- end }}

{{/* The service account the pod runs as. */}}
{{- define "binforge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "binforge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The kube-scheduler image reference. */}}
{{- define "binforge.schedulerImage" -}}
{{- printf "%s:%s" .Values.scheduler.image.repository .Values.scheduler.image.tag }}
{{- end }}

{{/* The extender image reference; the tag defaults to the chart's appVersion. */}}
{{- define "binforge.extenderImage" -}}
{{- printf "%s:%s" .Values.extender.image.repository (default .Chart.AppVersion .Values.extender.image.tag) }}
{{- end }}

{{/* True (the string "true") when kube-scheduler runs leader election: more than one replica. */}}
{{- define "binforge.leaderElect" -}}
{{- if gt (int .Values.replicaCount) 1 }}true{{- end }}
{{- end }}

{{/* The leader-election lease's name; never the default scheduler's "kube-scheduler". */}}
{{- define "binforge.leaseName" -}}
{{- default (printf "%s-scheduler" (include "binforge.fullname" .)) .Values.scheduler.leaseName }}
{{- end }}

{{/* The extender's URL as kube-scheduler calls it: the same pod, so loopback. */}}
{{- define "binforge.extenderUrl" -}}
{{- printf "http://127.0.0.1:%d" (int .Values.extender.port) }}
{{- end }}

{{/* Path of the served heuristic's source file when it comes from a ConfigMap. */}}
{{- define "binforge.heuristicPath" -}}
{{- printf "/etc/binforge/heuristic/%s" .Values.extender.heuristic.file.key }}
{{- end }}

{{/*
The KubeSchedulerConfiguration: one profile (scheduler.name) whose extender is binforge.
tests/test_chart.py proves it equals tests/e2e/scheduler_config.py's render_scheduler_config
for the same settings, the document the end-to-end kube-scheduler runs with. No
clientConnection: kube-scheduler uses its in-cluster service account.
*/}}
{{- define "binforge.schedulerConfig" -}}
{{- if eq .Values.scheduler.name "default-scheduler" }}
{{- fail "scheduler.name: \"default-scheduler\" is the cluster's own scheduler profile; choose another name" }}
{{- end }}
{{- $leaderElection := dict "leaderElect" false }}
{{- if include "binforge.leaderElect" . }}
{{- $leaderElection = dict "leaderElect" true "resourceLock" "leases" "resourceName" (include "binforge.leaseName" .) "resourceNamespace" .Release.Namespace }}
{{- end }}
{{- $extender := dict "urlPrefix" (include "binforge.extenderUrl" .) "filterVerb" "filter" "prioritizeVerb" "prioritize" "weight" (int .Values.extender.weight) "nodeCacheCapable" .Values.extender.nodeCacheCapable "ignorable" .Values.extender.ignorable "httpTimeout" .Values.extender.httpTimeout }}
{{- $config := dict "apiVersion" "kubescheduler.config.k8s.io/v1" "kind" "KubeSchedulerConfiguration" "leaderElection" $leaderElection "percentageOfNodesToScore" (int .Values.scheduler.percentageOfNodesToScore) "profiles" (list (dict "schedulerName" .Values.scheduler.name)) "extenders" (list $extender) }}
{{- toYaml $config }}
{{- end }}

{{/*
The extender's ExtenderConfig (binforge.dev/v1alpha1, read by `binforge serve --config`).
It listens on all addresses so the Service can scrape /metrics; verbs and nodeCacheCapable
match the scheduler configuration above.
*/}}
{{- define "binforge.extenderConfig" -}}
{{- $heuristic := .Values.extender.heuristic.name }}
{{- if .Values.extender.heuristic.file.configMap }}
{{- $heuristic = include "binforge.heuristicPath" . }}
{{- end }}
{{- $config := dict "apiVersion" "binforge.dev/v1alpha1" "kind" "ExtenderConfig" "mode" .Values.extender.mode "heuristic" $heuristic "baseline" .Values.extender.baseline "heuristicTimeoutMs" .Values.extender.heuristicTimeoutMs "host" "0.0.0.0" "port" (int .Values.extender.port) "urlPrefix" "/" "filterVerb" "filter" "prioritizeVerb" "prioritize" "nodeCacheCapable" .Values.extender.nodeCacheCapable "watch" true "kubeconfig" "" "gpuResource" .Values.extender.gpuResource "gpuModelLabel" .Values.extender.gpuModelLabel "nodePoolLabel" .Values.extender.nodePoolLabel "extendedResources" .Values.extender.extendedResources "logLevel" .Values.extender.logLevel "recordDir" (include "binforge.recordDir" .) }}
{{- range $key, $_ := .Values.extender.extraConfig }}
{{- if hasKey $config $key }}
{{- fail (printf "extender.extraConfig.%s: set by the chart from its own value (see values.yaml); remove it from extraConfig" $key) }}
{{- end }}
{{- end }}
{{- toYaml (merge $config .Values.extender.extraConfig) }}
{{- end }}

{{/* Where the extender records (docs/recording.md): one new directory per start of each
replica under the recordings volume, or "" when recording is off. */}}
{{- define "binforge.recordDir" -}}
{{- if .Values.extender.recording.enabled -}}
/var/lib/binforge/recordings/{hostname}-{start}
{{- end -}}
{{- end }}

{{/* The checksum annotation that restarts the pod when either configuration changes. */}}
{{- define "binforge.configChecksum" -}}
{{- printf "%s\n%s" (include "binforge.schedulerConfig" .) (include "binforge.extenderConfig" .) | sha256sum }}
{{- end }}
