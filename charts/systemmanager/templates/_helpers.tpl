{{/* The chart's names and labels; every template uses these so selectors and labels cannot drift. */}}
{{- define "systemmanager.fullname" -}}
{{ .Release.Name }}-systemmanager
{{- end }}

{{- define "systemmanager.selectorLabels" -}}
app.kubernetes.io/name: systemmanager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "systemmanager.labels" -}}
{{ include "systemmanager.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: Helm
helm.sh/chart: systemmanager-{{ .Chart.Version }}
{{- end }}
