{{- define "attest.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: attest
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}
