module github.com/attest-ehr/attest/services/records

go 1.26.0

require (
	github.com/getkin/kin-openapi v0.152.0
	github.com/go-kit/kit v0.13.0
	github.com/google/uuid v1.6.0
	golang.org/x/sync v0.24.0
)

require (
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	golang.org/x/text v0.14.0 // indirect
)
