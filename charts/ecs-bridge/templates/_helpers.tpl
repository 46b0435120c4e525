{{- define "ecs-bridge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "ecs-bridge.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ecs-bridge.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ecs-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "ecs-bridge.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "ecs-bridge.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{- define "ecs-bridge.ecsEndpoint" -}}
{{- if .Values.aws.ecsEndpoint -}}{{ .Values.aws.ecsEndpoint }}{{- else if .Values.emulator.enabled -}}http://{{ include "ecs-bridge.fullname" . }}-emulator.{{ .Release.Namespace }}.svc:{{ .Values.emulator.port }}{{- end -}}
{{- end -}}

{{/* The Secret holding the emulator's access key. */}}
{{- define "ecs-bridge.emulatorCredentials" -}}
{{- .Values.emulator.credentials.existingSecret | default (printf "%s-emulator-credentials" (include "ecs-bridge.fullname" .)) -}}
{{- end }}
